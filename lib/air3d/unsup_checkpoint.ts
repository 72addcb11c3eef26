/**
 * Saving a guide trained without labels and reading the test scenes again without training: the
 * object network's and the orbit camera's network's weights, the run's config and its training
 * record, in one checkpoint file (`nn/checkpoint.ts`: written atomically, checksummed). A run trains
 * for 10–30 minutes and its readings take a minute, so trying a reading's settings (`--refine-lambda`,
 * …) on a trained guide need not train it again: `deno task air3d-unsup -- … --save runs/u3-s0.ckpt`,
 * then the same flags with `--load runs/u3-s0.ckpt`.
 *
 * A loaded guide must be read under the config it was trained with: every field but those that only
 * say how it is read ({@link UNSUP_SCORING_FIELDS}) must match, or loading names the flag.
 *
 * @example
 * ```ts
 * import { loadUnsupGuide, saveUnsupGuide } from "./unsup_checkpoint.ts";
 * import { defaultUnsupConfig, runUnsupervised } from "./unsup_train.ts";
 * const config = { ...defaultUnsupConfig(), imageSize: 32, maxSteps: 2, nTest: 8, nCurve: 4 };
 * // const run = await runUnsupervised(config);
 * // await saveUnsupGuide("runs/u.ckpt", run);
 * // const again = await runUnsupervised(config, undefined, undefined, await loadUnsupGuide("runs/u.ckpt", config));
 * ```
 * @module
 */
import type { tf } from "../core/tf.ts";
import { requireSameFlags } from "../core/flags.ts";
import { type Checkpoint, loadCheckpoint, saveCheckpoint } from "../nn/checkpoint.ts";
import type { UnsupConfig } from "./unsup_train.ts";

/** The config fields that say how a trained guide is read and scored, not what it is: these may differ on load. */
export const UNSUP_SCORING_FIELDS: readonly (keyof UnsupConfig)[] = [
  "nTest",
  "refineReading",
  "refineLambda",
  "refineBudget",
  "fitThreads",
  "readThreads",
  "nCurve",
  "curvePoints",
];

/** What a saved run's training reported. */
export interface UnsupTrainingRecord {
  steps: number;
  train_s: number;
}

/** A trained guide as saved: its weights (names prefixed `net/` and `camera/`) and its training record. */
export interface UnsupTrained {
  checkpoint: Checkpoint;
  training: UnsupTrainingRecord;
}

/** The object network's and the camera network's variables under one map, by `net/` and `camera/`. */
export function guideVariables(
  net: { params: { vars: ReadonlyMap<string, tf.Variable> } },
  cameraNet: { params: { vars: ReadonlyMap<string, tf.Variable> } } | null | undefined,
): Map<string, tf.Variable> {
  const vars = new Map<string, tf.Variable>();
  for (const [k, v] of net.params.vars) vars.set(`net/${k}`, v);
  for (const [k, v] of cameraNet?.params.vars ?? []) vars.set(`camera/${k}`, v);
  return vars;
}

/** Writes a run's trained guide, its config and its training record to `path` (atomically). */
export async function saveUnsupGuide(
  path: string,
  run: {
    result: { config: UnsupConfig; steps: number; train_s: number };
    net: { params: { vars: ReadonlyMap<string, tf.Variable> } } | null;
    cameraNet: { params: { vars: ReadonlyMap<string, tf.Variable> } } | null;
  },
): Promise<void> {
  if (!run.net || run.result.config.learning === "direct") {
    throw new Error("the direct baseline has no network to save");
  }
  const training: UnsupTrainingRecord = { steps: run.result.steps, train_s: run.result.train_s };
  await saveCheckpoint(
    path,
    { kind: "air3d-unsup", config: run.result.config, training },
    guideVariables(run.net, run.cameraNet),
  );
}

/**
 * The guide saved at `path`, checked against `config`: throws, naming the file and the flag, when
 * the file holds no such guide or it was trained under another config (a field outside
 * {@link UNSUP_SCORING_FIELDS} differs). `runUnsupervised` restores its weights.
 */
export async function loadUnsupGuide(path: string, config: UnsupConfig): Promise<UnsupTrained> {
  const checkpoint = await loadCheckpoint(path);
  if (checkpoint.meta.kind !== "air3d-unsup") {
    throw new Error(
      `${path}: not a guide of air3d-unsup (kind ${JSON.stringify(checkpoint.meta.kind)})`,
    );
  }
  const saved = checkpoint.meta.config as Record<string, unknown>;
  const training = checkpoint.meta.training as UnsupTrainingRecord;
  if (typeof saved !== "object" || saved === null || typeof training !== "object" || training === null) {
    throw new Error(`${path}: the file holds no run config or training record`);
  }
  requireSameFlags(path, saved, config, UNSUP_SCORING_FIELDS, { noun: "guide", verb: "read" });
  return { checkpoint, training };
}
