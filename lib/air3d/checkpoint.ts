/**
 * Saving a trained AIR-3D network and scoring it again without training: the network's weights, the
 * run's config and what its training reported, in one checkpoint file (`nn/checkpoint.ts`: written
 * atomically, checksummed). A network takes minutes to train and its refinement seconds to a minute,
 * so trying the refinement's settings (`--refine-budget`, …) on a trained network need not train it
 * again: `deno task air3d -- … --save runs/grid-s0.ckpt`, then the same flags with
 * `--load runs/grid-s0.ckpt` give the same JSON (times aside) without the training.
 *
 * A loaded network must be scored under the config it was trained with: every field but those
 * that only say how it is scored ({@link SCORING_FIELDS}) must match, or loading names the flag.
 *
 * @example
 * ```ts
 * import { loadAir3dNetwork, saveAir3dNetwork } from "./checkpoint.ts";
 * import { defaultConfig, runAir3d } from "./train.ts";
 * const config = { ...defaultConfig("grid"), nEpochs: 1, nTrain: 64, nTest: 20, nVal: 20 };
 * // const run = await runAir3d(config);
 * // await saveAir3dNetwork("runs/grid.ckpt", run);
 * // const again = await runAir3d(config, undefined, undefined, await loadAir3dNetwork("runs/grid.ckpt", config));
 * ```
 * @module
 */
import { loadCheckpoint, restoreVariables, saveCheckpoint } from "../nn/checkpoint.ts";
import { requireSameFlags } from "../core/flags.ts";
import {
  type Air3dConfig,
  type Air3dRun,
  slotModelOf,
  type TrainedNetwork,
  type TrainingRecord,
} from "./train.ts";

/** The config fields that say how a trained network is scored, not what it is: these may differ on load. */
export const SCORING_FIELDS: readonly (keyof Air3dConfig)[] = [
  "nTest",
  "rerender",
  "refine",
  "refineBudget",
  "refineMirror",
  "refineThreads",
];

/** Writes a run's trained network, its config and its training record to `path` (atomically). */
export async function saveAir3dNetwork(path: string, run: Air3dRun): Promise<void> {
  if (!run.model) throw new Error("the direct baseline has no network to save");
  const r = run.result;
  const training: TrainingRecord = {
    best_epoch: r.best_epoch,
    epochs_run: r.epochs_run,
    stopped_by_budget: r.stopped_by_budget,
    train_s: r.train_s,
  };
  await saveCheckpoint(path, { kind: "air3d", config: r.config, training }, run.model.params.vars);
}

/**
 * The network saved at `path`, rebuilt for `config`: its weights restored, and its training record.
 * Throws, naming the file and the flag, when the file is no AIR-3D network or was trained under
 * another config (a field outside {@link SCORING_FIELDS} differs).
 */
export async function loadAir3dNetwork(path: string, config: Air3dConfig): Promise<TrainedNetwork> {
  const ckpt = await loadCheckpoint(path);
  if (ckpt.meta.kind !== "air3d") {
    throw new Error(`${path}: not an AIR-3D network (kind ${JSON.stringify(ckpt.meta.kind)})`);
  }
  const saved = ckpt.meta.config as Record<string, unknown>, training = ckpt.meta.training as TrainingRecord;
  if (typeof saved !== "object" || saved === null || typeof training !== "object" || training === null) {
    throw new Error(`${path}: the file holds no run config or training record`);
  }
  requireSameFlags(path, saved, config, SCORING_FIELDS, { noun: "network", verb: "score" });
  const model = slotModelOf(config);
  try {
    restoreVariables(model.params.vars, ckpt);
  } catch (e) {
    model.params.dispose();
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  return { model, training };
}
