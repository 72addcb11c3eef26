/**
 * The pieces of AIR's evidence lower bound (Eslami et al. 2016, §2 and App. B):
 *
 *     ELBO(x) = E_q[ log p(x | z) ] − Σ_t z_pres,t · ( KL(q(z_what,t) ‖ p) + KL(q(z_where,t) ‖ p) )
 *               − Σ_t sampled_t · ( log q(z_pres,t) − log p(z_pres,t) )
 *
 * with a Gaussian likelihood of fixed σ (0.3 in the paper), diagonal Gaussian posteriors and
 * priors (closed-form KL; both in `nn/gaussian.ts`), and the **unary-coded count prior** of App. B: n objects are written
 * as z_pres = (1, …, 1, 0, …) and
 *
 *     p(z_pres,t = 1 | z_pres,1..t−1 = 1) = ρ_t = p(n ≥ t) / p(n ≥ t − 1)   (t = 1, 2, …)
 *
 * so that the number of leading ones is distributed exactly as the target p(n). A geometric
 * p(n) ∝ ρⁿ truncated at N gives ρ_t = ρ (1 − ρ^{N−t+1}) / (1 − ρ^{N−t+2}).
 *
 * @example
 * ```ts
 * import { countPriorRates, geometricCountPrior, impliedCountDistribution } from "./elbo.ts";
 * const target = geometricCountPrior(0.5, 3);          // p(n) for n = 0..3
 * const rates = countPriorRates(target);                // ρ_1..ρ_3
 * impliedCountDistribution(rates);                      // equals target
 * ```
 * @module
 */
import { tf } from "../core/tf.ts";
import type { AirPass } from "./model.ts";

/** log Bernoulli(z; p) elementwise, with p clamped away from 0 and 1. */
export function bernoulliLogProb(z: tf.Tensor, p: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const pc = tf.clipByValue(p, 1e-6, 1 - 1e-6);
    return tf.add(tf.mul(z, tf.log(pc)), tf.mul(tf.sub(1, z), tf.log(tf.sub(1, pc))));
  });
}

/** KL( Bernoulli(q) ‖ Bernoulli(p) ) elementwise (the Concrete estimator's z_pres term). */
export function bernoulliKl(q: tf.Tensor, p: number | tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const qc = tf.clipByValue(q, 1e-6, 1 - 1e-6);
    const pc = typeof p === "number"
      ? tf.scalar(Math.min(1 - 1e-6, Math.max(1e-6, p)))
      : tf.clipByValue(p, 1e-6, 1 - 1e-6);
    return tf.add(
      tf.mul(qc, tf.sub(tf.log(qc), tf.log(pc))),
      tf.mul(tf.sub(1, qc), tf.sub(tf.log(tf.sub(1, qc)), tf.log(tf.sub(1, pc)))),
    );
  });
}

/** Geometric count prior p(n) ∝ ρⁿ for n = 0..maxN (normalised; "favours sparse" for ρ < 1). */
export function geometricCountPrior(rho: number, maxN: number): number[] {
  if (!(rho > 0 && rho < 1)) throw new RangeError(`rho must be in (0, 1), got ${rho}`);
  if (!Number.isInteger(maxN) || maxN < 1) throw new RangeError(`maxN must be an integer ≥ 1, got ${maxN}`);
  const w = Array.from({ length: maxN + 1 }, (_, n) => rho ** n);
  const z = w.reduce((a, b) => a + b, 0);
  return w.map((v) => v / z);
}

/**
 * The unary code's step rates ρ_t = p(n ≥ t) / p(n ≥ t − 1), t = 1..N, for a target p(n) over
 * n = 0..N (App. B). A step after which no mass remains gets rate 0.
 */
export function countPriorRates(target: number[]): number[] {
  const total = target.reduce((a, b) => a + b, 0);
  if (target.length < 2 || target.some((p) => !(p >= 0)) || Math.abs(total - 1) > 1e-9) {
    throw new RangeError(`the count prior must be ≥ 2 probabilities summing to 1, got [${target}]`);
  }
  const atLeast = (n: number) => target.slice(n).reduce((a, b) => a + b, 0);
  return Array.from({ length: target.length - 1 }, (_, i) => {
    const denom = atLeast(i);
    return denom > 0 ? atLeast(i + 1) / denom : 0;
  });
}

/**
 * The distribution of n (the number of leading ones) when z_pres,t ~ Bernoulli(ρ_t) given the
 * previous ones are 1: p(n) = ρ_1 ⋯ ρ_n (1 − ρ_{n+1}), with ρ_{N+1} = 0.
 */
export function impliedCountDistribution(rates: number[]): number[] {
  const out: number[] = [];
  let reach = 1;
  for (let n = 0; n <= rates.length; n++) {
    const stop = n < rates.length ? 1 - rates[n] : 1;
    out.push(reach * stop);
    if (n < rates.length) reach *= rates[n];
  }
  return out;
}

/** The ELBO per example [B]: log p(x|z) − Σ_t cost_t, cost = the pass's latent and z_pres terms [B, N]. */
export function elboOf(pass: AirPass, cost: tf.Tensor2D = tf.add(pass.klLatents, pass.klPres)): tf.Tensor1D {
  return tf.sub(pass.logLik, tf.sum(cost, 1)) as tf.Tensor1D;
}

/** Number of present steps per example from a pass's host z_pres [B·N] (relaxed: > ½). */
export function countsOf(zPres: Float32Array, steps: number): Int32Array {
  const B = zPres.length / steps;
  const out = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    let k = 0;
    while (k < steps && zPres[b * steps + k] > 0.5) k++;
    out[b] = k;
  }
  return out;
}
