/**
 * The diagonal Gaussian pieces every model's ELBO uses: the likelihood of an image under a fixed
 * σ, the reparameterised draw, and the closed-form KL between two diagonal Gaussians.
 *
 *     log N(x; μ, σ²)           = −(x − μ)² / 2σ² − log σ − ½ log 2π
 *     z                         = μ + σ · ε,  ε ~ N(0, I)
 *     KL(N(μq, σq²) ‖ N(μp, σp²)) = log σp − log σq + (σq² + (μq − μp)²) / 2σp² − ½
 *
 * @example
 * ```ts
 * import { gaussianKl, gaussianLogLik } from "./gaussian.ts";
 * import { tf } from "../core/tf.ts";
 * const x = tf.zeros([2, 4]) as tf.Tensor2D;
 * gaussianLogLik(x, x, 0.3);                           // [2]: the log-likelihood of a perfect fit
 * gaussianKl(tf.zeros([2, 3]), tf.ones([2, 3]), 0, 1); // [2, 3] zeros: q = p
 * ```
 * @module
 */
import { tf } from "../core/tf.ts";
import type { Rng } from "../core/random.ts";

const LOG_2PI = Math.log(2 * Math.PI);

/** Per-example Gaussian log-likelihood Σ_pixels log N(x; mean, σ²) of [B, D] tensors → [B]. */
export function gaussianLogLik(x: tf.Tensor2D, mean: tf.Tensor2D, sigma: number): tf.Tensor1D {
  if (!(sigma > 0)) throw new RangeError(`sigma must be > 0, got ${sigma}`);
  return tf.tidy(() => {
    const d = x.shape[1];
    const sq = tf.sum(tf.square(tf.sub(x, mean)), 1);
    return tf.sub(tf.mul(sq, -0.5 / (sigma * sigma)), d * (Math.log(sigma) + 0.5 * LOG_2PI)) as tf.Tensor1D;
  });
}

/**
 * A reparameterised Gaussian draw z = μ + σ·ε, ε ~ N(0, I) from `rng` ([N, D]); the mean μ when
 * rng is null (evaluation). AIR's z_what and z_where and GENESIS's z_k are drawn this way.
 */
export function reparameterise(mu: tf.Tensor2D, sigma: tf.Tensor2D, rng: Rng | null): tf.Tensor2D {
  if (!rng) return mu;
  const [N, D] = mu.shape;
  return tf.add(mu, tf.mul(sigma, tf.tensor2d(rng.normalArray(N * D), [N, D]))) as tf.Tensor2D;
}

/**
 * KL( N(μq, σq²) ‖ N(μp, σp²) ) elementwise (broadcasting; sum it over the latent's axes):
 * log σp − log σq + (σq² + (μq − μp)²) / 2σp² − ½. The prior's μp, σp may be numbers, per-axis
 * arrays (the last axis) or tensors.
 */
export function gaussianKl(
  muQ: tf.Tensor,
  sigmaQ: tf.Tensor,
  muP: tf.Tensor | number[] | number,
  sigmaP: tf.Tensor | number[] | number,
): tf.Tensor {
  return tf.tidy(() => {
    const asTensor = (v: tf.Tensor | number[] | number) =>
      v instanceof tf.Tensor ? v : Array.isArray(v) ? tf.tensor1d(v) : tf.scalar(v);
    const mp = asTensor(muP), sp = asTensor(sigmaP);
    return tf.sub(
      tf.add(
        tf.sub(tf.log(sp), tf.log(sigmaQ)),
        tf.div(tf.add(tf.square(sigmaQ), tf.square(tf.sub(muQ, mp))), tf.mul(2, tf.square(sp))),
      ),
      0.5,
    );
  });
}
