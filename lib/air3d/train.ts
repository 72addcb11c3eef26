/**
 * One AIR-3D experiment as a plain config object (nanoGPT style): synthesise the data, train a
 * slot model with AdamW and a best-validation checkpoint, score it on held-out scenes.
 * `scripts/air3d.ts` is its CLI; notebook 01 calls it with a progress callback.
 *
 * @example
 * ```ts
 * import { initTf } from "../core/tf.ts";
 * import { defaultConfig, runAir3d } from "./train.ts";
 * await initTf();
 * const run = await runAir3d({ ...defaultConfig("mlp"), nEpochs: 2 });
 * run.result.count_acc;
 * ```
 * @module
 */
import { asSeen, cameraOf, toWorld, zFloorMae } from "./camera.ts";
import { reconstructionMse } from "./reconstruction.ts";
import { environment, tf } from "../core/tf.ts";
import { requireBytes, requireInt, requireKnownKeys, requirePositive } from "../core/validate.ts";
import { Rng } from "../core/random.ts";
import {
  buildModel,
  type LossParts,
  MODEL_KINDS,
  type ModelKind,
  planLoss,
  type SlotModel,
} from "./model.ts";
import { sampleSlotDataset, slotBatches, type SlotDataset } from "../scenes/scenes3d.ts";
import { type Matching, type SceneMetrics, scoreScenes, type SlotPrediction } from "../metrics/slots.ts";
import { AdamW } from "../nn/adam.ts";
import { BestCheckpoint } from "../nn/best_checkpoint.ts";
import { cosineLr } from "../nn/schedule.ts";
import { probeTraining, type TrainingProbe } from "../nn/probe.ts";
import { applyCounts, calibrateLambda, chooseCounts, countCosts, MIN_PRESENCE } from "./refine.ts";
import { type FitObject, type FitStart, fromPredictions } from "./fit.ts";
import { mirrorImages, mirrorObject } from "./mirror.ts";
import {
  calibrateFitLambda,
  countAccuracy,
  failureRate,
  fitLambdas,
  FitPool,
  type FitSet,
} from "./fit_images.ts";

/** What `--model` may name: a slot model, or "direct" — render-and-compare from an empty scene, no network. */
export type RunKind = ModelKind | "direct";
export const RUN_KINDS: readonly RunKind[] = [...MODEL_KINDS, "direct"];

/** Timed passes of a network alone over the test scenes (here and in `unsup_train.ts`); `infer_ms_per_image` is the fastest. */
export const NETWORK_TIMINGS = 3;

/** Every knob of a run. The mlp defaults are the reproduction's canonical flags (see batchSize, lr). */
export interface Air3dConfig {
  /** A slot model, or "direct" (the direct-optimisation baseline: no network, no training). */
  model: RunKind;
  seed: number;
  imageSize: number;
  maxPrimitives: number;
  nEpochs: number;
  /** Scenes per epoch (a fixed set unless streaming). */
  nTrain: number;
  nTest: number;
  /** Validation scenes for the best checkpoint (a separate draw; the test set is never seen). */
  nVal: number;
  hidden: number;
  inputPool: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  /** Fresh scenes for every batch instead of a fixed training set. */
  streaming: boolean;
  /** Cosine learning-rate decay over the run (with a short warm-up). */
  cosine: boolean;
  /** Wall-clock cap on training, seconds (0 = none); a run that hits it says so. */
  budgetS: number;
  /**
   * Count by re-rendering (`refine.ts`): keep the number of proposed objects whose rendering
   * explains the image best, with the MDL weight λ chosen on the validation scenes. Off by default;
   * `refine` does this and much more (it moves poses, adds and removes objects, changes types).
   */
  rerender: boolean;
  /**
   * The camera of every image: "orthographic" (the reproduction's: z changes nothing in an image
   * but occlusion) or "perspective" (a pinhole, default field of view: z changes an object's size).
   */
  camera: "orthographic" | "perspective";
  /**
   * Refine the network's proposal by render-and-compare (`fit.ts`): pose search through the
   * renderer, births, deaths, type changes and depth swaps, λ chosen on calibration scenes
   * ({@link calibrationSet}: `nVal` scenes of their own draw, which picked no checkpoint). The JSON
   * then gains `refined`, the network's own figures staying beside it.
   */
  refine: boolean;
  /**
   * Most renders per image of the refinement (and of the direct baseline) for the first start; a
   * restart gets its camera's share of it (`fit.ts`: all of it orthographic, a quarter under perspective).
   */
  refineBudget: number;
  /**
   * Fit again from the network's proposal for the image mirrored left–right (`mirror.ts`) and keep
   * the better fit, unless the fit from its proposal for the image itself is settled: at most λ of
   * squared error unexplained (under perspective, error alone does not unsettle a fit), no object born
   * that the proposal lacked, and the mirrored proposal counting as many objects (`fitFromStarts`).
   */
  refineMirror: boolean;
  /** Threads (Web Workers) the refinement fits images on; the fits do not depend on it. */
  refineThreads: number;
}

export function defaultConfig(model: RunKind): Air3dConfig {
  if (model === "direct") return { ...defaultConfig("grid"), model, refine: true };
  const common = {
    seed: 0,
    imageSize: 64,
    maxPrimitives: 3,
    nTest: 500,
    nVal: 500,
    inputPool: 2,
    budgetS: 0,
    camera: "orthographic" as const,
    refine: false,
    refineBudget: 4000,
    refineMirror: true,
    refineThreads: 2,
  };
  if (model === "mlp") {
    return {
      ...common,
      model,
      nEpochs: 80,
      nTrain: 3000,
      hidden: 128,
      // The reproduction records but does not publish its batch size and learning rate; these
      // land within tolerance of all its figures (batch 64 at 1e-3 does too, ~1.5× slower).
      batchSize: 128,
      lr: 2e-3,
      weightDecay: 1e-3,
      streaming: false,
      cosine: false,
      rerender: false,
    };
  }
  if (model === "conv" || model === "grid") {
    return {
      ...common,
      model,
      // Epochs of 3200 fresh scenes, ≈ 13–15 s each on one thread of the 2-core machine: the conv
      // model 10 (≈ 150 s); the grid model — the refinement's starting point — 40 (≈ 9 minutes:
      // count 0.840 → 0.876, rotation 21° → 12° at seed 0; see docs/results/air3d.md).
      nEpochs: model === "grid" ? 40 : 10,
      nTrain: 3200,
      hidden: 256,
      batchSize: 64,
      lr: 3e-3,
      weightDecay: 1e-4,
      streaming: true,
      cosine: true,
      rerender: false,
    };
  }
  throw new RangeError(`model must be one of ${RUN_KINDS.join(", ")}, got ${JSON.stringify(model)}`);
}

/** Checks every field (names the field and what is allowed); unknown keys are errors. */
export function validateConfig(config: Air3dConfig): Air3dConfig {
  requireKnownKeys(config, Object.keys(defaultConfig("mlp")), "config key");
  if (!RUN_KINDS.includes(config.model)) {
    throw new RangeError(
      `model must be one of ${RUN_KINDS.join(", ")}, got ${JSON.stringify(config.model)}`,
    );
  }
  requireInt(config, "seed", 0);
  requireInt(config, "imageSize", 8, 512);
  requireInt(config, "maxPrimitives", 1, 6);
  requireInt(config, "nEpochs", 1);
  requireInt(config, "nTrain", 1);
  requireInt(config, "nTest", 1);
  requireInt(config, "nVal", 1);
  requireInt(config, "hidden", 1);
  requireInt(config, "inputPool", 1, 8);
  requireInt(config, "batchSize", 1);
  requirePositive(config, "lr");
  requirePositive(config, "weightDecay", true);
  requirePositive(config, "budgetS", true);
  requireInt(config, "refineBudget", 1, 1_000_000);
  requireInt(config, "refineThreads", 1, 64);
  if (config.camera !== "orthographic" && config.camera !== "perspective") {
    throw new RangeError(
      `camera must be "orthographic" or "perspective", got ${JSON.stringify(config.camera)}`,
    );
  }
  for (const k of ["streaming", "cosine", "rerender", "refine", "refineMirror"] as const) {
    if (typeof config[k] !== "boolean") throw new RangeError(`${k} must be true or false, got ${config[k]}`);
  }
  const px = config.imageSize ** 2, slots = config.maxPrimitives * 16; // an image and its slot targets, float32
  for (const k of ["nTrain", "nVal", "nTest"] as const) {
    if (k !== "nTrain" || !config.streaming) {
      requireBytes(
        config,
        k,
        config[k] * (px + slots) * 4,
        `the ${({ nTrain: "training", nVal: "validation", nTest: "test" })[k]} scenes`,
      );
    }
  }
  requireBytes(config, "batchSize", config.batchSize * px * 4 * 48, "one batch's activations and gradients");
  requireBytes(
    config,
    "hidden",
    config.hidden * (px / config.inputPool ** 2 + config.hidden) * 16,
    "the weights",
  );
  if (config.imageSize % config.inputPool) {
    throw new RangeError(
      `imageSize (${config.imageSize}) must be divisible by inputPool (${config.inputPool})`,
    );
  }
  if (config.model === "direct" && !config.refine) {
    throw new RangeError(
      "refine must be true for the direct model (it is render-and-compare from an empty scene)",
    );
  }
  if (config.model !== "mlp" && config.model !== "direct" && config.imageSize % 16) {
    throw new RangeError(
      `imageSize must be a multiple of 16 for the ${config.model} model, got ${config.imageSize}`,
    );
  }
  return config;
}

/** One row of the training history (per epoch). */
export interface EpochRecord {
  epoch: number;
  step: number;
  seconds: number;
  lr: number;
  train: Record<string, number>;
  val: Record<string, number>;
  liveTensors: number;
}

/** The CLI's JSON: the metrics of {@link scoreScenes} without the per-object lists. */
export interface Air3dResult extends Omit<SceneMetrics, "confusion" | "errors"> {
  /** The z MAE of predicting z's mean ({@link zFloorMae}): the floor beside `pos_mae[2]`. */
  z_floor_mae: number;
  matching: Matching;
  /** λ of the re-rendering count (chosen on the validation scenes); null when not used. */
  rerender_lambda: number | null;
  /** The refined figures (`--refine`); the direct baseline's are the top-level ones. */
  refined?: RefinedScores;
  /** Direct baseline: the share of images stuck in a local minimum (`failureRate`). */
  failure_rate?: number;
  /** Direct baseline: the λ chosen on the calibration scenes, and the renders spent per image. */
  lambda?: number;
  renders_per_image?: number;
  /** Mean squared error per pixel between each test image and the rendering of the scene read from it. */
  recon_mse: number;
  best_epoch: number;
  epochs_run: number;
  stopped_by_budget: boolean;
  synth_s: number;
  train_s: number;
  infer_ms_per_image: number;
  n_params: number;
  config: Air3dConfig;
  env: Record<string, string>;
}

/** The figures of render-and-compare refinement (and of the direct baseline). */
export interface RefinedScores {
  count_acc: number;
  type_acc: number;
  pos_mae: [number, number, number];
  rot_err_median_deg: { cube: number; cylinder: number };
  /** Network (when there is one) plus refinement, per image. */
  infer_ms_per_image: number;
  /** The MDL weight, chosen on validation scenes. */
  lambda: number;
  renders_per_image: number;
  /** Images whose final cost is above the true scene's by more than λ (`failureRate`). */
  failure_rate: number;
  /** Mean squared error per pixel between each test image and the rendering of its fitted scene. */
  recon_mse: number;
}

/** Everything a run produced (the notebook plots from it). */
export interface Air3dRun {
  result: Air3dResult;
  metrics: SceneMetrics;
  history: EpochRecord[];
  test: SlotDataset;
  predictions: SlotPrediction[][];
  /** The trained network (null for the direct baseline). */
  model: SlotModel | null;
  /** The render-and-compare fits (`--refine`, and the direct baseline). */
  refinement?: Refinement;
}

/** Progress hook: called after every epoch (await-ed, so a notebook can redraw). */
export type OnEpoch = (record: EpochRecord, config: Air3dConfig) => void | Promise<void>;

/** Mean loss parts of a model over a dataset, in chunks, no gradients. */
export async function evaluateLoss(
  model: SlotModel,
  data: SlotDataset,
  chunk = 250,
): Promise<Record<string, number>> {
  const sums: Record<string, number> = {};
  for (let s = 0; s < data.n; s += chunk) {
    const part = sliceDataset(data, s, Math.min(data.n, s + chunk));
    const plan = await planLoss(model, part);
    const values = Object.entries(await namedParts(model, tf.tidy(() => lossRow(model.loss(part, plan)))));
    for (const [k, v] of values) sums[k] = (sums[k] ?? 0) + v * part.n;
  }
  return Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / data.n]));
}

/** The run's slot model (`c.model`, not "direct"), initialised from the seed's "init" stream. */
export function slotModelOf(c: Air3dConfig): SlotModel {
  return buildModel(c.model as ModelKind, new Rng(c.seed).child("init"), {
    imageSize: c.imageSize,
    maxSlots: c.maxPrimitives,
    hidden: c.hidden,
    inputPool: c.inputPool,
  });
}

/** One AdamW step of `model` on `batch` (its loss plan read first where the backend needs it); the loss parts by name. */
async function trainStep(model: SlotModel, opt: AdamW, batch: SlotDataset): Promise<Record<string, number>> {
  const plan = await planLoss(model, batch);
  let row: tf.Tensor1D | null = null;
  await opt.step(() => {
    const out = model.loss(batch, plan);
    row = tf.keep(lossRow(out));
    return out.total;
  });
  return namedParts(model, row!);
}

/** [total, ...parts] as one tensor. */
function lossRow({ total, parts }: LossParts): tf.Tensor1D {
  return tf.concat([total.reshape([1]), parts]) as tf.Tensor1D;
}

/** A {@link lossRow}'s numbers by name ("total" and the model's part names); disposes it. */
async function namedParts(model: SlotModel, row: tf.Tensor1D): Promise<Record<string, number>> {
  const v = await row.data();
  row.dispose();
  return Object.fromEntries(["total", ...model.partNames].map((k, i) => [k, v[i]]));
}

/** Rows [start, end) of a dataset (views, no copy). */
export function sliceDataset(d: SlotDataset, start: number, end: number): SlotDataset {
  const fields = Object.entries(rowWidths(d)).map((
    [k, w],
  ) => [k, d[k as ArrayField].subarray(start * w, end * w)]);
  return {
    n: end - start,
    size: d.size,
    maxSlots: d.maxSlots,
    scenes: d.scenes.slice(start, end),
    ...Object.fromEntries(fields),
  } as SlotDataset;
}

type ArrayField = "images" | "ids" | "presence" | "type" | "position" | "euler" | "rotation";

/** How many numbers of each per-scene array of a dataset belong to one scene. */
function rowWidths(d: SlotDataset): Record<ArrayField, number> {
  const K = d.maxSlots, px = d.size * d.size;
  return { images: px, ids: px, presence: K, type: K, position: 3 * K, euler: 3 * K, rotation: 9 * K };
}

/**
 * Runs one experiment: data (train/val/test from independent child streams of `seed`), training
 * with per-epoch validation and best-checkpoint restore, test metrics and inference timing.
 * Same config → same result (times aside).
 */
export async function runAir3d(
  config: Air3dConfig,
  onEpoch?: OnEpoch,
  onLog: (line: string) => void = () => {},
  trained?: TrainedNetwork,
): Promise<Air3dRun> {
  validateConfig(config);
  const c = config;
  const rng = new Rng(c.seed);
  const camera = cameraOf(c);
  const opts = { size: c.imageSize, maxPrimitives: c.maxPrimitives, camera };
  onLog(
    `rendering ${c.streaming ? 0 : c.nTrain} training, ${c.nVal} validation and ${c.nTest} test scenes …`,
  );
  const t0 = performance.now();
  const train = c.streaming ? null : asSeen(sampleSlotDataset(rng.child("train"), c.nTrain, opts), camera);
  const val = asSeen(validationSet(c), camera);
  const test = sampleSlotDataset(rng.child("test"), c.nTest, opts);
  const synthS = (performance.now() - t0) / 1000;
  onLog(`… rendered in ${synthS.toFixed(1)} s`);

  if (c.model === "direct") {
    if (trained) throw new Error("the direct baseline has no network to load: drop the saved network");
    return runDirect(c, test, synthS, onLog);
  }
  if (trained) {
    onLog(`scoring the saved network (trained ${trained.training.train_s.toFixed(0)} s); no training`);
  }
  const { model, history, training } = trained
    ? { model: trained.model, history: [], training: trained.training }
    : await trainNetwork(c, train, val, rng, onEpoch);

  // Scenes hold at least one object, so the re-rendering count starts at 1.
  const size = { size: c.imageSize };
  const costsOf = (d: SlotDataset, p: SlotPrediction[][]) => countCosts(d.images, p, { ...size, camera });
  // The model speaks in image-plane (x, y); the scores, the re-rendering and the report in world units.
  // It reads type and pose from `readFrom` presence up: 0.5 for its own answer, MIN_PRESENCE where
  // re-rendering or refinement wants its doubtful slots too.
  const predict = async (d: SlotDataset, readFrom: number, n = d.n) =>
    toWorld(await model.predict(d.images, n, readFrom), camera);
  const perImage = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
    const t = performance.now(), out = await fn();
    return [out, (performance.now() - t) / test.n];
  };
  const lambda = c.rerender
    ? calibrateLambda(costsOf(val, await predict(val, MIN_PRESENCE)), trueCounts(val), 1).lambda
    : null;
  await predict(test, MIN_PRESENCE, Math.min(test.n, 50)); // warm-up
  // The amortised network alone: its own answer, slots above presence 0.5. Its time is the fastest
  // of NETWORK_TIMINGS passes (the answer is the same each time): a pass takes under a second, and a
  // busy machine only ever adds to it.
  const [own, firstMs] = await perImage(() => predict(test, 0.5));
  let ownMs = firstMs;
  for (let i = 1; i < NETWORK_TIMINGS; i++) {
    ownMs = Math.min(
      ownMs,
      (await perImage(() => predict(test, 0.5)))[1],
    );
  }
  // With re-rendering, the count is chosen among the network's slots by the rendering's cost.
  const [predictions, inferMs] = lambda === null ? [own, ownMs] : await perImage(async () => {
    const p = await predict(test, MIN_PRESENCE);
    return applyCounts(p, chooseCounts(costsOf(test, p), lambda, 1));
  });
  const matching: Matching = c.model === "mlp" ? "slot" : "hungarian";
  const metrics = scoreScenes(test.scenes, predictions, matching);
  const { confusion: _confusion, errors: _errors, ...scores } = metrics;
  let refined: RefinedScores | undefined, refinement: Refinement | undefined;
  if (c.refine) {
    // The refinement starts from the network's passes with its doubtful slots: timed with the fit.
    const [t, proposeMs] = await perImage(() => proposals(model, test, c));
    const cal = calibrationSet(c);
    refinement = await refineSet(c, cal, test, await proposals(model, cal, c), t, onLog);
    refined = { ...refinement.scores, infer_ms_per_image: proposeMs + refinement.scores.infer_ms_per_image };
  }
  const result: Air3dResult = {
    ...scores,
    z_floor_mae: zFloorMae(test),
    matching,
    rerender_lambda: lambda,
    recon_mse: reconstructionMse(test.images, predictions, c.imageSize, camera),
    ...training,
    synth_s: synthS,
    infer_ms_per_image: inferMs,
    n_params: model.params.count(),
    ...(refined ? { refined } : {}),
    config: c,
    env: environment(),
  };
  return { result, metrics, history, test, predictions, model, refinement };
}

/** What a network's training reported: the epoch its weights come from, the epochs run, and time. */
export interface TrainingRecord {
  best_epoch: number;
  epochs_run: number;
  stopped_by_budget: boolean;
  train_s: number;
}

/**
 * A network trained earlier (`loadAir3dNetwork` in `checkpoint.ts`) with what its training reported:
 * {@link runAir3d} then scores it (and refines from it) without training.
 */
export interface TrainedNetwork {
  model: SlotModel;
  training: TrainingRecord;
}

/** Trains the config's network (streaming or on `train`), keeping the weights of the best validation loss. */
async function trainNetwork(
  c: Air3dConfig,
  train: SlotDataset | null,
  val: SlotDataset,
  rng: Rng,
  onEpoch?: OnEpoch,
): Promise<{ model: SlotModel; history: EpochRecord[]; training: TrainingRecord }> {
  const camera = cameraOf(c);
  const opts = { size: c.imageSize, maxPrimitives: c.maxPrimitives, camera };
  const model = slotModelOf(c);
  const opt = new AdamW(model.params, { lr: c.lr, weightDecay: c.weightDecay });
  const best = new BestCheckpoint(model.params);
  const stepsPerEpoch = Math.ceil(c.nTrain / c.batchSize);
  const totalSteps = stepsPerEpoch * c.nEpochs;
  const shuffle = rng.child("shuffle");
  const stream = c.streaming ? slotBatches(rng.child("stream"), c.batchSize, opts) : null;
  const history: EpochRecord[] = [];
  let step = 0, stopped = false;
  const t1 = performance.now();
  for (let epoch = 1; epoch <= c.nEpochs && !stopped; epoch++) {
    const order = train ? shuffle.permutation(train.n) : null;
    const sums: Record<string, number> = {};
    let seen = 0;
    for (let s = 0; s < stepsPerEpoch; s++, step++) {
      const batch = stream ? asSeen(stream.next().value as SlotDataset, camera) : gatherRows(
        train!,
        order!.slice(
          s * c.batchSize,
          Math.min(train!.n, (s + 1) * c.batchSize),
        ),
      );
      if (c.cosine) opt.lr = cosineLr(step, totalSteps, c.lr, Math.min(200, totalSteps / 10));
      const parts = await trainStep(model, opt, batch);
      if (!Number.isFinite(parts.total)) {
        throw new Error(
          `training diverged at epoch ${epoch}, step ${
            step + 1
          } (loss ${parts.total}); try a smaller learning rate`,
        );
      }
      for (const [k, v] of Object.entries(parts)) sums[k] = (sums[k] ?? 0) + v * batch.n;
      seen += batch.n;
      if (c.budgetS > 0 && (performance.now() - t1) / 1000 > c.budgetS) {
        stopped = true;
        break;
      }
    }
    const valLoss = await evaluateLoss(model, val);
    await best.offer(valLoss.total, epoch);
    const record: EpochRecord = {
      epoch,
      step,
      seconds: (performance.now() - t1) / 1000,
      lr: opt.lr,
      train: Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / Math.max(1, seen)])),
      val: valLoss,
      liveTensors: tf.memory().numTensors,
    };
    history.push(record);
    await onEpoch?.(record, c);
  }
  best.restore();
  opt.dispose();
  const training: TrainingRecord = {
    best_epoch: best.bestEpoch,
    epochs_run: history.length,
    stopped_by_budget: stopped,
    train_s: (performance.now() - t1) / 1000,
  };
  return { model, history, training };
}

/**
 * Per image, the proposals the refinement fits from (`fitFromStarts`): the network's — its confident
 * slots start the fit, its doubtful ones (presence ≥ 0.1) are offered as births first — and, with
 * `refineMirror`, its proposal for the image mirrored left–right, mirrored back.
 */
export async function proposals(model: SlotModel, d: SlotDataset, c: Air3dConfig): Promise<FitStart[][]> {
  const camera = cameraOf(c);
  const read = async (images: Float32Array, back: (o: FitObject) => FitObject) => {
    const p = toWorld(await model.predict(images, d.n, MIN_PRESENCE), camera);
    return p.map((slots): FitStart => ({
      objects: fromPredictions(slots, camera, 0.5).map(back),
      candidates: fromPredictions(slots.filter((q) => q.presence < 0.5), camera, MIN_PRESENCE).map(back),
    }));
  };
  const own = await read(d.images, (o) => o);
  if (!c.refineMirror) return own.map((s) => [s]);
  const mirrored = await read(mirrorImages(d.images, d.n, c.imageSize), mirrorObject);
  return own.map((s, b) => [s, mirrored[b]]);
}

/**
 * The scenes the refinement's λ is chosen on: a draw of its own (`nVal` scenes), so that neither the
 * test scenes nor the validation scenes the network's checkpoint was picked on choose it.
 */
export function calibrationSet(c: Air3dConfig): SlotDataset {
  return sampleSlotDataset(new Rng(c.seed).child("calibration"), c.nVal, {
    size: c.imageSize,
    maxPrimitives: c.maxPrimitives,
    camera: cameraOf(c),
  });
}

/** The validation scenes of a config: the same draw as {@link runAir3d}'s (world coordinates). */
export function validationSet(c: Air3dConfig): SlotDataset {
  const camera = cameraOf(c);
  return sampleSlotDataset(new Rng(c.seed).child("val"), c.nVal, {
    size: c.imageSize,
    maxPrimitives: c.maxPrimitives,
    camera,
  });
}

/**
 * Render-and-compare refinement of a finished run's proposals, λ chosen on its calibration scenes
 * (what `refine: true` does inside {@link runAir3d}; the notebook refines the model it trained).
 * `infer_ms_per_image` counts the network's passes that also read its doubtful slots, and the fit.
 */
export async function refineRun(
  run: Air3dRun,
  onLog: (line: string) => void = () => {},
): Promise<Refinement> {
  const { model } = run, c = run.result.config;
  if (!model) throw new Error("refineRun needs a trained network; the direct baseline has none");
  const cal = calibrationSet(c);
  const t0 = performance.now(), t = await proposals(model, run.test, c);
  const proposeMs = (performance.now() - t0) / run.test.n;
  const refinement = await refineSet(c, cal, run.test, await proposals(model, cal, c), t, onLog);
  refinement.scores.infer_ms_per_image += proposeMs;
  return refinement;
}

/** A refinement's outcome: its scores, the fits, and the refined predictions' metrics. */
export interface Refinement {
  scores: RefinedScores;
  fits: FitSet;
  metrics: SceneMetrics;
}

/**
 * Render-and-compare on the test scenes from the given starts: λ chosen on the calibration scenes
 * `cal` (see {@link calibrationSet}) by count accuracy, then every test image fitted.
 * `infer_ms_per_image` is the fit's alone.
 */
export async function refineSet(
  c: Air3dConfig,
  cal: SlotDataset,
  test: SlotDataset,
  calStarts: FitStart[][],
  testStarts: FitStart[][],
  onLog: (line: string) => void = () => {},
): Promise<Refinement> {
  const camera = cameraOf(c);
  const options = (lambda: number) => ({
    size: c.imageSize,
    camera,
    lambda,
    budget: c.refineBudget,
    maxObjects: c.maxPrimitives,
  });
  const counts = trueCounts(cal);
  // One pool of workers for every λ and the test scenes: they stay warm from one call to the next.
  const pool = new FitPool(c.refineThreads);
  const fit = (
    d: SlotDataset,
    n: number,
    starts: FitStart[][],
    l: number,
  ) => pool.fit(d.images, n, starts, options(l), c.maxPrimitives);
  const byLambda = new Map<number, SlotPrediction[][]>();
  let fits: FitSet, lambda: number;
  try {
    const lambdas = fitLambdas(camera);
    for (const l of lambdas) {
      const fits = await fit(cal, cal.n, calStarts, l);
      onLog(
        `refinement: λ ${l} on ${cal.n} calibration scenes: count ${
          countAccuracy(fits.predictions, counts).toFixed(3)
        }, ${fits.msPerImage.toFixed(1)} ms / image`,
      );
      byLambda.set(l, fits.predictions);
    }
    ({ lambda } = calibrateFitLambda((l) => byLambda.get(l)!, counts, lambdas));
    onLog(`refinement: λ ${lambda} chosen; fitting ${test.n} test scenes …`);
    fits = await fit(test, test.n, testStarts, lambda);
  } finally {
    pool.close();
  }
  const metrics = scoreScenes(test.scenes, fits.predictions, "hungarian");
  const scores: RefinedScores = {
    count_acc: metrics.count_acc,
    type_acc: metrics.type_acc,
    pos_mae: metrics.pos_mae,
    rot_err_median_deg: metrics.rot_err_median_deg,
    infer_ms_per_image: fits.msPerImage,
    lambda,
    renders_per_image: fits.renders.reduce((a, r) => a + r, 0) / Math.max(1, test.n),
    failure_rate: failureRate(fits.costs, trueCounts(test), lambda),
    recon_mse: reconstructionMse(test.images, fits.predictions, c.imageSize, camera),
  };
  return { scores, fits, metrics };
}

/** The direct-optimisation baseline (paper Fig. 6d): every test image fitted from an empty scene, no network. */
async function runDirect(
  c: Air3dConfig,
  test: SlotDataset,
  synthS: number,
  onLog: (line: string) => void,
): Promise<Air3dRun> {
  const empty = (d: SlotDataset) => Array.from({ length: d.n }, (): FitStart[] => [{ objects: [] }]);
  const cal = calibrationSet(c);
  const refinement = await refineSet(c, cal, test, empty(cal), empty(test), onLog);
  const { confusion: _confusion, errors: _errors, ...scores } = refinement.metrics;
  const result: Air3dResult = {
    ...scores,
    z_floor_mae: zFloorMae(test),
    matching: "hungarian",
    rerender_lambda: null,
    failure_rate: refinement.scores.failure_rate,
    lambda: refinement.scores.lambda,
    renders_per_image: refinement.scores.renders_per_image,
    recon_mse: refinement.scores.recon_mse,
    best_epoch: 0,
    epochs_run: 0,
    stopped_by_budget: false,
    synth_s: synthS,
    train_s: 0,
    infer_ms_per_image: refinement.scores.infer_ms_per_image,
    n_params: 0,
    config: c,
    env: environment(),
  };
  return {
    result,
    metrics: refinement.metrics,
    history: [],
    test,
    predictions: refinement.fits.predictions,
    model: null,
    refinement,
  };
}

/** The number of objects in each scene of a dataset. */
export function trueCounts(d: Pick<SlotDataset, "n" | "maxSlots" | "presence">): number[] {
  const K = d.maxSlots;
  return Array.from(
    { length: d.n },
    (_, b) => d.presence.subarray(b * K, (b + 1) * K).reduce((a, v) => a + v, 0),
  );
}

/** Copies the given rows of a dataset into a new one (a training batch). */
export function gatherRows(d: SlotDataset, rows: number[]): SlotDataset {
  const out = { n: rows.length, size: d.size, maxSlots: d.maxSlots, scenes: rows.map((r) => d.scenes[r]) };
  const fields = Object.entries(rowWidths(d)).map(([k, w]) => {
    const src = d[k as ArrayField];
    const dst = new (src.constructor as new (n: number) => typeof src)(rows.length * w);
    rows.forEach((r, i) => dst.set(src.subarray(r * w, (r + 1) * w), i * w));
    return [k, dst];
  });
  return { ...out, ...Object.fromEntries(fields) } as SlotDataset;
}

/**
 * `steps` AdamW steps of the slot model `config.model` on streamed batches, read back asynchronously
 * (`nn/probe.ts`): what the webgpu-vs-wasm tests and `bench:backends` compare. The first gradient is a
 * twin model's (same weights, same jitter stream) on the first batch.
 */
export async function probeAir3d(config: Air3dConfig, steps: number): Promise<TrainingProbe> {
  validateConfig(config);
  if (config.model === "direct") throw new RangeError(`probeAir3d needs a slot model, got "direct"`);
  const camera = cameraOf(config);
  const model = slotModelOf(config), twin = slotModelOf(config);
  const data = new Rng(`${config.seed}/probe/data`);
  const opts = { size: config.imageSize, maxPrimitives: config.maxPrimitives, camera };
  const batches = Array.from(
    { length: Math.max(0, steps) },
    () => asSeen(sampleSlotDataset(data, config.batchSize, opts), camera),
  );
  const opt = new AdamW(model.params, { lr: config.lr, weightDecay: config.weightDecay });
  try {
    return await probeTraining({
      vars: model.params.list(),
      gradient: async () => {
        const plan = await planLoss(twin, batches[0]);
        const vars = twin.params.list();
        const { grads, value } = tf.variableGrads(() => twin.loss(batches[0], plan).total, vars);
        value.dispose();
        return vars.map((v) => grads[v.name]);
      },
      step: async (s) => Object.values(await trainStep(model, opt, batches[s])),
      steps,
      batch: config.batchSize,
    });
  } finally {
    opt.dispose();
    model.params.dispose();
    twin.params.dispose();
  }
}
