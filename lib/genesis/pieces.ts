/**
 * GENESIS pieces (Engelcke et al. 2020, §3, App. B.4): the stick-breaking process that turns K−1
 * mask logits into K mixing probabilities, in log space; the spatial Gaussian mixture likelihood
 * of an image given K components and their masks; and GECO, the constrained objective that
 * balances reconstruction against KL.
 *
 * **Stick-breaking (Eq. 4)** with α_k = σ(a_k):
 *
 *     π_1 = α_1,   π_k = (1 − Σ_{j<k} π_j) α_k = α_k Π_{j<k} (1 − α_j),   π_K = Π_{j<K} (1 − α_j)
 *
 * computed as log π_k = log σ(a_k) + Σ_{j<k} log σ(−a_j): sums of log-sigmoids, so no product of
 * small numbers underflows and Σ_k π_k = 1 exactly (the last slot takes the remainder).
 *
 * **Spatial GMM likelihood (Eq. 3)**, per pixel i with channels c and scalar σ_x:
 *
 *     log p(x) = Σ_i logsumexp_k [ log π_k,i + Σ_c log N(x_i,c | μ_k,i,c, σ_x²) ]
 *
 * **GECO** (Rezende & Viola 2018; GENESIS App. B.4): minimise KL subject to reconstruction
 * error ≤ goal, with loss = err + β·KL. An exponential moving average of err (α = 0.99) drives
 * β ← β · exp(step · (goal − err_ema)): β shrinks while the constraint is violated and grows
 * (10× faster step, 1e-4 instead of 1e-5) once it is met, clamped to [βmin, βmax].
 *
 * @example
 * ```ts
 * import { tf } from "../core/tf.ts";
 * import { Geco, stickBreaking } from "./pieces.ts";
 * const logPi = stickBreaking(tf.zeros([1, 2, 4])); // K = 3 masks over 4 pixels: ½, ¼, ¼
 * const geco = new Geco({ goal: 0.5655 * 64 * 64 * 3 });
 * // per step: loss = geco.loss(err, kl); after the step, geco.update(errOnHost) → new β
 * ```
 * @module
 */
import { tf } from "../core/tf.ts";

/**
 * Log mixing probabilities from mask logits: `logits` [B, K−1, …] → log π [B, K, …] (Eq. 4).
 */
export function stickBreaking(logits: tf.Tensor): tf.Tensor {
  if (logits.rank < 2) throw new RangeError(`logits must be [B, K−1, …], got rank ${logits.rank}`);
  return tf.tidy(() => {
    // log α_k = log σ(a_k) = −softplus(−a_k) and log (1 − α_k) = log σ(−a_k) = −softplus(a_k)
    // (tfjs's logSigmoid has a custom gradient that fails inside a tidy on an intermediate input).
    const logAlpha = tf.neg(tf.softplus(tf.neg(logits)));
    const logRest = tf.neg(tf.softplus(logits));
    // Σ_{j<k} log(1 − α_j), for k = 1..K, as a running sum (tfjs's cumsum gradient is wrong
    // for any axis but the last, and K is small).
    const K1 = logits.shape[1] as number;
    // (tf.split into one piece has no working gradient in tfjs 4.22: K = 2 skips it)
    const parts = (t: tf.Tensor) => K1 === 1 ? [t] : tf.split(t, K1, 1);
    const rest = parts(logRest), alpha = parts(logAlpha);
    const out: tf.Tensor[] = [];
    let scope: tf.Tensor = tf.zerosLike(rest[0]);
    for (let k = 0; k < rest.length; k++) {
      out.push(tf.add(alpha[k], scope));
      scope = tf.add(scope, rest[k]);
    }
    out.push(scope);
    return tf.concat(out, 1);
  });
}

/**
 * Spatial Gaussian mixture log-likelihood per image (Eq. 3): `x` [B, P, C], component means `mu`
 * [B, K, P, C], log mixing probabilities `logPi` [B, K, P], scalar `sigma`. Returns [B].
 */
export function gmmLogLik(x: tf.Tensor3D, mu: tf.Tensor4D, logPi: tf.Tensor3D, sigma: number): tf.Tensor1D {
  if (!(sigma > 0)) throw new RangeError(`sigma must be positive, got ${sigma}`);
  return tf.tidy(() => {
    const C = x.shape[2];
    const z = tf.div(tf.sub(x.expandDims(1), mu), sigma);
    // Σ_c log N(x_c | μ_c, σ²) = −½ Σ_c z² − C (log σ + ½ log 2π)
    const logN = tf.sub(
      tf.mul(-0.5, tf.sum(tf.square(z), 3)),
      C * (Math.log(sigma) + 0.5 * Math.log(2 * Math.PI)),
    );
    return tf.sum(tf.logSumExp(tf.add(logPi, logN), 1), 1) as tf.Tensor1D;
  });
}

/** GECO's settings (App. B.4 defaults). */
export interface GecoOptions {
  /** Reconstruction-error goal (the constraint is err ≤ goal), in the units of err; any sign. */
  goal: number;
  /** Step size of the multiplicative β update while the constraint is violated. */
  step?: number;
  /** Step size once the constraint is met. */
  stepMet?: number;
  /** Moving-average factor of err. */
  alpha?: number;
  betaInit?: number;
  betaMin?: number;
  betaMax?: number;
}

/** GECO's Lagrange multiplier β, updated on the host after each step. */
export class Geco {
  readonly goal: number;
  readonly step: number;
  readonly stepMet: number;
  readonly alpha: number;
  readonly betaMin: number;
  readonly betaMax: number;
  beta: number;
  /** Moving average of the reconstruction error (undefined before the first update). */
  errEma: number | undefined;

  constructor(o: GecoOptions) {
    this.goal = o.goal;
    this.step = o.step ?? 1e-5;
    this.stepMet = o.stepMet ?? 1e-4;
    this.alpha = o.alpha ?? 0.99;
    this.beta = o.betaInit ?? 1;
    this.betaMin = o.betaMin ?? 1e-10;
    this.betaMax = o.betaMax ?? 1e10;
    // The goal may be negative: with σ_x < 1/√(2π) a good reconstruction has err < 0 nats.
    if (!Number.isFinite(this.goal)) {
      throw new RangeError(`GECO goal must be a finite number, got ${this.goal}`);
    }
    for (const k of ["step", "stepMet", "beta", "betaMin", "betaMax"] as const) {
      if (!(Number.isFinite(this[k]) && this[k] > 0)) {
        throw new RangeError(
          `GECO ${k === "beta" ? "betaInit" : k} must be a positive number, got ${this[k]}`,
        );
      }
    }
    if (!(this.alpha >= 0 && this.alpha < 1)) {
      throw new RangeError(`GECO alpha must be in [0, 1), got ${this.alpha}`);
    }
    if (this.betaMin > this.betaMax) throw new RangeError(`GECO betaMin must not exceed betaMax`);
  }

  /** The loss to minimise for this step's err and KL: err + β·KL (β is a constant here). */
  loss(err: tf.Scalar, kl: tf.Scalar): tf.Scalar {
    return tf.add(err, tf.mul(this.beta, kl));
  }

  /** Updates the error average and β from this step's (host) reconstruction error; returns β. */
  update(err: number): number {
    if (!Number.isFinite(err)) throw new RangeError(`GECO update: err must be finite, got ${err}`);
    this.errEma = this.errEma === undefined ? err : this.alpha * this.errEma + (1 - this.alpha) * err;
    const constraint = this.goal - this.errEma; // > 0: the constraint is met
    const step = constraint > 0 ? this.stepMet : this.step;
    this.beta = Math.min(this.betaMax, Math.max(this.betaMin, this.beta * Math.exp(step * constraint)));
    return this.beta;
  }
}
