/**
 * Gradient estimators for AIR's discrete z_pres (§2.2, App. A):
 *
 * - **REINFORCE** (the likelihood-ratio estimator) with **NVIL-style baselines** (Mnih & Gregor
 *   2014): for each step t the learning signal is the part of the ELBO downstream of z_pres,t,
 *   ℓ_t, minus a learned, input-dependent baseline b_t(x). The residual is centred and scaled by
 *   running estimates of its mean c and variance v, and the surrogate
 *
 *       ∇ ≈ Σ_t  (ℓ_t − b_t(x) − c) / max(1, √v) · ∇ log q(z_pres,t)
 *
 *   is added to the reparameterised gradient of the ELBO. The baseline is regressed onto ℓ_t
 *   (per-example targets) with its own learning rate.
 * - **Concrete** (relaxed Bernoulli; Maddison et al. 2017, Jang et al. 2017): z = σ((logit + L)/τ)
 *   with L ~ Logistic(0, 1), differentiable in the logit, τ annealed towards 0.
 *
 * `SignalNormalizer` keeps NVIL's running statistics; `logisticNoise` draws the Concrete relaxation's
 * noise from the project's seeded stream (same seed → same samples).
 *
 * @example
 * ```ts
 * import { SignalNormalizer } from "./estimators.ts";
 * const norm = new SignalNormalizer(0.9);
 * const scaled = norm.normalize(Float32Array.of(3, -1, 4)); // centred, scaled residuals
 * ```
 * @module
 */
import type { Rng } from "../core/random.ts";

/** NVIL's running centring and scaling of the learning signal (per step of the recurrence). */
export class SignalNormalizer {
  mean = 0;
  variance = 1;
  #started = false;
  /** `alpha` is the moving-average factor (NVIL uses 0.8–0.9). */
  constructor(readonly alpha = 0.9) {
    if (!(alpha >= 0 && alpha < 1)) throw new RangeError(`alpha must be in [0, 1), got ${alpha}`);
  }

  /**
   * Updates the running mean and variance with the batch `residual` (ℓ − b), then returns
   * (residual − c) / max(1, √v). `mask` (0/1) leaves out examples whose step was not sampled.
   */
  normalize(residual: Float32Array, mask?: ArrayLike<number>): Float32Array {
    let n = 0, s = 0, s2 = 0;
    for (let i = 0; i < residual.length; i++) {
      if (mask && !mask[i]) continue;
      n++;
      s += residual[i];
      s2 += residual[i] * residual[i];
    }
    if (n > 0) {
      const m = s / n, v = Math.max(0, s2 / n - m * m);
      if (!this.#started) {
        this.mean = m;
        this.variance = v;
        this.#started = true;
      } else {
        this.mean = this.alpha * this.mean + (1 - this.alpha) * m;
        this.variance = this.alpha * this.variance + (1 - this.alpha) * v;
      }
    }
    const scale = Math.max(1, Math.sqrt(this.variance));
    return residual.map((r, i) => (mask && !mask[i] ? 0 : (r - this.mean) / scale));
  }
}

/** Logistic(0, 1) noise log u − log(1 − u), u ~ U(0, 1), for the Concrete relaxation. */
export function logisticNoise(rng: Rng, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.min(1 - 1e-7, Math.max(1e-7, rng.uniform()));
    out[i] = Math.log(u) - Math.log(1 - u);
  }
  return out;
}

/**
 * Concrete temperature annealed geometrically from `start` to `end` as training `progress` goes
 * from 0 to 1 (the fraction of the step or time budget spent): τ = start · (end/start)^progress.
 */
export function concreteTemperature(progress: number, start = 1, end = 0.2): number {
  const t = Math.min(1, Math.max(0, progress));
  return start * (end / start) ** t;
}
