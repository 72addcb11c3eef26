/**
 * Held-out evaluation of AIR: the ELBO and the count accuracy (inferred steps present vs the
 * scene's digits) with z_pres at its mode and the continuous latents at their means.
 * @module
 */
import { tf } from "../core/tf.ts";
import { Air } from "./model.ts";
import { countsOf, elboOf } from "./elbo.ts";
import type { Scenes } from "../scenes/multi_mnist.ts";

/** Held-out evaluation of a model: count accuracy and confusion (mode of q), ELBO, MSE. */
export interface AirEval {
  countAcc: number;
  /** confusion[true][predicted], counts 0..N. */
  confusion: number[][];
  elbo: number;
  reconMse: number;
}

/** Evaluates `air` on `scenes` in batches (z_pres mode, posterior means). */
export async function evaluateAir(air: Air, scenes: Scenes, batchSize = 250): Promise<AirEval> {
  const N = air.config.steps, px = scenes.canvas ** 2;
  const confusion = Array.from({ length: N + 1 }, () => new Array(N + 1).fill(0));
  let correct = 0, elbo = 0, sq = 0;
  for (let start = 0; start < scenes.n; start += batchSize) {
    const n = Math.min(batchSize, scenes.n - start);
    const x = tf.tensor2d(scenes.images.subarray(start * px, (start + n) * px), [n, px]);
    const [zPres, values] = tf.tidy(() => {
      const pass = air.forward(x, { kind: "mode" });
      const e = elboOf(pass).sum();
      const mse = tf.square(tf.sub(x, tf.clipByValue(pass.canvas, 0, 1))).sum();
      return [pass.zPres, tf.stack([e, mse])];
    });
    const [zHost, [e, m]] = await Promise.all([zPres.data() as Promise<Float32Array>, values.data()]);
    tf.dispose([zPres, values, x]);
    elbo += e;
    sq += m;
    const pred = countsOf(zHost, N);
    for (let b = 0; b < n; b++) {
      const truth = scenes.counts[start + b];
      confusion[Math.min(truth, N)][pred[b]]++;
      if (pred[b] === truth) correct++;
    }
  }
  return { countAcc: correct / scenes.n, confusion, elbo: elbo / scenes.n, reconMse: sq / (scenes.n * px) };
}
