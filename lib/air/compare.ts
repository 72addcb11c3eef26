/**
 * App. A's comparison of z_pres gradient estimators: the variance of each estimator's gradient
 * (REINFORCE with and without NVIL's baseline, Concrete) measured on one model and batch.
 * @module
 */
import { tf } from "../core/tf.ts";
import { Rng } from "../core/random.ts";
import { AirTrainer, EstimatorOptions, GradientSpread } from "./trainer.ts";

/** The estimators App. A compares, as `gradientVariance` options. */
export const ESTIMATOR_VARIANTS: { name: string; options: EstimatorOptions }[] = [
  { name: "REINFORCE, no baseline", options: { estimator: "reinforce", baseline: false, normalise: false } },
  {
    name: "REINFORCE − NVIL baseline b(x) and centre c",
    options: { estimator: "reinforce", baseline: true, normalise: false },
  },
  {
    name: "Concrete relaxation (τ at the run's end)",
    options: { estimator: "concrete", baseline: false, normalise: false },
  },
];

/**
 * The spread of each estimator's gradient on the same images, with common random numbers (each
 * variant gets the same noise stream from `seed`).
 */
export async function compareEstimators(
  trainer: AirTrainer,
  x: tf.Tensor2D,
  seed: number,
  draws = 16,
): Promise<{ name: string; spread: GradientSpread }[]> {
  const out: { name: string; spread: GradientSpread }[] = [];
  for (const { name, options } of ESTIMATOR_VARIANTS) {
    out.push({ name, spread: await trainer.gradientVariance(x, new Rng(seed), options, draws) });
  }
  return out;
}
