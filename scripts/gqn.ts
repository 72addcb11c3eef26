/**
 * GQN on ring-camera scenes of coloured primitives — train within a wall-clock budget, then render
 * held-out query views and score them beside the nearest-context-view and mean-image baselines;
 * progress on stderr, and the last stdout line is one JSON object (query_mse, baseline_nearest_mse,
 * baseline_mean_mse, ratio_to_nearest, by_m, elbo, kl, steps, train_s, images_per_s, the object
 * scores — object_mse, baseline_nearest_object_mse, baseline_mean_object_mse, colour_hit_rate,
 * baseline_nearest_colour_hit_rate, variance_unseen_vs_seen, variance_unseen, variance_seen,
 * unseen_share, variance_by_kind — curve, trace, config, env).
 *
 *     deno task gqn -- --seed 0 --budget-s 600
 *     deno task gqn -- --max-steps 200              # reproducible (step-limited)
 *
 * Every field of the run config (`lib/gqn/train.ts`), the model's included, is a flag: --seed,
 * --budget-s, --max-steps, --batch-size, --min-context, --max-context, --lr-start, --lr-end,
 * --sigma-start, --sigma-end, --test-per-m, …, --size, --representation tower|pool,
 * --tower-channels 32,64, --r-channels, --hidden, --z-channels, --layers, …; `--help` lists them all.
 */
import { environment, initCliBackend } from "../lib/core/tf.ts";
import { cliConfig, runCli } from "../lib/core/flags.ts";
import { defaultGqnRunConfig, runGqn, validateGqnRunConfig } from "../lib/gqn/train.ts";

await runCli("gqn", async () => {
  const { config, extra: { backend } } = cliConfig(import.meta.url, defaultGqnRunConfig(), {
    extra: { backend: "wasm" },
  });
  validateGqnRunConfig(config);
  await initCliBackend("gqn", backend);
  console.error(`[gqn] config ${JSON.stringify(config)}`);
  const { result, trainer } = await runGqn(config, { onLog: console.error });
  trainer.dispose();
  console.log(JSON.stringify({ ...result, env: environment() }));
});
