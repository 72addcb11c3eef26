/**
 * NVIL's input-dependent baseline b_t(x) (Mnih & Gregor 2014): an MLP from the image to one value
 * per step, regressed onto the learning signal ℓ_t with its own learning rate.
 * @module
 */
import { tf } from "../core/tf.ts";
import { Rng } from "../core/random.ts";
import { Params } from "../nn/params.ts";
import { type Dense, timesTransposed } from "../nn/dense.ts";

/** The NVIL baseline network b(x): an MLP from the image to one value per step. */
export class Baseline {
  readonly params: Params;
  /** The image layer, its weight stored transposed (see `timesTransposed`). */
  readonly hidden: { wT: tf.Variable; b: tf.Variable };
  readonly out: Dense;
  constructor(rng: Rng, inputs: number, steps: number, hidden = 200) {
    const p = this.params = new Params(rng);
    // He initialisation, as Params.dense draws it.
    this.hidden = {
      wT: p.normalTransposed("baseline.hidden.w", [inputs, hidden], Math.sqrt(2 / inputs)),
      b: p.zeros("baseline.hidden.b", [hidden]),
    };
    this.out = p.dense("baseline.out", hidden, steps, 0.1);
  }
  apply(x: tf.Tensor2D): tf.Tensor2D {
    const h = tf.relu(tf.add(timesTransposed(x, this.hidden.wT as tf.Tensor2D), this.hidden.b));
    return tf.add(tf.matMul(h, this.out.w), this.out.b);
  }
}
