/**
 * One run of AIR-3D without labels as a plain config object (nanoGPT style): stream freshly rendered
 * images (their latents are never handed to the learner), train the one-object network by the ELBO
 * through the renderer for a time budget — or, as the paper's Fig. 6c baseline, the identical network
 * on the true latents with Euler-angle regression — and score it on held-out scenes.
 * `scripts/air3d_unsup.ts` is its CLI; notebook 05 calls it with a progress callback.
 *
 * @example
 * ```ts
 * import { initTf } from "../core/tf.ts";
 * import { defaultUnsupConfig, runUnsupervised } from "./unsup_train.ts";
 * await initTf();
 * const run = await runUnsupervised({ ...defaultUnsupConfig(), budgetS: 5, nTest: 50, imageSize: 32 });
 * run.result.type_acc;
 * ```
 * @module
 */
import { environment, tf } from "../core/tf.ts";
import { Rng } from "../core/random.ts";
import { requireInt, requireKnownKeys, requirePositive } from "../core/validate.ts";
import { sampleSlotDataset, type SlotDataset } from "../scenes/scenes3d.ts";
import { renderBatch } from "../scenes/render.ts";
import type { Camera } from "../scenes/primitives.ts";
import { scoreScenes, type SlotPrediction } from "../metrics/slots.ts";
import { AdamW } from "../nn/adam.ts";
import { probeTraining, type TrainingProbe } from "../nn/probe.ts";
import { cosineDecay } from "../nn/schedule.ts";
import { asSeen, cameraOf, zFloorMae } from "./camera.ts";
import { cameraNet } from "./camera_guide.ts";
import { sampleOrbitDataset, viewLight } from "./orbit.ts";
import {
  predictCamera,
  predictSingle,
  type SingleObjectNet,
  singleObjectNet,
  supervisedLoss,
  UnsupervisedGuide,
  type UnsupervisedOptions,
} from "./unsupervised.ts";
import { failureRate, fitImagesParallel } from "./fit_images.ts";
import { reconstructionMse } from "./reconstruction.ts";
import { RenderLikelihood } from "./likelihood.ts";
import { ORBIT_YAW_GRID, refineObjects, refineWithLight } from "./light_refine.ts";
import { type FitStart, fromPredictions, toPredictions } from "./fit.ts";
import { guideVariables, type UnsupTrained } from "./unsup_checkpoint.ts";
import { restoreVariables } from "../nn/checkpoint.ts";
import { NETWORK_TIMINGS } from "./train.ts";
import { ReadPool } from "./read_pool.ts";

/** Every knob of a run. */
export interface UnsupConfig {
  /**
   * "unsupervised" (the ELBO through the renderer), "supervised" (the identical network on the true
   * latents, Euler regression: Fig. 6c) or "direct" (no network: each test image fitted from an empty
   * scene by render-and-compare, `fit.ts`: Fig. 6d).
   */
  learning: "unsupervised" | "supervised" | "direct";
  seed: number;
  imageSize: number;
  /**
   * The most objects per scene (scenes hold 1..maxObjects): 1 (the paper's Fig. 6) or up to 3
   * (Fig. 7: the guide runs maxObjects steps, each drawing z_pres; unsupervised or direct only).
   */
  maxObjects: number;
  /** α of the prior z_pres ~ Bernoulli(α) per step (App. I.3), for maxObjects > 1. */
  presencePrior: number;
  /**
   * The camera: "fixed" (the default pose) or "orbit" (App. I: each scene seen from a camera turned by
   * θ ~ U(−40°, 40°) about the vertical, the light fixed in the world; a separate network infers z_cam;
   * unsupervised only). Under "orbit" every score is taken in the view of the scene's camera.
   */
  camera: "fixed" | "orbit";
  /**
   * The orbit camera's warm-up: for this share of training z_cam is held at 0 and its guide is not
   * trained, so that the objects are placed before the light is asked about (0..1).
   */
  cameraWarmup: number;
  projection: "orthographic" | "perspective";
  /** Training time, seconds. */
  budgetS: number;
  /**
   * Most training steps (0: no limit). A time budget gives as many steps as the machine manages, so
   * only a step-limited run is repeatable step for step: same seed and `maxSteps`, same result.
   */
  maxSteps: number;
  batchSize: number;
  lr: number;
  /** Cosine decay of the learning rate over the time budget (to 2 % of `lr`). */
  cosine: boolean;
  hidden: number;
  /** σ of the likelihood, pixel values in [0, 1]. */
  sigma: number;
  /** σ of the likelihood's blur, pixels. */
  blurPx: number;
  /** The type's gradient (unsupervised): the score function with NVIL, or summed out. */
  typeGradient: "reinforce" | "enumerate";
  /** z_pres's gradient (several objects): the score function with NVIL, or each step's z_pres summed out locally. */
  presenceGradient: "reinforce" | "local";
  /** Renders per image of the direct fit. */
  directBudget: number;
  /** Web Workers for render-and-compare fits: the direct baseline's, and the refined reading's of several objects. */
  fitThreads: number;
  /**
   * Threads reading the test scenes with the trained guide (`ReadPool`: this one and Web Workers with
   * copies of the network, each reading a share); `infer_ms_per_image` is their wall time per image.
   */
  readThreads: number;
  /** Held-out scenes scored at the end. */
  nTest: number;
  /**
   * Unsupervised runs: also read the test scenes on from the scored reading (the JSON's `refined`):
   * one object by the likelihood (each object polished and retyped, `refineObjects`, tens of ms per
   * image); several objects by render-and-compare (`fit.ts`: births, deaths, type changes, re-poses),
   * λ `refineLambda` — under the orbit camera in the light the scored reading found, which is then
   * read again with the fitted objects, and the fit and the light once more.
   */
  refineReading: boolean;
  /**
   * λ of the several-object refined reading's fit: the price of one object in squared error,
   * C = ‖x − render‖² + λ·|objects|. Fixed: no label chooses it (3 was chosen among 1–6 on seed 0's
   * guide, docs/results).
   */
  refineLambda: number;
  /** Renders per image of the several-object refined reading's fit. */
  refineBudget: number;
  /** Held-out scenes scored for the learning curve (every `budgetS`/`curvePoints` seconds). */
  nCurve: number;
  curvePoints: number;
}

/** The defaults: 10 minutes of training on the paper's single-object task, orthographic camera. */
export function defaultUnsupConfig(): UnsupConfig {
  return {
    learning: "unsupervised",
    seed: 0,
    imageSize: 64,
    maxObjects: 1,
    presencePrior: 0.5,
    camera: "fixed",
    cameraWarmup: 0.25,
    projection: "orthographic",
    budgetS: 600,
    maxSteps: 0,
    batchSize: 32,
    lr: 1e-3,
    cosine: true,
    hidden: 256,
    sigma: 0.1,
    blurPx: 1,
    typeGradient: "reinforce",
    presenceGradient: "reinforce",
    directBudget: 2000,
    fitThreads: 2,
    readThreads: 1,
    nTest: 500,
    refineReading: true,
    refineLambda: 3,
    refineBudget: 12000,
    nCurve: 200,
    curvePoints: 10,
  };
}

/** Checks every field, naming it and what is allowed; unknown keys are errors. */
export function validateUnsupConfig(c: UnsupConfig): UnsupConfig {
  requireKnownKeys(c, Object.keys(defaultUnsupConfig()), "config key");
  const oneOf = <K extends keyof UnsupConfig>(key: K, allowed: readonly string[]) => {
    if (!allowed.includes(c[key] as string)) {
      throw new RangeError(`${key} must be one of ${allowed.join(", ")}, got ${JSON.stringify(c[key])}`);
    }
  };
  oneOf("learning", ["unsupervised", "supervised", "direct"]);
  oneOf("projection", ["orthographic", "perspective"]);
  oneOf("typeGradient", ["reinforce", "enumerate"]);
  oneOf("presenceGradient", ["reinforce", "local"]);
  oneOf("camera", ["fixed", "orbit"]);
  if (c.camera === "orbit" && c.learning !== "unsupervised") {
    throw new RangeError(
      `camera "orbit" needs learning "unsupervised" (its camera guide is learnt from the images), got ${
        JSON.stringify(c.learning)
      }`,
    );
  }
  requireInt(c, "maxObjects", 1, 3);
  if (c.maxObjects > 1 && c.learning === "supervised") {
    throw new RangeError(
      `maxObjects must be 1 with learning "supervised" (the supervised baseline reads one object), got ${c.maxObjects}`,
    );
  }
  if (!(c.presencePrior > 0 && c.presencePrior < 1)) {
    throw new RangeError(`presencePrior must be in (0, 1), got ${c.presencePrior}`);
  }
  requireInt(c, "seed", 0);
  requireInt(c, "imageSize", 16, 256);
  if (c.imageSize % 16) throw new RangeError(`imageSize must be a multiple of 16, got ${c.imageSize}`);
  requireInt(c, "batchSize", 1, 4096);
  requireInt(c, "maxSteps", 0);
  requireInt(c, "hidden", 1, 4096);
  requireInt(c, "nTest", 1, 100_000);
  if (typeof c.refineReading !== "boolean") {
    throw new RangeError(`refineReading must be true or false, got ${JSON.stringify(c.refineReading)}`);
  }
  requireInt(c, "nCurve", 1, 100_000);
  requireInt(c, "curvePoints", 1, 1000);
  requireInt(c, "directBudget", 1, 1_000_000);
  requireInt(c, "fitThreads", 1, 64);
  requireInt(c, "readThreads", 1, 64);
  requireInt(c, "refineBudget", 1, 1_000_000);
  requirePositive(c, "refineLambda");
  if (!(c.cameraWarmup >= 0 && c.cameraWarmup < 1)) {
    throw new RangeError(`cameraWarmup must be in [0, 1), got ${c.cameraWarmup}`);
  }
  requirePositive(c, "budgetS");
  requirePositive(c, "lr");
  requirePositive(c, "sigma");
  requirePositive(c, "blurPx", true);
  return c;
}

/** A point of the learning curve. */
export interface CurvePoint {
  step: number;
  seconds: number;
  elbo: number;
  count_acc: number;
  type_acc: number;
  pos_mae: [number, number, number];
  rot_err_median_deg: { cube: number; cylinder: number };
  /** The orbit camera's angle error (mean |θ̂ − θ|, degrees); null with the fixed camera. */
  camera_err_deg: number | null;
  liveTensors: number;
}

/** The last JSON line of the CLI. */
export interface UnsupResult {
  count_acc: number;
  type_acc: number;
  pos_mae: [number, number, number];
  z_floor_mae: number;
  rot_err_median_deg: { cube: number; cylinder: number };
  /** The orbit camera's angle error: mean |θ̂ − θ| over the test scenes, degrees (null with the fixed camera). */
  camera_err_deg: number | null;
  /** Mean squared error per pixel between each test image and the rendering of what was inferred. */
  recon_mse: number;
  /** Mean ELBO per test image (nats; unsupervised only, else null). */
  elbo: number | null;
  steps: number;
  train_s: number;
  infer_ms_per_image: number;
  /** The type gradient's spread (Σ Var / ‖mean‖²) per estimator on 32 test images, 16 draws each. */
  estimator_variance: Record<string, { variance: number; meanNorm2: number; ratio: number }> | null;
  confusion: number[][];
  /** Counts: row the true number of objects (0..maxObjects), column the number read (presence > 0.5). */
  count_confusion: number[][];
  /** Direct fits only: images whose final cost is above the true scene's by more than λ (stuck). */
  failure_rate?: number;
  /**
   * The unsupervised guide read again with the model's likelihood choosing among its proposals and
   * dropping objects that do not pay their KL (`predictSingle`'s `scoring`): the same scores, with
   * the time per image of that reading (network included); absent for the supervised baseline and
   * direct fits.
   */
  scored?: ScoredReading;
  /**
   * The scored reading read on by the likelihood (`refineObjects`): each object polished (centre,
   * depth under the perspective camera, turns) and tried as each other type, with the light held where
   * the scored reading put it; with several objects, instead fitted again by render-and-compare
   * (`fitScored`; under the orbit camera in the scored reading's light, then the light read again, and
   * the fit and the light once more).
   * Its time per image includes the scored reading's. Absent where `scored` is, and with
   * `refineReading` false.
   */
  refined?: ScoredReading;
  config: UnsupConfig;
  env: Record<string, string>;
}

/** The scores of the guide's scored reading ({@link UnsupResult.scored}). */
export type ScoredReading = Pick<
  UnsupResult,
  | "count_acc"
  | "type_acc"
  | "pos_mae"
  | "rot_err_median_deg"
  | "camera_err_deg"
  | "recon_mse"
  | "infer_ms_per_image"
  | "count_confusion"
>;

/**
 * Images only, freshly rendered: the learner's whole view of the data (the scenes are drawn and
 * dropped here, so no latent can reach it).
 */
export function imageStream(
  rng: Rng,
  c: Pick<UnsupConfig, "imageSize" | "maxObjects" | "projection"> & Partial<Pick<UnsupConfig, "camera">>,
) {
  const camera = cameraOf({ camera: c.projection });
  if (c.camera === "orbit") {
    return (n: number): Float32Array => datasetOf(rng, n, { ...c, camera: "orbit" }).images;
  }
  return (n: number): Float32Array =>
    renderBatch(sampleSlotDataset(rng, n, { size: c.imageSize, maxPrimitives: c.maxObjects }).scenes, {
      size: c.imageSize,
      ...(camera ? { camera } : {}),
    }).images;
}

/**
 * `n` fresh scenes of a run's task: with the orbit camera, each seen from its own camera angle (`yaw`,
 * radians) with its targets in that camera's view; with the fixed camera, `yaw` is absent.
 */
export function datasetOf(
  rng: Rng,
  n: number,
  c: Pick<UnsupConfig, "imageSize" | "maxObjects" | "projection" | "camera">,
): SlotDataset & { yaw?: Float32Array } {
  const camera = cameraOf({ camera: c.projection });
  const opts = { size: c.imageSize, maxPrimitives: c.maxObjects, ...(camera ? { camera } : {}) };
  return c.camera === "orbit" ? sampleOrbitDataset(rng, n, opts) : sampleSlotDataset(rng, n, opts);
}

/** The orbit camera's angle error: mean |θ̂ − θ| in degrees. */
export function cameraErrorDeg(estimate: Float32Array, truth: Float32Array): number {
  if (estimate.length !== truth.length) {
    throw new RangeError(
      `estimate and truth must hold as many angles, got ${estimate.length} and ${truth.length}`,
    );
  }
  let e = 0;
  for (let i = 0; i < truth.length; i++) e += Math.abs(estimate[i] - truth[i]);
  return (e / Math.max(1, truth.length)) * (180 / Math.PI);
}

/**
 * Trains and scores one run. `onCurve` receives the learning curve as it grows (the notebook's live
 * plot); `onLog` progress lines. `trained` (`loadUnsupGuide`): a guide saved by an earlier run of the
 * same config, read instead of training one (no curve; its steps and training time are the saved ones).
 */
export async function runUnsupervised(
  config: UnsupConfig,
  onCurve?: (point: CurvePoint, curve: CurvePoint[]) => void | Promise<void>,
  onLog?: (line: string) => void,
  trained?: UnsupTrained,
) {
  const c = validateUnsupConfig(structuredClone(config));
  const rng = new Rng(c.seed), camera = cameraOf({ camera: c.projection });
  const opts = { size: c.imageSize, maxPrimitives: c.maxObjects, ...(camera ? { camera } : {}) };
  const test = datasetOf(rng.child("test"), c.nTest, c);
  if (c.learning === "direct") {
    if (trained) throw new Error("the direct baseline has no network to load");
    return {
      ...(await directRun(c, test)),
      curve: [] as CurvePoint[],
      net: null,
      cameraNet: null,
      yaw: null,
    };
  }
  const curveSet = datasetOf(rng.child("curve"), c.nCurve, c);
  const { net, cameraNet: camNet, guide } = buildGuide(c, rng);
  if (trained) restoreVariables(guideVariables(net, camNet), trained.checkpoint);
  const rotation = c.learning === "unsupervised" ? "6d" : "euler";
  const supervised = guide ? null : new AdamW(net.params, { lr: c.lr });
  const images = imageStream(rng.child("train"), c);
  const labelled = rng.child("train-labelled");
  const curve: CurvePoint[] = [];
  // The orbit camera: z_cam's mean first, then the objects read in its light (by `pool`'s threads, given one).
  const predict = async (images: Float32Array, n: number, pool?: ReadPool) => {
    const yaw = camNet ? await predictCamera(camNet, images, n) : undefined;
    const options = { steps: c.maxObjects, ...(yaw ? { yaw } : {}) };
    return {
      yaw,
      predictions: pool
        ? await pool.read(images, n, camera, rotation, options)
        : await predictSingle(net, images, n, camera, rotation, options),
    };
  };
  const score = async (d: SlotDataset & { yaw?: Float32Array }) => {
    const { yaw, predictions } = await predict(d.images, d.n);
    const m = scoreScenes(d.scenes, predictions, matchingOf(c));
    return { ...m, camera_err_deg: yaw && d.yaw ? cameraErrorDeg(yaw, d.yaw) : null };
  };
  let steps = 0, elbo = NaN;
  const t0 = performance.now();
  const addPoint = async () => {
    const m = await score(curveSet), seconds = (performance.now() - t0) / 1000;
    const point: CurvePoint = {
      step: steps,
      seconds,
      elbo,
      count_acc: m.count_acc,
      type_acc: m.type_acc,
      pos_mae: m.pos_mae,
      rot_err_median_deg: m.rot_err_median_deg,
      camera_err_deg: m.camera_err_deg,
      liveTensors: tf.memory().numTensors,
    };
    curve.push(point);
    onLog?.(
      `step ${steps} ${seconds.toFixed(0)}s elbo ${elbo.toFixed(0)} count ${m.count_acc.toFixed(3)} type ${
        m.type_acc.toFixed(3)
      } x/y ${m.pos_mae[0].toFixed(3)}/${m.pos_mae[1].toFixed(3)} rot ${
        m.rot_err_median_deg.cube.toFixed(1)
      }°/${m.rot_err_median_deg.cylinder.toFixed(1)}°${
        m.camera_err_deg === null ? "" : ` camera ${m.camera_err_deg.toFixed(1)}°`
      } tensors ${point.liveTensors}`,
    );
    await onCurve?.(point, curve);
  };
  let nextPoint = 0;
  while (!trained) {
    const elapsed = (performance.now() - t0) / 1000;
    if (elapsed >= nextPoint) {
      await addPoint();
      nextPoint += c.budgetS / c.curvePoints;
    }
    if (elapsed >= c.budgetS || (c.maxSteps > 0 && steps >= c.maxSteps)) break;
    // The schedule runs on steps when they are limited (repeatable), else on the clock.
    const progress = c.maxSteps > 0 ? steps / c.maxSteps : elapsed / c.budgetS;
    const lr = c.cosine ? cosineDecay(progress, c.lr, 0.02) : c.lr;
    if (guide) {
      guide.opt.lr = lr;
      guide.cameraFrozen = progress < c.cameraWarmup;
      elbo = (await guide.step(images(c.batchSize), c.batchSize)).elbo;
    } else {
      // The baseline alone reads latents: the image-plane centre (asSeen) and Euler angles.
      const batch = asSeen(sampleSlotDataset(labelled, c.batchSize, opts), camera);
      elbo = NaN;
      supervised!.lr = lr;
      await supervised!.step(() => supervisedLoss(net, batch));
    }
    steps++;
  }
  if (trained) steps = trained.training.steps;
  const trainS = trained ? trained.training.train_s : (performance.now() - t0) / 1000;
  // The guide's time per image: one untimed reading of the test scenes (wasm's heap grows, and every batch
  // shape the reading meets is built once: a step runs on the images still being read), then the fastest of
  // NETWORK_TIMINGS timed readings (the answer is the same each time; a busy machine only ever adds to it).
  // The reading runs on `readThreads` threads (their start is not timed).
  const pool = await ReadPool.start(net, c.readThreads);
  const times: number[] = [];
  let reading!: Awaited<ReturnType<typeof predict>>;
  try {
    await predict(test.images, test.n, pool);
    for (let r = 0; r < NETWORK_TIMINGS; r++) {
      const t1 = performance.now();
      reading = await predict(test.images, test.n, pool);
      times.push((performance.now() - t1) / test.n);
    }
  } finally {
    pool.close();
  }
  onLog?.(
    `the guide's reading, ${c.readThreads} thread(s): ${
      times.map((t) => t.toFixed(2)).join(" / ")
    } ms per image`,
  );
  const { predictions, yaw } = reading;
  const inferMs = Math.min(...times);
  const result = scoredResult(c, test, predictions, yaw, {
    elbo: guide ? await guide.meanElbo(test.images, test.n) : null,
    steps,
    train_s: trainS,
    infer_ms_per_image: inferMs,
    // The type gradient's spread is measured on the one-object guide (notebook 05's question).
    estimator_variance: guide && c.maxObjects === 1
      ? await guide.estimatorVariance(test.images, Math.min(32, test.n), 16)
      : null,
  });
  const readings = guide ? await scoredReadings(c, net, test, yaw) : null;
  if (readings) {
    result.scored = readings.scored;
    if (readings.refined) result.refined = readings.refined.scores;
  }
  guide?.dispose();
  supervised?.dispose();
  return {
    result,
    curve,
    net: net as SingleObjectNet | null,
    cameraNet: camNet ?? null,
    yaw: yaw ?? null,
    test,
    predictions,
    /** The refined reading's objects (`result.refined`), null where there is none. */
    refined: readings?.refined?.predictions ?? null,
  };
}

/**
 * The trained guide's scored reading of the test scenes: the same network and camera angles, its
 * types, rotations and objects chosen by the model's likelihood (σ, blur and camera of the run); and
 * that reading refined: each object polished and retyped by the likelihood (`refineObjects`), or, with
 * several objects, fitted again by render-and-compare (`fitScored`).
 */
async function scoredReadings(
  c: UnsupConfig,
  net: SingleObjectNet,
  test: SlotDataset & { yaw?: Float32Array },
  yaw: Float32Array | undefined,
): Promise<{ scored: ScoredReading; refined?: { scores: ScoredReading; predictions: SlotPrediction[][] } }> {
  const camera = cameraOf({ camera: c.projection });
  const scoring = new RenderLikelihood({
    size: c.imageSize,
    sigma: c.sigma,
    blurPx: c.blurPx,
    ...(camera ? { camera } : {}),
  });
  const t0 = performance.now();
  let predictions = await predictSingle(net, test.images, test.n, camera, "6d", {
    steps: c.maxObjects,
    ...(yaw ? { yaw } : {}),
    scoring,
  });
  if (yaw) ({ predictions, yaw } = readLight(c, test, predictions, yaw, scoring, camera));
  const ms = (performance.now() - t0) / test.n;
  const scored = readingOf(c, test, predictions, yaw, ms);
  if (!c.refineReading) return { scored };
  const t1 = performance.now(), px = c.imageSize * c.imageSize;
  let refined: SlotPrediction[][], refinedYaw = yaw;
  if (c.maxObjects > 1) {
    // Several objects: fitted again in the light the scored reading found; under the orbit camera the
    // light is then read again with the fitted objects, and both once more (a fit in a wrong light poses
    // the objects to suit that light's shading; the second fit runs in the light the first one led to).
    refined = predictions;
    for (let round = 0; round < (yaw ? 2 : 1); round++) {
      refined = await fitScored(c, test, refined, camera, refinedYaw);
      if (refinedYaw) {
        ({ predictions: refined, yaw: refinedYaw } = readLight(
          c,
          test,
          refined,
          refinedYaw,
          scoring,
          camera,
        ));
      }
    }
  } else {
    refined = predictions.map((slots, i) => {
      scoring.setImage(test.images.subarray(i * px, (i + 1) * px));
      const r = refineObjects(scoring, fromPredictions(slots, camera), yaw ? yaw[i] : 0);
      return toPredictions(r.objects, camera, slots.length);
    });
  }
  const refinedMs = ms + (performance.now() - t1) / test.n;
  return {
    scored,
    refined: { scores: readingOf(c, test, refined, refinedYaw, refinedMs), predictions: refined },
  };
}

/**
 * The scored reading of several objects fitted again by render-and-compare (`fit.ts`, as the
 * supervised networks' refinement does): its objects start the fit, and the objects the guide's
 * steps proposed but left out (z_pres 0, or dropped for not paying their KL) are offered as births
 * first; then births where the residual peaks, deaths, type changes, re-poses, each kept where
 *
 *     C(S) = ‖x − render(S)‖² + λ·|S|
 *
 * falls. λ is fixed (`refineLambda`): no label is read. `yaw`: each image's camera angle (the orbit
 * camera), whose light the image is fitted in.
 */
async function fitScored(
  c: UnsupConfig,
  test: SlotDataset,
  predictions: SlotPrediction[][],
  camera: Camera | undefined,
  yaw: Float32Array | undefined,
): Promise<SlotPrediction[][]> {
  const starts = predictions.map((slots, i): FitStart[] => [{
    objects: fromPredictions(slots, camera),
    candidates: fromPredictions(slots.map((q) => ({ ...q, presence: 1 - q.presence })), camera),
    ...(yaw ? { light: viewLight(yaw[i]) } : {}),
  }]);
  const fits = await fitImagesParallel(
    test.images,
    test.n,
    starts,
    {
      size: c.imageSize,
      lambda: c.refineLambda,
      budget: c.refineBudget,
      maxObjects: c.maxObjects,
      ...(camera ? { camera } : {}),
    },
    c.maxObjects,
    c.fitThreads,
  );
  return fits.predictions;
}

/** The scores of one reading of the test scenes, with its time per image. */
function readingOf(
  c: UnsupConfig,
  test: SlotDataset & { yaw?: Float32Array },
  predictions: SlotPrediction[][],
  yaw: Float32Array | undefined,
  ms: number,
): ScoredReading {
  const r = scoredResult(c, test, predictions, yaw, {
    elbo: null,
    steps: 0,
    train_s: 0,
    infer_ms_per_image: ms,
    estimator_variance: null,
  });
  return {
    count_acc: r.count_acc,
    type_acc: r.type_acc,
    pos_mae: r.pos_mae,
    rot_err_median_deg: r.rot_err_median_deg,
    camera_err_deg: r.camera_err_deg,
    recon_mse: r.recon_mse,
    infer_ms_per_image: ms,
    count_confusion: r.count_confusion,
  };
}

/**
 * The orbit camera's angle read again with the objects by the model's likelihood (`refineWithLight`:
 * a line search over θ, the objects polished in each light, then both together), image by image.
 * With one object the search is ±15° around the camera guide's answer (`DEFAULT_YAW_GRID`); with
 * several the guide's answer drifts (a mean error near 30°, against 9° with one), and the search
 * spans the whole orbit (`ORBIT_YAW_GRID`).
 */
function readLight(
  c: UnsupConfig,
  test: SlotDataset,
  predictions: SlotPrediction[][],
  yaw: Float32Array,
  lik: RenderLikelihood,
  camera: Camera | undefined,
): { predictions: SlotPrediction[][]; yaw: Float32Array } {
  const px = c.imageSize * c.imageSize;
  const out = new Float32Array(test.n);
  const read = predictions.map((slots, i) => {
    lik.setImage(test.images.subarray(i * px, (i + 1) * px));
    const r = c.maxObjects > 1
      ? refineWithLight(lik, fromPredictions(slots, camera), 0, { grid: ORBIT_YAW_GRID })
      : refineWithLight(lik, fromPredictions(slots, camera), yaw[i]);
    out[i] = r.yaw;
    return toPredictions(r.objects, camera, slots.length);
  });
  return { predictions: read, yaw: out };
}

/**
 * The learner of a run config: its object network, the orbit camera's guide (camera "orbit"), and
 * the unsupervised guide that trains them (null for the supervised baseline).
 */
function buildGuide(c: UnsupConfig, rng: Rng) {
  const net = netOf(c, rng.child("net"));
  const camNet = c.camera === "orbit"
    ? cameraNet(rng.child("camera-net"), { size: c.imageSize, hidden: 64 })
    : undefined;
  const guide = c.learning === "unsupervised"
    ? new UnsupervisedGuide(net, rng.child("guide"), {
      ...guideOptions(c),
      ...(camNet ? { cameraNet: camNet } : {}),
    })
    : null;
  return { net, cameraNet: camNet, guide };
}

/** The result of a run: the scores of `predictions` on the test scenes, with what the method itself reports. */
function scoredResult(
  c: UnsupConfig,
  test: SlotDataset & { yaw?: Float32Array },
  predictions: SlotPrediction[][],
  yaw: Float32Array | undefined,
  own: Pick<
    UnsupResult,
    "elbo" | "steps" | "train_s" | "infer_ms_per_image" | "estimator_variance" | "failure_rate"
  >,
): UnsupResult {
  const m = scoreScenes(test.scenes, predictions, matchingOf(c));
  return {
    count_acc: m.count_acc,
    type_acc: m.type_acc,
    pos_mae: m.pos_mae,
    z_floor_mae: zFloorMae(test),
    rot_err_median_deg: m.rot_err_median_deg,
    camera_err_deg: yaw && test.yaw ? cameraErrorDeg(yaw, test.yaw) : null,
    recon_mse: reconstructionMse(
      test.images,
      predictions,
      c.imageSize,
      cameraOf({ camera: c.projection }),
      yaw,
    ),
    elbo: own.elbo,
    steps: own.steps,
    train_s: own.train_s,
    infer_ms_per_image: own.infer_ms_per_image,
    estimator_variance: own.estimator_variance,
    confusion: m.confusion,
    count_confusion: countConfusion(test, predictions, c.maxObjects),
    ...(own.failure_rate === undefined ? {} : { failure_rate: own.failure_rate }),
    config: c,
    env: environment(),
  };
}

/** The counts' confusion matrix: [true n][n read], n = 0..maxObjects (slots with presence > 0.5). */
export function countConfusion(
  test: SlotDataset,
  predictions: SlotPrediction[][],
  maxObjects: number,
): number[][] {
  const m = Array.from({ length: maxObjects + 1 }, () => new Array(maxObjects + 1).fill(0));
  predictions.forEach((slots, i) => {
    const read = Math.min(maxObjects, slots.filter((s) => s.presence > 0.5).length);
    m[Math.min(maxObjects, test.scenes[i].length)][read]++;
  });
  return m;
}

/**
 * λ of the direct fit. With one object allowed it changes no move (a birth always pays, the last
 * object never dies); it sets the failure threshold: a fit fails when its squared error is above the
 * true scene's (0) by more than λ = 4 — the price of an object in the refinement runs, a few pixels
 * wholly wrong — a wrong type or a pose stuck away from the truth, not a sub-pixel offset.
 */
const DIRECT_LAMBDA = 4;

/**
 * The direct-optimisation baseline (paper Fig. 6d): no network; every test image fitted from an empty
 * scene by render-and-compare (`fit.ts`: births of every type and a few turns, then the pattern
 * search), one object allowed.
 */
async function directRun(c: UnsupConfig, test: SlotDataset) {
  const camera = cameraOf({ camera: c.projection });
  const fits = await fitImagesParallel(
    test.images,
    test.n,
    test.scenes.map(() => [{ objects: [] }]),
    {
      size: c.imageSize,
      lambda: DIRECT_LAMBDA,
      budget: c.directBudget,
      maxObjects: c.maxObjects,
      ...(camera ? { camera } : {}),
    },
    c.maxObjects,
    c.fitThreads,
  );
  const result = scoredResult(c, test, fits.predictions, undefined, {
    elbo: null,
    steps: 0,
    train_s: 0,
    infer_ms_per_image: fits.msPerImage,
    estimator_variance: null,
    failure_rate: failureRate(fits.costs, test.scenes.map((s) => s.length), DIRECT_LAMBDA),
  });
  return { result, test, predictions: fits.predictions, traces: fits.traces };
}

/**
 * The guide's settings from a run config (the likelihood's σ and blur, the camera, Adam's rate, the
 * type's gradient; for several objects, the steps and z_pres's prior).
 */
function guideOptions(c: UnsupConfig): UnsupervisedOptions {
  const camera = cameraOf({ camera: c.projection });
  return {
    size: c.imageSize,
    sigma: c.sigma,
    blurPx: c.blurPx,
    lr: c.lr,
    typeGradient: c.typeGradient,
    presenceGradient: c.presenceGradient,
    ...(camera ? { camera } : {}),
    ...(c.maxObjects > 1 ? { maxObjects: c.maxObjects, presencePrior: c.presencePrior } : {}),
  };
}

/** The network of a run config: with z_pres's logit where scenes hold several objects, reading z_cam under the orbit camera. */
function netOf(c: UnsupConfig, rng: Rng): SingleObjectNet {
  return singleObjectNet(rng, {
    size: c.imageSize,
    hidden: c.hidden,
    presence: c.maxObjects > 1,
    cameraInput: c.camera === "orbit",
  });
}

/** How predictions meet the true objects: one slot each (one object), or by the Hungarian matching (several). */
function matchingOf(c: UnsupConfig): "slot" | "hungarian" {
  return c.maxObjects === 1 ? "slot" : "hungarian";
}

/**
 * `steps` ELBO steps of the unsupervised guide of `config` (its network, renderer likelihood and NVIL
 * baseline) on streamed images, read back asynchronously (`nn/probe.ts`): what the webgpu-vs-wasm test
 * compares. The first gradient is a twin guide's (same weights, same noise) on the first batch;
 * figures per step are the batch's ELBO, log p and KL.
 */
export async function probeUnsupervised(config: UnsupConfig, steps: number): Promise<TrainingProbe> {
  validateUnsupConfig(config);
  const c = config;
  const build = () => buildGuide({ ...c, learning: "unsupervised" }, new Rng(c.seed)).guide!;
  const guide = build(), twin = build();
  const images = imageStream(new Rng(`${c.seed}/probe/data`), c);
  const batches = Array.from({ length: Math.max(0, steps) }, () => images(c.batchSize));
  const vars = (g: UnsupervisedGuide) => [
    ...g.net.params.list(),
    ...g.baseline.params.list(),
    ...(g.options.cameraNet ? g.options.cameraNet.params.list() : []),
  ];
  try {
    return await probeTraining({
      vars: vars(guide),
      gradient: async () => {
        const { loss } = await twin.surrogate(batches[0], c.batchSize);
        const { grads, value } = tf.variableGrads(loss, vars(twin));
        value.dispose();
        return vars(twin).map((v) => grads[v.name]);
      },
      step: async (s) => {
        const st = await guide.step(batches[s], c.batchSize);
        return [st.elbo, st.logLik, st.kl];
      },
      steps,
      batch: c.batchSize,
    });
  } finally {
    for (const g of [guide, twin]) {
      g.dispose();
      g.net.params.dispose();
      g.options.cameraNet?.params.dispose();
    }
  }
}
