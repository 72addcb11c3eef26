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
 * --direct-threads --n-test --refine-reading true|false --n-curve --curve-points.
 */
import { initCliBackend } from "../lib/core/tf.ts";
import { cliConfig, runCli } from "../lib/core/flags.ts";
import { defaultUnsupConfig, runUnsupervised } from "../lib/air3d/unsup_train.ts";

await runCli("air3d-unsup", async () => {
  const { config, extra: { backend } } = cliConfig(import.meta.url, defaultUnsupConfig(), {
    extra: { backend: "wasm" },
  });
  await initCliBackend("air3d-unsup", backend);
  console.error(`[air3d-unsup] ${JSON.stringify(config)}`);
  const run = await runUnsupervised(config, undefined, (line) => console.error(`[air3d-unsup] ${line}`));
  console.log(JSON.stringify(run.result));
});
