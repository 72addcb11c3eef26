/**
 * Saving and loading a trained AIR (the model, its NVIL baseline and the run config) as one checked
 * file (`nn/checkpoint.ts`).
 * @module
 */
import { AirRunConfig, defaultAirConfig, defaultAirRunConfig } from "./config.ts";
import { loadCheckpoint, restoreVariables, saveCheckpoint } from "../nn/checkpoint.ts";
import { AirTrainer } from "./trainer.ts";
import { requireKnownKeys } from "../core/validate.ts";

/** Saves a trainer's model (AIR and its NVIL baseline) and run config to `path` (see `nn/checkpoint.ts`). */
export async function saveAirTrainer(path: string, trainer: AirTrainer): Promise<void> {
  await saveCheckpoint(path, { kind: "air", config: trainer.config }, trainer.namedVariables());
}

/**
 * A trainer rebuilt from a file written by {@link saveAirTrainer}: its config, and the saved
 * weights of AIR and the baseline (the optimiser's moments are not saved). Config fields the file
 * lacks (written before they existed) take their defaults.
 */
export async function loadAirTrainer(path: string): Promise<AirTrainer> {
  const ckpt = await loadCheckpoint(path);
  if (ckpt.meta.kind !== "air") throw new Error(`${path}: not an AIR checkpoint (kind ${ckpt.meta.kind})`);
  const saved = ckpt.meta.config as AirRunConfig;
  if (typeof saved !== "object" || saved === null || typeof saved.air !== "object") {
    throw new Error(`${path}: the checkpoint holds no AIR run config`);
  }
  let trainer: AirTrainer | undefined;
  try {
    // A key no config has (a misspelling, a file from a fork) is an error, not silently dropped.
    requireKnownKeys(saved, Object.keys(defaultAirRunConfig()), "run config key");
    requireKnownKeys(saved.air, Object.keys(defaultAirConfig()), "architecture key (air.…)");
    // A field added since the file was written (e.g. `embed`) takes its default; then validated.
    trainer = new AirTrainer({ ...defaultAirRunConfig(), ...saved, air: defaultAirConfig(saved.air) });
    restoreVariables(trainer.namedVariables(), ckpt);
    return trainer;
  } catch (e) {
    trainer?.dispose();
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}
