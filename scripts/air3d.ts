/**
 * AIR on 3D primitives — train and score one slot model; progress on stderr, and the last stdout
 * line is one JSON object (the metrics, timings, config and environment).
 *
 *     deno task air3d -- --model mlp --seed 0 --image-size 64 --max-primitives 3 \
 *       --n-epochs 80 --n-train 3000 --n-test 500 --weight-decay 1e-3
 *     deno task air3d -- --model conv --seed 0
 *     deno task air3d -- --model grid --seed 0
 *     deno task air3d -- --model grid --seed 0 --refine        # + render-and-compare refinement
 *     deno task air3d -- --model direct --seed 0               # the direct-optimisation baseline
 *
 * Defaults depend on --model (mlp: the reproduction's canonical config; conv and grid: streaming data,
 * cosine schedule). Every field of the config (`lib/air3d/train.ts`) is a flag: --seed --image-size
 * --max-primitives --n-epochs --n-train --n-test --n-val --hidden --input-pool --batch-size --lr
 * --weight-decay --streaming --cosine --budget-s --rerender --camera orthographic|perspective --refine
 * --refine-budget (renders per image and start) --refine-mirror (also fit from the network's proposal
 * for the mirrored image where the first fit leaves error; default true) --refine-threads. `--model direct` trains nothing: it fits every test image by
 * render-and-compare from an empty scene and reports `failure_rate` too.
 *
 * --save PATH writes the trained network (with its config and training record) after the JSON line;
 * --load PATH scores that network instead of training one — the same flags it was trained with, but
 * --n-test, --rerender and the --refine… flags may differ (`lib/air3d/checkpoint.ts`):
 *
 *     deno task air3d -- --model grid --seed 0 --camera perspective --save runs/grid-p0.ckpt
 *     deno task air3d -- --model grid --seed 0 --camera perspective --load runs/grid-p0.ckpt --refine
 */
import { initCliBackend } from "../lib/core/tf.ts";
import { cliConfig, runCli } from "../lib/core/flags.ts";
import { defaultConfig, runAir3d, type RunKind } from "../lib/air3d/train.ts";
import { loadAir3dNetwork, saveAir3dNetwork } from "../lib/air3d/checkpoint.ts";
import { saveOrFallback } from "../lib/core/files.ts";

await runCli("air3d", async () => {
  const { config, extra: { backend, save, load } } = cliConfig(import.meta.url, defaultConfig("mlp"), {
    omit: ["model"], // --model picks the model's defaults (hidden units, batch, learning rate, …)
    extra: { model: "mlp", backend: "wasm", save: "", load: "" },
    base: ({ model }) => defaultConfig(model as RunKind),
  });
  await initCliBackend("air3d", backend);
  console.error(`[air3d] ${JSON.stringify(config)}`);
  if (config.model === "direct" && (save || load)) {
    throw new Error(`--${save ? "save" : "load"}: the direct baseline (--model direct) has no network`);
  }
  const trained = load ? await loadAir3dNetwork(load, config) : undefined;
  const run = await runAir3d(
    config,
    (r, c) => {
      const v = r.val;
      console.error(
        `[air3d] epoch ${r.epoch}/${c.nEpochs} ${r.seconds.toFixed(1)}s train ${
          r.train.total.toFixed(4)
        } val ${v.total.toFixed(4)} (presence ${v.presence.toFixed(3)} type ${v.type.toFixed(3)} position ${
          v.position.toFixed(3)
        } rotation ${v.rotation.toFixed(3)}) tensors ${r.liveTensors}`,
      );
    },
    (line) => console.error(`[air3d] ${line}`),
    trained,
  );
  // The result first: a save that still fails cannot take it with it.
  console.log(JSON.stringify(run.result));
  if (save) {
    const at = await saveOrFallback(save, (p) => saveAir3dNetwork(p, run), "air3d-");
    console.error(`[air3d] saved the trained network to ${at} (--load reads it)`);
  }
});
