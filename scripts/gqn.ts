/**
 * GQN on ring-camera scenes of coloured primitives — train within a wall-clock budget, then render
 * held-out query views and score them beside the nearest-context-view and mean-image baselines;
 * progress on stderr, and the last stdout line is one JSON object (query_mse, baseline_nearest_mse,
 * baseline_mean_mse, ratio_to_nearest, by_m, elbo, kl, steps, train_s, images_per_s, curve, trace,
 * config, env).
 *
 *     deno task gqn -- --seed 0 --budget-s 600
 *     deno task gqn -- --max-steps 200              # reproducible (step-limited)
 *
 * Flags: --seed --budget-s --max-steps --batch-size --min-context --max-context --lr-start --lr-end
 * --lr-anneal --sigma-start --sigma-end --sigma-anneal --test-per-m --eval-every-s, and the model's
 * --size --representation tower|pool --r-channels --hidden --z-channels --layers --canvas-channels
 * --read-channels.
 */
import { environment, initTf } from "../lib/core/tf.ts";
import { cliFlags } from "../lib/core/flags.ts";
import { defaultGqnConfig, type GqnConfig } from "../lib/gqn/model.ts";
import { defaultGqnRunConfig, runGqn, validateGqnRunConfig } from "../lib/gqn/train.ts";

try {
  const d = defaultGqnRunConfig(), m = d.model;
  const f = cliFlags(import.meta.url, {
    seed: d.seed,
    budgetS: d.budgetS,
    maxSteps: d.maxSteps,
    batchSize: d.batchSize,
    minContext: d.minContext,
    maxContext: d.maxContext,
    lrStart: d.lrStart,
    lrEnd: d.lrEnd,
    lrAnneal: d.lrAnneal,
    sigmaStart: d.sigmaStart,
    sigmaEnd: d.sigmaEnd,
    sigmaAnneal: d.sigmaAnneal,
    testPerM: d.testPerM,
    evalEveryS: d.evalEveryS,
    size: m.size,
    representation: m.representation as string,
    rChannels: m.rChannels,
    hidden: m.hidden,
    zChannels: m.zChannels,
    layers: m.layers,
    canvasChannels: m.canvasChannels,
    readChannels: m.readChannels,
  });
  const { size, representation, rChannels, hidden, zChannels, layers, canvasChannels, readChannels, ...run } =
    f;
  const config = defaultGqnRunConfig({
    ...run,
    model: defaultGqnConfig({
      size,
      representation: representation as GqnConfig["representation"],
      rChannels,
      hidden,
      zChannels,
      layers,
      canvasChannels,
      readChannels,
    }),
  });
  validateGqnRunConfig(config);
  const backend = await initTf();
  if (backend.notice) console.error(`[gqn] ${backend.notice}`);
  console.error(`[gqn] config ${JSON.stringify(config)}`);
  const { result, trainer } = await runGqn(config, { onLog: console.error });
  trainer.dispose();
  console.log(JSON.stringify({ ...result, env: environment() }));
} catch (e) {
  console.error(`gqn: ${(e as Error).message}`);
  if (Deno.env.get("GQN_DEBUG")) console.error((e as Error).stack);
  Deno.exit(2);
}
