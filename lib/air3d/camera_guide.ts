/**
 * The camera's guide for the orbit camera (paper App. I): a separate network reads the whole image
 * and gives q(z_cam | x) = N(μ_cam, σ_cam²) over the camera's angle θ on the orbit (radians). The
 * prior is N(0, s²) with s the spread of the scenes' U(−40°, 40°), s = 2·40°/√12 ≈ 23°. A sample of
 * z_cam is fed to the object steps (`SingleObjectNet.forward`'s `yaw`) and sets the light the renderer
 * draws them with ({@link viewLight} of `orbit.ts`), so log p(x | z) depends on it and its gradient is
 * taken by finite differences like every other continuous latent's.
 *
 * @example
 * ```ts
 * import { initTf, tf } from "../core/tf.ts";
 * import { Rng } from "../core/random.ts";
 * import { cameraNet } from "./camera_guide.ts";
 * await initTf();
 * const net = cameraNet(new Rng(0), { size: 32, hidden: 16 });
 * const { mu, logStd } = net.forward(new Float32Array(2 * 32 * 32), 2); // [2] each, radians
 * tf.dispose([mu, logStd]);
 * ```
 * @module
 */
import { tf } from "../core/tf.ts";
import type { Rng } from "../core/random.ts";
import { Params } from "../nn/params.ts";
import { dense } from "../nn/dense.ts";
import { smallCnn } from "./blocks.ts";
import { meanPool } from "./mlp.ts";
import { ORBIT_YAW_DEG, viewLight } from "./orbit.ts";
import type { RenderLikelihood } from "./likelihood.ts";
import type { FitObject } from "./fit.ts";

/** The prior's std of z_cam (radians): that of U(−40°, 40°). */
export const CAMERA_PRIOR_STD = (2 * ORBIT_YAW_DEG * Math.PI) / 180 / Math.sqrt(12);
/** The largest |μ_cam| the guide can output (radians, a little beyond the orbit's 40°). */
const CAMERA_REACH = (50 * Math.PI) / 180;

/** q(z_cam | x) for a batch: its mean and log σ per image. */
export interface CameraNet {
  params: Params;
  size: number;
  forward(images: Float32Array, n: number): { mu: tf.Tensor1D; logStd: tf.Tensor1D };
}

/**
 * Builds the camera's network for `size`×`size` images (a multiple of 16): a small CNN on the image
 * pooled `pool`× (default 2: at full resolution, with 128 hidden units, it learnt no better per second — 10.2°
 * against 8.8° after 10 minutes, one seed — at ⅗ of the steps), one hidden layer.
 */
export function cameraNet(rng: Rng, options: { size: number; hidden: number; pool?: 1 | 2 }): CameraNet {
  const { size, hidden, pool = 2 } = options;
  if (!Number.isInteger(size) || size < 16 || size % 16) {
    throw new RangeError(`imageSize must be a multiple of 16, got ${size}`);
  }
  const params = new Params(rng);
  const enc = smallCnn(params, "camera_cnn", 32);
  const side = size / pool, flat = (side / 4) ** 2 * 32;
  const fc = params.dense("camera_fc", flat, hidden);
  const head = params.dense("camera", hidden, 2, 0.1); // μ · log σ
  return {
    params,
    size,
    forward(images, n) {
      const x = tf.tensor4d(meanPool(images, n, size, pool), [n, side, side, 1]);
      const h = tf.relu(dense(enc(x).coarse.reshape([n, flat]) as tf.Tensor2D, fc));
      const [m, ls] = tf.split(dense(h, head), [1, 1], 1);
      return {
        mu: tf.mul(tf.tanh(m), CAMERA_REACH).reshape([n]) as tf.Tensor1D,
        logStd: tf.clipByValue(tf.add(ls, -2), -7, 0).reshape([n]) as tf.Tensor1D,
      };
    },
  };
}

/** KL(N(μ, σ²) ‖ N(0, s²)) of z_cam, nats: log(s/σ) + (σ² + μ²)/(2s²) − ½. */
export function cameraKl(mu: number, logStd: number): number {
  const s = CAMERA_PRIOR_STD;
  return Math.log(s) - logStd + (Math.exp(2 * logStd) + mu * mu) / (2 * s * s) - 0.5;
}

/**
 * ∂ log p(x | objects, z_cam) / ∂z_cam at `yaw` by central differences: the scene re-rendered in the
 * light of θ ± ε (2 renders; ε the likelihood's turn step). The likelihood must hold the image
 * (`setImage`); its light is left at θ + … − ε, so set it again before scoring at θ.
 */
export function cameraGradient(lik: RenderLikelihood, objects: readonly FitObject[], yaw: number): number {
  const e = lik.eps.angle,
    at = (theta: number) => {
      lik.setLight(viewLight(theta));
      return lik.logLik(objects);
    };
  return (at(yaw + e) - at(yaw - e)) / (2 * e);
}
