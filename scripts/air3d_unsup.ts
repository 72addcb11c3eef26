/**
 * AIR-3D without labels (paper §3.2, Fig. 6–7): the inference network trained by the ELBO through
 * the renderer — finite differences for the pose, the score function with NVIL for the type (and,
 * with --max-objects 3, for z_pres at each of the guide's steps) — or, with `--learning supervised`,
 * the identical one-object network on the true latents (Euler-angle regression, the paper's Fig. 6c
 * baseline). Progress on stderr; the last stdout line is one JSON
 * object (scores, ELBO, estimator variance, timings, config and environment).
 *
 *     deno task air3d-unsup -- --max-objects 1 --projection orthographic --seed 0 --budget-s 600
 *     deno task air3d-unsup -- --learning supervised --seed 0 --budget-s 600
 *     deno task air3d-unsup -- --projection perspective --seed 1
 *     deno task air3d-unsup -- --max-objects 3 --seed 0 --budget-s 1800
 *     deno task air3d-unsup -- --camera orbit --seed 0 --budget-s 1200
 *
 * Flags (every field of the config in `lib/air3d/unsup_train.ts`): --learning --seed --image-size
 * --max-objects (1..3) --presence-prior (α of z_pres ~ Bernoulli(α)) --camera fixed|orbit (orbit: each
 * scene seen from ±40° about the vertical; a camera guide infers the angle) --camera-warmup --projection orthographic|perspective --budget-s --max-steps --batch-size --lr
 * --cosine --hidden --sigma --blur-px --type-gradient reinforce|enumerate --presence-gradient
 * reinforce|local --direct-budget
 * --fit-threads --read-threads --n-test --refine-reading true|false --refine-lambda --refine-budget --n-curve --curve-points.
 *
 * --save PATH writes the trained guide (with its config and training record) after the JSON line;
 * --load PATH reads that guide instead of training one — the same flags it was trained with, but
 * --n-test and the --refine…, --fit-threads and --read-threads flags may differ (`lib/air3d/unsup_checkpoint.ts`):
 *
 *     deno task air3d-unsup -- --max-objects 3 --seed 0 --budget-s 1800 --save runs/u3-s0.ckpt
 *     deno task air3d-unsup -- --max-objects 3 --seed 0 --budget-s 1800 --load runs/u3-s0.ckpt --refine-lambda 2
 */
import { initCliBackend } from "../lib/core/tf.ts";
import { cliConfig, runCli } from "../lib/core/flags.ts";
import { defaultUnsupConfig, runUnsupervised } from "../lib/air3d/unsup_train.ts";
import { loadUnsupGuide, saveUnsupGuide } from "../lib/air3d/unsup_checkpoint.ts";
import { saveOrFallback } from "../lib/core/files.ts";

await runCli("air3d-unsup", async () => {
  const { config, extra: { backend, save, load } } = cliConfig(import.meta.url, defaultUnsupConfig(), {
    extra: { backend: "wasm", save: "", load: "" },
  });
  await initCliBackend("air3d-unsup", backend);
  console.error(`[air3d-unsup] ${JSON.stringify(config)}`);
  if (config.learning === "direct" && (save || load)) {
    throw new Error(`--${save ? "save" : "load"}: the direct baseline (--learning direct) has no network`);
  }
  const trained = load ? await loadUnsupGuide(load, config) : undefined;
  const log = (line: string) => console.error(`[air3d-unsup] ${line}`);
  const run = await runUnsupervised(config, undefined, log, trained);
  // The result first: a save that still fails cannot take it with it.
  console.log(JSON.stringify(run.result));
  if (save) {
    const at = await saveOrFallback(save, (p) => saveUnsupGuide(p, run), "air3d-unsup-");
    log(`saved the trained guide to ${at} (--load reads it)`);
  }
});
