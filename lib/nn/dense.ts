/**
 * A dense (fully connected) layer: its weights and its application y = x·W + b, plus the product
 * with a weight stored transposed (the wasm backend's reason is in {@link timesTransposed}).
 *
 * @example
 * ```ts
 * import { dense } from "./dense.ts";
 * import { Params } from "./params.ts";
 * import { Rng } from "../core/random.ts";
 * import { tf } from "../core/tf.ts";
 * const layer = new Params(new Rng(0)).dense("fc", 4, 2);
 * const y = dense(tf.ones([3, 4]), layer); // [3, 2]
 * ```
 * @module
 */
import { tf } from "../core/tf.ts";

/** A dense layer's weights. */
export interface Dense {
  w: tf.Variable;
  b: tf.Variable;
}

/** y = x·W + b for a batch x [B, in] → [B, out]. */
export function dense(x: tf.Tensor, layer: Dense): tf.Tensor2D {
  return tf.add(tf.matMul(x as tf.Tensor2D, layer.w as tf.Tensor2D), layer.b) as tf.Tensor2D;
}

/**
 * x·W [B, out] from a weight stored transposed, Wᵀ [out, in], computed as (Wᵀ·xᵀ)ᵀ. Same product;
 * the reason is speed on wasm, whose matMul (XNNPACK) packs its right-hand operand into a blocked
 * copy the first time it sees that tensor. A trained weight is a new tensor every step, and
 * packing the 2.6 M weights of AIR's 50×50 image projection took ≈ 25 ms of a ≈ 37 ms product
 * (measured here); with the weight on the left only xᵀ (B·in values) is packed, and the product
 * with its transposes takes ≈ 12 ms. Worth it for a large weight used once per step on a small batch.
 */
export function timesTransposed(x: tf.Tensor2D, wT: tf.Tensor2D): tf.Tensor2D {
  return tf.transpose(tf.matMul(wT, tf.transpose(x)));
}
