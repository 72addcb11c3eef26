/**
 * A multi-MNIST AIR run's configuration: the model's architecture and prior (App. C), data, estimator, optimiser and budget, with
 * the paper's defaults, their checks (errors name the field), and the learning-rate schedule.
 *
 * @example
 * ```ts
 * import { defaultAirRunConfig, validateAirRunConfig } from "./config.ts";
 * const config = defaultAirRunConfig({ estimator: "concrete", lr: 2e-3 });
 * validateAirRunConfig(config);
 * ```
 * @module
 */
import { cosineDecay } from "../nn/schedule.ts";
import { requireBytes, requireInt, requirePositive } from "../core/validate.ts";
import { PAPER_SCENES, REPRODUCTION_SCENES, type SceneSpec } from "../scenes/multi_mnist.ts";

/** Architecture and prior of one AIR model. */
export interface AirConfig {
  /** Canvas side (50 in the paper, 32 in the reproduction). */
  canvas: number;
  /** Attention window side g (the decoded and the encoded glimpse). */
  window: number;
  /** Inference steps N (the most objects). */
  steps: number;
  /** LSTM units (DAIR: hidden units of its feed-forward core). */
  lstm: number;
  zWhat: number;
  /** Hidden units of the encoder, decoder and predictor MLPs. */
  hidden: number;
  model: "air" | "dair";
  /** Likelihood standard deviation σ. */
  sigma: number;
  /** Geometric count prior p(n) ∝ ρⁿ, n = 0..steps. */
  countPrior: number;
  /** Prior mean of the window half-width s (normalised units; z_where holds log s). */
  scalePrior: number;
  /** Prior std of log s. */
  scalePriorStd: number;
  /** Prior std of the window centre (x, y). */
  positionPriorStd: number;
  /** Initial logit of q(z_pres = 1) (the predictor's bias): > 0 starts with every step present. */
  presInit: number;
  /**
   * Channels of a convolutional image embedding in the guide (two 5×5 stride-2 ReLU convolutions
   * before the LSTM's image projection); 0 = the paper's raw pixels.
   */
  embed: number;
}

/** The paper's architecture (App. C) on its 50×50 canvas. */
export function defaultAirConfig(overrides: Partial<AirConfig> = {}): AirConfig {
  return {
    canvas: 50,
    window: 28,
    steps: 3,
    lstm: 256,
    zWhat: 50,
    hidden: 200,
    model: "air",
    sigma: 0.3,
    countPrior: 0.5,
    scalePrior: 0.45,
    scalePriorStd: 0.3,
    positionPriorStd: 1,
    presInit: 0,
    embed: 0,
    ...overrides,
  };
}

/**
 * The architecture for a canvas: 50 (the paper's, window 28) or 32 (the reproduction's 12–18 px
 * digits: window 16, prior window half-width 0.48), with `overrides` on top.
 */
export function canvasAirConfig(canvas: 50 | 32, overrides: Partial<AirConfig> = {}): AirConfig {
  if (canvas !== 50 && canvas !== 32) {
    throw new RangeError(`canvas must be 50 (paper) or 32 (reproduction), got ${canvas}`);
  }
  return defaultAirConfig({
    ...(canvas === 32 ? { canvas: 32, window: 16, scalePrior: 0.48 } : {}),
    ...overrides,
  });
}

/** Checks an architecture, naming the bad field. */
export function validateAirConfig(c: AirConfig): void {
  requireInt(c, "canvas", 8, 256);
  requireInt(c, "window", 4, 64);
  requireInt(c, "steps", 1, 8);
  requireInt(c, "lstm", 1);
  requireInt(c, "zWhat", 1);
  requireInt(c, "hidden", 1);
  if (c.model !== "air" && c.model !== "dair") {
    throw new RangeError(`model must be "air" or "dair", got ${c.model}`);
  }
  requirePositive(c, "sigma");
  requirePositive(c, "scalePrior");
  requirePositive(c, "scalePriorStd");
  requirePositive(c, "positionPriorStd");
  requireInt(c, "embed", 0, 256);
  if (!Number.isFinite(c.presInit)) {
    throw new RangeError(`presInit must be a finite logit, got ${c.presInit}`);
  }
  if (!(c.countPrior > 0 && c.countPrior < 1)) {
    throw new RangeError(`countPrior must be in (0, 1), got ${c.countPrior}`);
  }
  // Weights with their gradients and Adam's two moments: 4 float32 copies, 16 bytes a weight.
  const inputs = c.embed > 0 ? Math.ceil(c.canvas / 4) ** 2 * c.embed : c.canvas ** 2;
  const gates = c.model === "air" ? 4 * c.lstm : c.lstm, g2 = c.window ** 2;
  const weights = "weights (with their gradients and Adam's moments)";
  requireBytes(c, "lstm", 16 * gates * (inputs + 4 + c.zWhat + c.lstm), `the guide's core ${weights}`);
  requireBytes(c, "hidden", 16 * c.hidden * (c.lstm + 7 + 2 * g2 + 3 * c.zWhat), `the MLPs' ${weights}`);
  requireBytes(c, "zWhat", 16 * c.zWhat * (3 * c.hidden + gates), `the ${weights} z_what touches`);
}

/**
 * The learning rate at `progress` ∈ [0, 1] of a run: lr_end + (lr − lr_end)·½(1 + cos πp), or `lr`
 * throughout when `lrEnd` is 0.
 */
export function annealedLr(c: Pick<AirRunConfig, "lr" | "lrEnd">, progress: number): number {
  return c.lrEnd === 0 ? c.lr : cosineDecay(progress, c.lr, c.lrEnd / c.lr);
}

/** A training run: architecture, data, estimator, optimiser, budget. */
export interface AirRunConfig {
  seed: number;
  air: AirConfig;
  estimator: "reinforce" | "concrete";
  /** Digit counts in training scenes and in held-out scenes (generalisation runs differ). */
  trainCounts: number[];
  testCounts: number[];
  batchSize: number;
  /**
   * Threads the batch is split over (data-parallel; the main thread and threads − 1 workers, see
   * `parallel.ts`); 1 = train on the main thread only.
   */
  threads: number;
  lr: number;
  /** Learning rate at the end of the run, reached by a cosine decay over its progress; 0 = keep `lr`. */
  lrEnd: number;
  baselineLr: number;
  /** NVIL moving-average factor. */
  nvilAlpha: number;
  /** Concrete temperature, annealed from `tempStart` to `tempEnd` over the run (its steps, else its time budget). */
  tempStart: number;
  tempEnd: number;
  /** Training wall-clock budget (s); evaluation time is not counted. */
  budgetS: number;
  /** Stop after this many steps even within the budget (0 = no limit). */
  maxSteps: number;
  nTest: number;
  /** Evaluate held-out count accuracy every this many seconds of training. */
  evalEveryS: number;
}

/** The paper's setting (50×50, AIR, REINFORCE) with a 20-minute budget. */
export function defaultAirRunConfig(overrides: Partial<AirRunConfig> = {}): AirRunConfig {
  return {
    seed: 0,
    air: defaultAirConfig(),
    estimator: "reinforce",
    trainCounts: [0, 1, 2],
    testCounts: [0, 1, 2],
    batchSize: 64,
    threads: 1,
    lr: 1e-4,
    lrEnd: 0,
    baselineLr: 1e-3,
    nvilAlpha: 0.9,
    tempStart: 1,
    tempEnd: 0.2,
    budgetS: 1200,
    maxSteps: 0,
    nTest: 1000,
    evalEveryS: 30,
    ...overrides,
  };
}

/** Checks a run config, naming the bad field. */
export function validateAirRunConfig(c: AirRunConfig): void {
  validateAirConfig(c.air);
  if (!Number.isInteger(c.seed)) throw new RangeError(`seed must be an integer, got ${c.seed}`);
  if (c.estimator !== "reinforce" && c.estimator !== "concrete") {
    throw new RangeError(`estimator must be "reinforce" or "concrete", got ${c.estimator}`);
  }
  for (const k of ["trainCounts", "testCounts"] as const) {
    const v = c[k];
    if (
      !Array.isArray(v) || v.length === 0 || v.some((n) => !Number.isInteger(n) || n < 0 || n > c.air.steps)
    ) {
      throw new RangeError(`${k} must list digit counts in 0..${c.air.steps}, got [${v}]`);
    }
  }
  for (const k of ["lr", "baselineLr", "budgetS", "evalEveryS", "tempStart", "tempEnd"] as const) {
    requirePositive(c, k);
  }
  requirePositive(c, "lrEnd", true);
  requireInt(c, "batchSize", 1);
  requireInt(c, "threads", 1, 16);
  if (c.batchSize < c.threads) {
    throw new RangeError(`batchSize (${c.batchSize}) must be at least threads (${c.threads})`);
  }
  requireInt(c, "nTest", 1);
  requireInt(c, "maxSteps", 0);
  const C2 = c.air.canvas ** 2, perStep = 8 * C2 + 4 * c.air.window ** 2 + 12 * c.air.lstm + 4 * c.air.hidden;
  requireBytes(
    c,
    "batchSize",
    c.batchSize * c.air.steps * perStep * 4 * 3,
    "one batch's activations and gradients",
  );
  requireBytes(c, "nTest", c.nTest * C2 * 8, "the held-out scenes (images and instance maps)");
  if (!(c.nvilAlpha >= 0 && c.nvilAlpha < 1)) {
    throw new RangeError(`nvilAlpha must be in [0, 1), got ${c.nvilAlpha}`);
  }
}

/** The scene distribution of a run (paper 50×50 or reproduction 32×32 by canvas size). */
export function sceneSpec(c: AirRunConfig, counts: number[]): SceneSpec {
  const base = c.air.canvas === 32 ? REPRODUCTION_SCENES : c.air.canvas === 50 ? PAPER_SCENES : {
    ...PAPER_SCENES,
    canvas: c.air.canvas,
  };
  return { ...base, counts };
}
