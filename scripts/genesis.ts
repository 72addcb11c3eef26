/**
 * GENESIS on sprite or coloured-primitive scenes — train with GECO and score the held-out masks;
 * progress on stderr, and the last stdout line is one JSON object (fg_ari, msc, sc, ari,
 * recon_mse, steps, train_s, images_per_s, curve, geco_trace, config, env).
 *
 *     deno task genesis -- --dataset sprites --seed 0 --budget-s 900
 *     deno task genesis -- --dataset prims --max-steps 500          # reproducible (step-limited)
 *     deno task genesis -- --masks latent                           # GENESIS-S's mask decoder
 *
 * Every field of the run config (`lib/genesis/train.ts`), the model's included, is a flag: --seed,
 * --budget-s, --max-steps, --batch-size, --lr, --geco-goal (nats per pixel channel), --n-test,
 * --masks icsbp|latent, --size, --slots, --z-dim, --lstm, --enc-channels 32,32,64, …; `--help`
 * lists them all. Besides: --dataset sprites|prims (its default number of slots: 5 or 4).
 */
import { environment, initCliBackend } from "../lib/core/tf.ts";
import { cliConfig, runCli } from "../lib/core/flags.ts";
import {
  defaultGenesisRunConfig,
  type GenesisDataset,
  runGenesis,
  validateGenesisRunConfig,
} from "../lib/genesis/train.ts";

await runCli("genesis", async () => {
  const { config, extra: { backend } } = cliConfig(import.meta.url, defaultGenesisRunConfig(), {
    omit: ["dataset"], // --dataset picks the model's defaults (the number of slots)
    extra: { dataset: "sprites", backend: "wasm" },
    base: ({ dataset }) => defaultGenesisRunConfig({ dataset: dataset as GenesisDataset }),
  });
  validateGenesisRunConfig(config);
  await initCliBackend("genesis", backend);
  console.error(`[genesis] config ${JSON.stringify(config)}`);
  const { result, trainer } = await runGenesis(config, { onLog: console.error });
  trainer.dispose();
  console.log(JSON.stringify({ ...result, env: environment() }));
});
