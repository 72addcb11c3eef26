/**
 * GENESIS on sprite or coloured-primitive scenes — train with GECO and score the held-out masks;
 * progress on stderr, and the last stdout line is one JSON object (fg_ari, msc, sc, ari,
 * recon_mse, steps, train_s, images_per_s, curve, geco_trace, config, env).
 *
 *     deno task genesis -- --dataset sprites --seed 0 --budget-s 900
 *     deno task genesis -- --dataset prims --max-steps 500          # reproducible (step-limited)
 *     deno task genesis -- --masks latent                           # GENESIS-S's mask decoder
 *
 * Flags: --dataset sprites|prims --masks icsbp|latent --seed --budget-s --max-steps --batch-size --lr
 * --geco-goal (nats per pixel channel) --size --slots --z-dim --lstm --comp-hidden --sigma-x
 * --pixel-channels --embed-dim --region-hidden (icsbp) --mask-hidden (latent) --n-test --eval-every-s.
 */
import { environment, initTf } from "../lib/core/tf.ts";
import { cliFlags } from "../lib/core/flags.ts";
import { defaultGenesisConfig, type GenesisMasks } from "../lib/genesis/model.ts";
import {
  defaultGenesisRunConfig,
  type GenesisDataset,
  runGenesis,
  validateGenesisRunConfig,
} from "../lib/genesis/train.ts";

try {
  const d = defaultGenesisRunConfig();
  const f = cliFlags(import.meta.url, {
    dataset: d.dataset as string,
    masks: d.model.masks as string,
    seed: d.seed,
    budgetS: d.budgetS,
    maxSteps: d.maxSteps,
    batchSize: d.batchSize,
    lr: d.lr,
    gecoGoal: d.gecoGoal,
    size: d.model.size,
    slots: 0,
    zDim: d.model.zDim,
    lstm: d.model.lstm,
    maskHidden: d.model.maskHidden,
    compHidden: d.model.compHidden,
    sigmaX: d.model.sigmaX,
    pixelChannels: d.model.pixelChannels,
    embedDim: d.model.embedDim,
    regionHidden: d.model.regionHidden,
    nTest: d.nTest,
    evalEveryS: d.evalEveryS,
  });
  const dataset = f.dataset as GenesisDataset;
  const base = defaultGenesisRunConfig({ dataset });
  const config = defaultGenesisRunConfig({
    dataset,
    seed: f.seed,
    budgetS: f.budgetS,
    maxSteps: f.maxSteps,
    batchSize: f.batchSize,
    lr: f.lr,
    gecoGoal: f.gecoGoal,
    nTest: f.nTest,
    evalEveryS: f.evalEveryS,
    model: defaultGenesisConfig({
      masks: f.masks as GenesisMasks,
      size: f.size,
      slots: f.slots === 0 ? base.model.slots : f.slots, // 0: the dataset's default
      zDim: f.zDim,
      lstm: f.lstm,
      maskHidden: f.maskHidden,
      compHidden: f.compHidden,
      sigmaX: f.sigmaX,
      pixelChannels: f.pixelChannels,
      embedDim: f.embedDim,
      regionHidden: f.regionHidden,
    }),
  });
  validateGenesisRunConfig(config);
  const backend = await initTf();
  if (backend.notice) console.error(`[genesis] ${backend.notice}`);
  console.error(`[genesis] config ${JSON.stringify(config)}`);
  const { result, trainer } = await runGenesis(config, { onLog: console.error });
  trainer.dispose();
  console.log(JSON.stringify({ ...result, env: environment() }));
} catch (e) {
  console.error(`genesis: ${(e as Error).message}`);
  if (Deno.env.get("GENESIS_DEBUG")) console.error((e as Error).stack);
  Deno.exit(2);
}
