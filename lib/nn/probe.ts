/**
 * A few training steps from a seed, with everything read back asynchronously: what the
 * webgpu-vs-wasm equivalence tests and `deno task bench:backends` run on each backend.
 * The families wrap it (`probeGqn` in `gqn/train.ts`, `probeGenesis` in `genesis/train.ts`).
 *
 * The first step's gradient is taken on the same batch and the same noise as the step itself, so two
 * backends that agree give the same numbers up to float32 rounding.
 *
 * @example
 * ```ts
 * import { initTf, tf } from "../core/tf.ts";
 * import { probeTraining } from "./probe.ts";
 * await initTf();
 * const w = tf.variable(tf.tensor1d([1, 2]));
 * const loss = () => tf.sum(tf.square(w)) as tf.Scalar;
 * const p = await probeTraining({
 *   vars: [w],
 *   firstLoss: loss,
 *   step: async () => [(await tf.train.sgd(0.1).minimize(loss, true)!.data())[0]],
 *   steps: 2,
 *   batch: 1,
 * });
 * p.figures.length; // 2
 * ```
 * @module
 */
import { tf, toArray } from "../core/tf.ts";

/** What {@link probeTraining} measured on the active backend. */
export interface TrainingProbe {
  backend: string;
  /** Each step's figures, as the step returned them (e.g. [loss, KL]). */
  figures: number[][];
  /** The first step's gradient: every variable's, concatenated in the order of `vars`. */
  gradient: Float32Array;
  /** The weights after the last step, concatenated in the order of `vars`. */
  weights: Float32Array;
  /** Live tensors after each step. */
  tensors: number[];
  /** Wall time per step after the first (the first compiles kernels on webgpu). */
  msPerStep: number;
  /** Examples per second over the steps after the first. */
  perS: number;
}

/**
 * Takes the first step's gradient (of `firstLoss`, or as `gradient` computes it), then runs `steps`
 * steps; reads everything back asynchronously.
 */
export async function probeTraining(o: {
  vars: tf.Variable[];
  /** The first step's loss, built afresh (same batch, same noise as step 0). */
  firstLoss?: () => tf.Scalar;
  /** Or the first step's gradient, one tensor per variable in the order of `vars` (an estimate that is more than a loss's gradient). */
  gradient?: () => Promise<tf.Tensor[]>;
  /** Step s (from 0): one training step; returns its figures. */
  step: (s: number) => Promise<number[]>;
  steps: number;
  /** Examples per step, for `perS`. */
  batch: number;
}): Promise<TrainingProbe> {
  if (!(Number.isInteger(o.steps) && o.steps >= 1)) {
    throw new RangeError(`steps must be an integer ≥ 1, got ${o.steps}`);
  }
  if (!o.firstLoss === !o.gradient) {
    throw new TypeError("probeTraining takes firstLoss or gradient, not both");
  }
  const grads = o.gradient ? await o.gradient() : (() => {
    const { grads, value } = tf.variableGrads(o.firstLoss!, o.vars);
    value.dispose();
    return o.vars.map((v) => grads[v.name]);
  })();
  // A variable the loss does not reach has no gradient (null): zeros.
  const flat = tf.tidy(() => tf.concat(grads.map((g, i) => tf.reshape(g ?? tf.zerosLike(o.vars[i]), [-1]))));
  tf.dispose(grads.filter((g) => g));
  const gradient = (await toArray(flat)).data;
  const figures: number[][] = [], tensors: number[] = [];
  let t1 = 0;
  for (let s = 0; s < o.steps; s++) {
    if (s === 1) t1 = performance.now();
    figures.push(await o.step(s));
    tensors.push(tf.memory().numTensors);
  }
  const ms = o.steps > 1 ? (performance.now() - t1) / (o.steps - 1) : NaN;
  const weights = (await toArray(tf.concat(o.vars.map((v) => tf.reshape(v, [-1]))))).data;
  return {
    backend: tf.getBackend(),
    figures,
    gradient,
    weights,
    tensors,
    msPerStep: ms,
    perS: o.batch / (ms / 1000),
  };
}
