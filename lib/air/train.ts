/**
 * Training AIR / DAIR on multi-MNIST with no labels: streaming scenes (fresh every batch, digits
 * from MNIST's train split), the ELBO with REINFORCE + NVIL baselines or the Concrete relaxation
 * for z_pres, Adam, and held-out count accuracy (test-split digits) over training time.
 *
 * Per step (batch B, steps N), with ℓ_t = log p(x|z) − Σ_{t' ≥ t} cost_{t'} the part of the ELBO
 * that z_pres,t can change:
 *
 *     loss_model    = −mean_B ELBO − mean_B Σ_t Â_t · log q(z_pres,t)       (Â constant)
 *     Â_t           = normalise_t(ℓ_t − b_t(x))                              (NVIL)
 *     loss_baseline = mean_B Σ_t sampled_t · (b_t(x) − ℓ_t)²                (own learning rate)
 *
 * @example
 * ```ts
 * import { defaultAirRunConfig, runAirMnist } from "./train.ts";
 * const run = await runAirMnist({ ...defaultAirRunConfig(), budgetS: 60 }, { onLog: console.error });
 * console.log(run.result.count_acc);
 * ```
 * @module
 */
import { tf } from "../core/tf.ts";
import { cosineDecay } from "../nn/schedule.ts";
import { Rng } from "../core/random.ts";
import { Air, type AirConfig, defaultAirConfig, validateAirConfig } from "./model.ts";
import { countsOf, elboOf } from "./elbo.ts";
import { assignValues, Params } from "../nn/params.ts";
import { type Dense, timesTransposed } from "../nn/dense.ts";
import { HostAdam } from "../nn/adam.ts";
import { trainWithinBudget } from "../nn/loop.ts";
import { concreteTemperature, SignalNormalizer } from "./estimators.ts";
import { DataParallelAir } from "./parallel.ts";
import { flatViews } from "../nn/allreduce.ts";
import { loadCheckpoint, restoreVariables, saveCheckpoint } from "../nn/checkpoint.ts";
import { requireInt, requirePositive } from "../core/validate.ts";
import type { Mnist } from "../scenes/mnist.ts";
import {
  PAPER_SCENES,
  REPRODUCTION_SCENES,
  sampleMultiMnist,
  type Scenes,
  type SceneSpec,
} from "../scenes/multi_mnist.ts";

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
   * `air_parallel.ts`); 1 = train on the main thread only.
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

/** Held-out evaluation of a model: count accuracy and confusion (mode of q), ELBO, MSE. */
export interface AirEval {
  countAcc: number;
  /** confusion[true][predicted], counts 0..N. */
  confusion: number[][];
  elbo: number;
  reconMse: number;
}

/** Evaluates `air` on `scenes` in batches (z_pres mode, posterior means). */
export function evaluateAir(air: Air, scenes: Scenes, batchSize = 250): AirEval {
  const N = air.config.steps, px = scenes.canvas ** 2;
  const confusion = Array.from({ length: N + 1 }, () => new Array(N + 1).fill(0));
  let correct = 0, elbo = 0, sq = 0;
  for (let start = 0; start < scenes.n; start += batchSize) {
    const n = Math.min(batchSize, scenes.n - start);
    const x = tf.tensor2d(scenes.images.subarray(start * px, (start + n) * px), [n, px]);
    const stats = tf.tidy(() => {
      const pass = air.forward(x, { kind: "mode" });
      const e = elboOf(pass).sum();
      const mse = tf.square(tf.sub(x, tf.clipByValue(pass.canvas, 0, 1))).sum();
      return { zPres: pass.zPres, values: tf.stack([e, mse]) };
    });
    const [e, m] = stats.values.dataSync();
    stats.values.dispose();
    x.dispose();
    elbo += e;
    sq += m;
    const pred = countsOf(stats.zPres, N);
    for (let b = 0; b < n; b++) {
      const truth = scenes.counts[start + b];
      confusion[Math.min(truth, N)][pred[b]]++;
      if (pred[b] === truth) correct++;
    }
  }
  return { countAcc: correct / scenes.n, confusion, elbo: elbo / scenes.n, reconMse: sq / (scenes.n * px) };
}

/** The NVIL baseline network b(x): an MLP from the image to one value per step. */
class Baseline {
  readonly params: Params;
  /** The image layer, its weight stored transposed (see `timesTransposed`). */
  readonly hidden: { wT: tf.Variable; b: tf.Variable };
  readonly out: Dense;
  constructor(rng: Rng, inputs: number, steps: number, hidden = 200) {
    const p = this.params = new Params(rng);
    // He initialisation, as Params.dense draws it.
    this.hidden = {
      wT: p.normalTransposed("baseline.hidden.w", [inputs, hidden], Math.sqrt(2 / inputs)),
      b: p.zeros("baseline.hidden.b", [hidden]),
    };
    this.out = p.dense("baseline.out", hidden, steps, 0.1);
  }
  apply(x: tf.Tensor2D): tf.Tensor2D {
    const h = tf.relu(tf.add(timesTransposed(x, this.hidden.wT as tf.Tensor2D), this.hidden.b));
    return tf.add(tf.matMul(h, this.out.w), this.out.b);
  }
}

/** One training step's numbers. */
export interface StepStats {
  step: number;
  elbo: number;
  presentMean: number;
}

/** How a gradient step treats z_pres (see `AirTrainer.objective`). */
export interface EstimatorOptions {
  estimator: "reinforce" | "concrete";
  /** REINFORCE: subtract the learned baseline b_t(x) and NVIL's running centre c_t. */
  baseline: boolean;
  /** REINFORCE: divide by NVIL's running scale and update its statistics (training only). */
  normalise: boolean;
  /** Run progress ∈ [0, 1] (anneals the Concrete temperature); default 1. */
  progress?: number;
}

/** The spread of `draws` gradient estimates (see `AirTrainer.gradientVariance`). */
export interface GradientSpread {
  /** Σ_i Var[g_i] (unbiased, over draws). */
  variance: number;
  /** ‖mean g‖². */
  meanNorm2: number;
  /** variance / ‖mean g‖². */
  ratio: number;
  draws: number;
}

/** Trains `air` (and its baseline) in place; the pieces a notebook or the CLI drives. */
export class AirTrainer {
  readonly air: Air;
  readonly baseline: Baseline;
  readonly rng: Rng;
  readonly normalizers: SignalNormalizer[];
  readonly opt: HostAdam;
  readonly baselineOpt: HostAdam;
  /** The baseline's variable names (their updates use `baselineOpt`). */
  readonly #baselineNames: Set<string>;
  step = 0;

  constructor(readonly config: AirRunConfig) {
    validateAirRunConfig(config);
    this.rng = new Rng(config.seed);
    this.air = new Air(config.air, this.rng.child("init"));
    this.baseline = new Baseline(this.rng.child("baseline"), config.air.canvas ** 2, config.air.steps);
    this.normalizers = Array.from({ length: config.air.steps }, () => new SignalNormalizer(config.nvilAlpha));
    this.opt = new HostAdam(this.air.params.list(), config.lr);
    this.baselineOpt = new HostAdam(this.baseline.params.list(), config.baselineLr);
    this.#baselineNames = new Set(this.baseline.params.list().map((v) => v.name));
  }

  /**
   * One gradient step on images `x` [B, C²]; `progress` ∈ [0, 1] is how much of the run is done
   * (it anneals the Concrete temperature and, with `lrEnd`, the learning rate).
   */
  train(x: tf.Tensor2D, rng: Rng, progress: number): StepStats {
    const { grads, stats } = this.gradients(x, rng, progress);
    this.apply(grads, progress);
    tf.dispose(grads);
    return { step: this.step, elbo: stats.elbo, presentMean: stats.present };
  }

  /** AIR's and the baseline's variables by parameter name (what a checkpoint holds). */
  namedVariables(): Map<string, tf.Variable> {
    return new Map([...this.air.params.vars, ...this.baseline.params.vars]);
  }

  /** The variables a training step updates: AIR's, and the baseline's under REINFORCE. */
  trainedVariables(): tf.Variable[] {
    return [
      ...this.air.params.list(),
      ...(this.config.estimator === "reinforce" ? this.baseline.params.list() : []),
    ];
  }

  /**
   * The step's gradient estimate on `x`, times `scale` (a shard's share of a batch), by variable
   * name (the caller disposes it), and the step's stats.
   */
  gradients(
    x: tf.Tensor2D,
    rng: Rng,
    progress: number,
    scale = 1,
  ): { grads: Record<string, tf.Tensor>; stats: { elbo: number; present: number } } {
    const estimator = { estimator: this.config.estimator, baseline: true, normalise: true, progress };
    let stats = { elbo: NaN, present: NaN };
    const { grads, value } = tf.variableGrads(() => {
      const out = this.objective(x, rng, estimator, true);
      stats = out.stats;
      return scale === 1 ? out.loss : tf.mul(out.loss, scale) as tf.Scalar;
    }, this.trainedVariables());
    value.dispose();
    return { grads, stats };
  }

  /** Applies a gradient (tensors or host arrays, by variable name) at run progress `progress`. */
  apply(grads: Record<string, tf.Tensor | Float32Array>, progress: number): void {
    this.opt.lr = annealedLr(this.config, progress);
    this.opt.apply(grads);
    this.baselineOpt.apply(grads);
    this.step++;
  }

  /**
   * One step's update of part of the flat parameters (the {@link trainedVariables} laid end to
   * end): `g` is the gradient of elements [from, from + g.length) and `w` their weights, updated in
   * place; each variable keeps its optimiser (the baseline's has its own learning rate). The
   * variables themselves are left as they are (see {@link loadWeights}).
   */
  applyRange(g: Float32Array, from: number, w: Float32Array, progress: number): void {
    this.opt.lr = annealedLr(this.config, progress);
    this.opt.beginStep();
    this.baselineOpt.beginStep();
    let at = 0;
    const to = from + g.length;
    for (const v of this.trainedVariables()) {
      const lo = Math.max(from, at), hi = Math.min(to, at + v.size);
      if (lo < hi) {
        const opt = this.#baselineNames.has(v.name) ? this.baselineOpt : this.opt;
        opt.update(v.name, g.subarray(lo - from, hi - from), w.subarray(lo - from, hi - from), lo - at);
      }
      at += v.size;
    }
    this.step++;
  }

  /** Sets the trained variables from the flat parameters `flat` (laid out as in {@link applyRange}). */
  loadWeights(flat: Float32Array): void {
    const vars = this.trainedVariables(), views = flatViews(flat, vars);
    for (const v of vars) assignValues(v, views[v.name]);
  }

  /** Writes the trained variables into `flat`, end to end. */
  storeWeights(flat: Float32Array): void {
    const vars = this.trainedVariables(), views = flatViews(flat, vars);
    for (const v of vars) views[v.name].set(v.dataSync() as Float32Array);
  }

  /**
   * The surrogate loss whose gradient is the step's estimate of −∇ELBO (call inside a gradient
   * closure). Concrete: −ELBO of the relaxed pass. REINFORCE: −(ELBO + Σ_t Â_t log q(z_pres,t)) with
   * Â_t = ℓ_t − b_t(x) − c_t (`baseline`: the learned baseline and NVIL's running centre; else
   * Â_t = ℓ_t), divided by NVIL's running scale when `normalise` (which also updates the running
   * statistics); `withBaselineLoss` adds the baseline's regression loss.
   */
  objective(
    x: tf.Tensor2D,
    rng: Rng,
    opts: EstimatorOptions,
    withBaselineLoss = false,
  ): { loss: tf.Scalar; stats: { elbo: number; present: number } } {
    const c = this.config, N = c.air.steps, B = x.shape[0];
    const relaxed = opts.estimator === "concrete";
    const progress = opts.progress ?? 1;
    const pass = this.air.forward(
      x,
      relaxed
        ? { kind: "relaxed", rng, temperature: concreteTemperature(progress, c.tempStart, c.tempEnd) }
        : { kind: "sample", rng },
    );
    const cost = tf.add(pass.klLatents, pass.klPres) as tf.Tensor2D; // [B, N]
    const elbo = elboOf(pass, cost);
    const stats = {
      elbo: elbo.mean().dataSync()[0],
      present: pass.zPres.reduce((a, v) => a + v, 0) / B,
    };
    // The relaxation is differentiated through; the baseline is not used (nor trained).
    if (relaxed) return { loss: tf.neg(elbo.mean()) as tf.Scalar, stats };
    // ℓ_t = log p(x|z) − Σ_{t' ≥ t} cost_t' (host, constant for the surrogate).
    const costHost = cost.dataSync(), llHost = pass.logLik.dataSync();
    const signal = new Float32Array(B * N);
    for (let b = 0; b < B; b++) {
      let tail = 0;
      for (let t = N - 1; t >= 0; t--) {
        tail += costHost[b * N + t];
        signal[b * N + t] = llHost[b] - tail;
      }
    }
    const base = this.baseline.apply(x); // [B, N]
    const baseHost = base.dataSync();
    const advantage = new Float32Array(B * N);
    for (let t = 0; t < N; t++) {
      const res = new Float32Array(B), mask = new Float32Array(B);
      for (let b = 0; b < B; b++) {
        res[b] = signal[b * N + t] - (opts.baseline ? baseHost[b * N + t] : 0);
        mask[b] = pass.sampled[b * N + t];
      }
      const norm = this.normalizers[t];
      const a = opts.normalise
        ? norm.normalize(res, mask)
        : res.map((r, b) => (mask[b] ? r - (opts.baseline ? norm.mean : 0) : 0));
      for (let b = 0; b < B; b++) advantage[b * N + t] = a[b];
    }
    const surrogate = tf.sum(tf.mul(tf.tensor2d(advantage, [B, N]), pass.logQPres), 1);
    const loss = tf.neg(tf.add(elbo.mean(), surrogate.mean())) as tf.Scalar;
    if (!withBaselineLoss) return { loss, stats };
    const sampled = tf.tensor2d(pass.sampled, [B, N]);
    const baselineLoss = tf.mean(
      tf.sum(tf.mul(sampled, tf.square(tf.sub(base, tf.tensor2d(signal, [B, N])))), 1),
    );
    // Scale the baseline's loss down: its targets are in nats (hundreds); Adam is scale-free.
    return { loss: tf.add(loss, tf.mul(1e-3, baselineLoss)) as tf.Scalar, stats };
  }

  /**
   * Fits the NVIL baseline b(x) and the running centre and scale to the current model's learning
   * signal, leaving the model as it is: `steps` REINFORCE passes on batches from `batch()`, each
   * updating only the baseline (its own optimiser) and the statistics. Used to measure REINFORCE
   * on a model trained with the Concrete relaxation, whose baseline was never trained.
   */
  fitBaseline(batch: () => tf.Tensor2D, rng: Rng, steps: number): number[] {
    requireInt({ steps }, "steps", 1);
    const vars = this.baseline.params.list(), losses: number[] = [];
    const options: EstimatorOptions = { estimator: "reinforce", baseline: true, normalise: true };
    for (let k = 0; k < steps; k++) {
      const x = batch();
      const { grads, value } = tf.variableGrads(() => this.objective(x, rng, options, true).loss, vars);
      this.baselineOpt.apply(grads);
      losses.push(value.dataSync()[0]);
      tf.dispose([value, x, ...Object.values(grads)]);
    }
    return losses;
  }

  /**
   * The spread of an estimator's gradient (App. A): `draws` estimates of ∇ELBO on the same images
   * with fresh noise, for the parameters that only z_pres depends on (the predictor's z_pres logit
   * row: `predict.out` column 0, weights and bias). Returns the total variance Σ_i Var[g_i], the squared
   * norm of the mean gradient, and their ratio (lower is better: noise per unit of signal).
   */
  gradientVariance(x: tf.Tensor2D, rng: Rng, opts: EstimatorOptions, draws = 16): GradientSpread {
    if (!Number.isInteger(draws) || draws < 2) {
      throw new RangeError(`draws must be an integer ≥ 2, got ${draws}`);
    }
    const { w, b } = this.air.predict.out; // column 0 is the z_pres logit
    const size = w.shape[0] + 1; // the logit's weights and its bias
    const sum = new Float64Array(size), sum2 = new Float64Array(size);
    for (let d = 0; d < draws; d++) {
      const { grads, value } = tf.variableGrads(() => this.objective(x, rng, opts).loss, [w, b]);
      const joined = tf.tidy(() =>
        tf.concat([grads[w.name].slice([0, 0], [-1, 1]).reshape([-1]), grads[b.name].slice([0], [1])])
      );
      const flat = joined.dataSync();
      tf.dispose([joined, value, ...Object.values(grads)]);
      for (let i = 0; i < flat.length; i++) {
        sum[i] += flat[i];
        sum2[i] += flat[i] * flat[i];
      }
    }
    let variance = 0, meanNorm2 = 0;
    for (let i = 0; i < size; i++) {
      const m = sum[i] / draws;
      meanNorm2 += m * m;
      variance += Math.max(0, sum2[i] / draws - m * m) * draws / (draws - 1);
    }
    return { variance, meanNorm2, ratio: variance / Math.max(meanNorm2, 1e-30), draws };
  }

  dispose(): void {
    this.air.dispose();
    this.baseline.params.dispose();
  }
}

/** Saves a trainer's model (AIR and its NVIL baseline) and run config to `path` (see `checkpoint.ts`). */
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
    // A field added since the file was written (e.g. `embed`) takes its default; then validated.
    trainer = new AirTrainer({ ...defaultAirRunConfig(), ...saved, air: defaultAirConfig(saved.air) });
    restoreVariables(trainer.namedVariables(), ckpt);
    return trainer;
  } catch (e) {
    trainer?.dispose();
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

/** The estimators App. A compares, as `gradientVariance` options. */
export const ESTIMATOR_VARIANTS: { name: string; options: EstimatorOptions }[] = [
  { name: "REINFORCE, no baseline", options: { estimator: "reinforce", baseline: false, normalise: false } },
  {
    name: "REINFORCE − NVIL baseline b(x) and centre c",
    options: { estimator: "reinforce", baseline: true, normalise: false },
  },
  {
    name: "Concrete relaxation (τ at the run's end)",
    options: { estimator: "concrete", baseline: false, normalise: false },
  },
];

/**
 * The spread of each estimator's gradient on the same images, with common random numbers (each
 * variant gets the same noise stream from `seed`).
 */
export function compareEstimators(
  trainer: AirTrainer,
  x: tf.Tensor2D,
  seed: number,
  draws = 16,
): { name: string; spread: GradientSpread }[] {
  return ESTIMATOR_VARIANTS.map(({ name, options }) => ({
    name,
    spread: trainer.gradientVariance(x, new Rng(seed), options, draws),
  }));
}

/** The CLI's JSON result. */
export interface AirResult {
  count_acc: number;
  count_confusion: number[][];
  elbo: number;
  recon_mse: number;
  steps: number;
  train_s: number;
  images_per_s: number;
  count_acc_curve: [number, number][];
  config: AirRunConfig;
}

/** Progress and curve callbacks. */
export interface AirRunHooks {
  onLog?: (line: string) => void;
  onEval?: (point: { seconds: number; step: number; countAcc: number; elbo: number }) => void;
}

/** Trains under the config's budget and evaluates on held-out scenes (test-split digits). */
export async function runAirMnist(
  config: AirRunConfig,
  mnist: Mnist,
  hooks: AirRunHooks = {},
): Promise<{ result: AirResult; trainer: AirTrainer; test: Scenes }> {
  validateAirRunConfig(config);
  const log = hooks.onLog ?? (() => {});
  const trainer = new AirTrainer(config);
  const dataRng = trainer.rng.child("data"), noiseRng = trainer.rng.child("noise");
  const test = sampleMultiMnist(
    trainer.rng.child("test"),
    mnist.test,
    config.nTest,
    sceneSpec(config, config.testCounts),
  );
  const trainSpec = sceneSpec(config, config.trainCounts);
  const px = config.air.canvas ** 2;
  const curve: [number, number][] = [];
  let lastElbo = NaN;
  const evaluate = (seconds: number) => {
    const ev = evaluateAir(trainer.air, test);
    curve.push([+seconds.toFixed(2), ev.countAcc]);
    hooks.onEval?.({ seconds, step: trainer.step, countAcc: ev.countAcc, elbo: ev.elbo });
    log(
      `[air] ${seconds.toFixed(0)} s, step ${trainer.step}: held-out count acc ${ev.countAcc.toFixed(3)}, ` +
        `ELBO ${ev.elbo.toFixed(1)}, train ELBO ${lastElbo.toFixed(1)}`,
    );
    return ev;
  };
  const parallel = config.threads > 1 ? await DataParallelAir.start(trainer) : null;
  if (parallel) log(`[air] data-parallel over ${config.threads} threads`);
  let trainS: number;
  try {
    trainS = await trainWithinBudget(config, {
      steps: () => trainer.step,
      evaluate,
      step: (progress) => {
        // progress anneals the Concrete temperature (and, with lrEnd, the learning rate)
        const { images } = sampleMultiMnist(dataRng, mnist.train, config.batchSize, trainSpec);
        let stats: StepStats;
        if (parallel) stats = parallel.train(images, noiseRng, progress);
        else {
          const x = tf.tensor2d(images, [config.batchSize, px]);
          stats = trainer.train(x, noiseRng, progress);
          x.dispose();
        }
        lastElbo = stats.elbo;
        if (!Number.isFinite(stats.elbo)) {
          throw new Error(`training diverged at step ${trainer.step} (ELBO ${stats.elbo})`);
        }
      },
    });
  } finally {
    parallel?.close();
  }
  const final = evaluate(trainS);
  return {
    result: {
      count_acc: final.countAcc,
      count_confusion: final.confusion,
      elbo: final.elbo,
      recon_mse: final.reconMse,
      steps: trainer.step,
      train_s: +trainS.toFixed(2),
      images_per_s: +(trainer.step * config.batchSize / Math.max(trainS, 1e-9)).toFixed(1),
      count_acc_curve: curve,
      config,
    },
    trainer,
    test,
  };
}
