/**
 * Training the GQN (Algorithm S1) on fresh ring-camera scenes, and scoring it on held-out queries
 * beside the two baselines. The CLI (`scripts/gqn.ts`) and notebook 03 drive it.
 *
 * Each step draws a batch (M ~ U{minContext..trainMaxContext} context views per scene, one query),
 * maximises the ELBO of Algorithm S2 with Adam, and anneals as Table S1 does, scaled from its
 * 2×10⁶ steps to the run's length (progress p ∈ [0, 1] by steps or by time):
 *
 *     μ_p = max(μ_f + (μ_i − μ_f)(1 − p / a_μ), μ_f)      a_μ = 0.8   (Table S1: n = 1.6×10⁶ of 2×10⁶)
 *     σ_p = max(σ_f + (σ_i − σ_f)(1 − p / a_σ), σ_f)      a_σ = 0.1   (Table S1: n = 2×10⁵ of 2×10⁶)
 *
 * σ_i is 0.5 rather than Table S1's 2.0, and σ_f 0.2 rather than its 0.7 (see `sigmaStart`).
 *
 * Held-out scoring: `query_mse` is the per-pixel-channel MSE of one generated image per query
 * (Algorithm S3: z from the prior, the mean image η^g(u_L)) against the true query view, averaged
 * over an equal number of scenes for each M; the nearest-view and mean-image baselines are scored
 * on the same queries.
 *
 * @example
 * ```ts
 * import { defaultGqnRunConfig, runGqn } from "./train.ts";
 * const { result } = await runGqn(defaultGqnRunConfig({ budgetS: 60 }), { onLog: console.error });
 * result.query_mse / result.baseline_nearest_mse;
 * ```
 * @module
 */
import { liveTensors, tf, toArray } from "../core/tf.ts";
import { Rng } from "../core/random.ts";
import { HostAdam } from "../nn/adam.ts";
import { StepTrace, trainWithinBudget } from "../nn/loop.ts";
import { probeTraining, type TrainingProbe } from "../nn/probe.ts";
import { defaultGqnConfig, Gqn, type GqnConfig, type GqnInputs, validateGqnConfig } from "./model.ts";
import {
  meanTrainingImage,
  nearestViewPrediction,
  type QueryBatch,
  queryMse,
  sampleQueryBatch,
  sampleTestSet,
} from "../scenes/views.ts";
import { requireBytes, requireInt, requireKnownKeys, requirePositive } from "../core/validate.ts";
import {
  colourHitRate,
  pooledObjectMse,
  queryGeometry,
  type VarianceByKind,
  varianceBySeen,
} from "./scores.ts";

/** One run: data, model, optimiser schedule, σ schedule and budget. */
export interface GqnRunConfig {
  seed: number;
  model: GqnConfig;
  /** B: scenes per step (Table S1: 36; 8 learns faster in a 10-minute budget). */
  batchSize: number;
  /** Fewest and most context views per held-out scene (and the fewest per training scene). */
  minContext: number;
  maxContext: number;
  /**
   * Most context views per training scene; 0 (the default): maxContext, as many as the held-out scenes
   * get. Training on more is a knob of its own (`docs/results/gqn.md`).
   */
  trainMaxContext: number;
  /** μ_i, μ_f: learning rate at the start and after annealing. */
  lrStart: number;
  lrEnd: number;
  /** Fraction of the run over which the learning rate anneals (a_μ). */
  lrAnneal: number;
  /**
   * σ_i, σ_f: pixel standard deviation at the start and after annealing. Table S1 ends at 0.7; with the
   * epipolar read 0.2 (the reconstruction then pays for the objects' detail). Table S1 starts at 2.0;
   * with the copy gate the latents can die in the first steps and, from 2.0, stay dead on some seeds:
   * from 0.5 they came back on every seed tried (`docs/results/gqn.md`).
   */
  sigmaStart: number;
  sigmaEnd: number;
  /** Fraction of the run over which σ anneals (a_σ). */
  sigmaAnneal: number;
  /** Wall-clock training budget in seconds (evaluation time excluded). */
  budgetS: number;
  /** Stop after this many steps (0: no limit); a step-limited run is reproducible. */
  maxSteps: number;
  /** Held-out scenes per context count M (so nTest = perM × (maxContext − minContext + 1)). */
  testPerM: number;
  /** Seconds of training between held-out evaluations (0: only at the end). */
  evalEveryS: number;
}

export function defaultGqnRunConfig(overrides: Partial<GqnRunConfig> = {}): GqnRunConfig {
  return {
    seed: 0,
    model: defaultGqnConfig(),
    batchSize: 8,
    minContext: 1,
    maxContext: 5,
    trainMaxContext: 0,
    lrStart: 2e-3,
    lrEnd: 2e-4,
    lrAnneal: 0.8,
    sigmaStart: 0.5,
    sigmaEnd: 0.2,
    sigmaAnneal: 0.1,
    budgetS: 600,
    maxSteps: 0,
    testPerM: 100,
    evalEveryS: 60,
    ...overrides,
  };
}

/** The most context views a training scene gets: `trainMaxContext`, or `maxContext` where that is 0. */
export function trainingMaxContext(c: GqnRunConfig): number {
  return c.trainMaxContext || c.maxContext;
}

export function validateGqnRunConfig(c: GqnRunConfig): void {
  requireKnownKeys(c, Object.keys(defaultGqnRunConfig()), "GQN run config key");
  if (!Number.isInteger(c.seed)) throw new RangeError(`seed must be an integer, got ${c.seed}`);
  validateGqnConfig(c.model);
  requireInt(c, "batchSize", 1, 4096);
  requireInt(c, "minContext", 1, 64);
  requireInt(c, "maxContext", c.minContext, 64);
  if (c.trainMaxContext !== 0) requireInt(c, "trainMaxContext", c.minContext, 64);
  requirePositive(c, "lrStart");
  requirePositive(c, "lrEnd");
  requirePositive(c, "sigmaStart");
  requirePositive(c, "sigmaEnd");
  for (const k of ["lrAnneal", "sigmaAnneal"] as const) {
    if (!(c[k] > 0 && c[k] <= 1)) throw new RangeError(`${k} must be in (0, 1], got ${c[k]}`);
  }
  requirePositive(c, "budgetS");
  requireInt(c, "maxSteps", 0);
  requireInt(c, "testPerM", 1, 100000);
  // Per scene, in floats: each layer's two cores (gates of 4·hidden each, inputs, prior and posterior)
  // at G×G = (S/4)² and its canvas update at S×S; the tower's maps of every context view at (S/2)².
  // × 4 for the backward pass, × 4 bytes (calibrated: at --size 128, batch 24 runs and 32 aborts).
  const m = c.model, S2 = m.size ** 2, G2 = (m.size / 4) ** 2;
  const layer = G2 * (12 * m.hidden + 4 * m.zChannels + 2 * m.readChannels + m.rChannels) +
    S2 * m.canvasChannels;
  const tower = (S2 / 4) * (m.towerChannels[0] + m.towerChannels[1] + m.rChannels);
  const perScene = 16 * (m.layers * layer + Math.max(c.maxContext, trainingMaxContext(c)) * tower);
  requireBytes(c, "batchSize", c.batchSize * perScene, "one batch's views, activations and gradients");
  requireBytes(
    c,
    "testPerM",
    c.testPerM * c.maxContext * (c.maxContext + 1) * S2 * 3 * 4,
    "the held-out views",
  );
  requirePositive(c, "evalEveryS", true);
}

/** Table S1's linear annealing, by run progress p ∈ [0, 1] over the first `span` of the run. */
export function anneal(start: number, end: number, progress: number, span: number): number {
  const t = Math.min(1, Math.max(0, progress) / span);
  return end + (start - end) * (1 - t);
}

/** Frees the tensors of a batch built by `model.tensors`. */
export function disposeInputs(inputs: GqnInputs): void {
  tf.dispose(Object.values(inputs).filter((v): v is tf.Tensor => v instanceof tf.Tensor));
}

/** Tensors of a batch, built and disposed around `fn`. */
export function withInputs<T>(model: Gqn, batch: QueryBatch, fn: (inputs: GqnInputs) => T): T {
  const inputs = model.tensors(batch);
  const release = () => disposeInputs(inputs);
  let out: T;
  try {
    out = fn(inputs);
  } catch (e) {
    try {
      release();
    } catch { /* the first error is the one to report, not the cleanup's */ }
    throw e;
  }
  release();
  return out;
}

/**
 * Generated query images [B, S, S, 3] (Algorithm S3), in chunks of `chunk` scenes. Read back
 * asynchronously, as every backend allows (webgpu has no synchronous read).
 */
export async function predictQueries(
  model: Gqn,
  batch: QueryBatch,
  rng: Rng,
  chunk = 100,
): Promise<Float32Array> {
  const px = batch.size * batch.size * 3, out = new Float32Array(batch.b * px);
  for (let b0 = 0; b0 < batch.b; b0 += chunk) {
    const part = sliceBatch(batch, b0, Math.min(batch.b, b0 + chunk));
    const img = withInputs(model, part, (inp) => tf.tidy(() => model.generate(inp, rng)));
    out.set((await toArray(img)).data, b0 * px);
  }
  return out;
}

/** Scenes b0..b1−1 of a batch (views share memory with the original). */
export function sliceBatch(batch: QueryBatch, b0: number, b1: number): QueryBatch {
  const px = batch.size * batch.size * 3, m = batch.m, V = batch.contextV.length / (batch.b * m);
  return {
    b: b1 - b0,
    m,
    size: batch.size,
    context: batch.context.subarray(b0 * m * px, b1 * m * px),
    contextV: batch.contextV.subarray(b0 * m * V, b1 * m * V),
    query: batch.query.subarray(b0 * px, b1 * px),
    queryV: batch.queryV.subarray(b0 * V, b1 * V),
    scenes: batch.scenes.slice(b0, b1),
    cameras: batch.cameras.slice(b0, b1),
  };
}

/**
 * Mean per-pixel variance across `samples` generated images of each query (Algorithm S3 run
 * repeatedly): how uncertain the model is about the unseen view.
 */
export async function sampleVariance(
  model: Gqn,
  batch: QueryBatch,
  samples: number,
  rng: Rng,
): Promise<number> {
  if (!(Number.isInteger(samples) && samples >= 2)) {
    throw new RangeError(`samples must be an integer ≥ 2, got ${samples}`);
  }
  const n = batch.query.length, sum = new Float64Array(n), sq = new Float64Array(n);
  for (let s = 0; s < samples; s++) {
    const img = await predictQueries(model, batch, rng);
    for (let i = 0; i < n; i++) {
      sum[i] += img[i];
      sq[i] += img[i] * img[i];
    }
  }
  let v = 0;
  for (let i = 0; i < n; i++) v += Math.max(0, sq[i] / samples - (sum[i] / samples) ** 2);
  return (v / n) * samples / (samples - 1);
}

/** Held-out figures at one point of training. */
export interface GqnEval {
  queryMse: number;
  /** Query MSE per context count, [[M, mse], …]. */
  byM: [number, number][];
  /** Held-out ELBO and KL per scene, at σ = σ_f. */
  elbo: number;
  kl: number;
}

/** Scores the model on a held-out set (one group per M). */
export async function evaluateGqn(model: Gqn, test: QueryBatch[], sigma: number, rng: Rng): Promise<GqnEval> {
  let se = 0, n = 0, elbo = 0, kl = 0, scenes = 0;
  const byM: [number, number][] = [];
  for (const group of test) {
    const pred = await predictQueries(model, group, rng);
    const mse = queryMse(group, pred);
    byM.push([group.m, mse]);
    se += mse * group.query.length;
    n += group.query.length;
    for (let b0 = 0; b0 < group.b; b0 += 100) {
      const part = sliceBatch(group, b0, Math.min(group.b, b0 + 100));
      const sums = withInputs(model, part, (inp) =>
        tf.tidy(() => {
          const pass = model.elbo(inp, sigma, rng);
          return tf.stack([tf.sum(pass.elbo), tf.sum(pass.kl)]);
        }));
      const [e, k] = (await toArray(sums)).data;
      elbo += e;
      kl += k;
      scenes += part.b;
    }
  }
  return { queryMse: se / n, byM, elbo: elbo / scenes, kl: kl / scenes };
}

/** The two baselines on a held-out set: nearest context view, and the mean training image. */
export function baselines(
  test: QueryBatch[],
  meanImage: Float32Array,
): { nearest: number; mean: number; nearestByM: [number, number][] } {
  let sn = 0, sm = 0, n = 0;
  const nearestByM: [number, number][] = [];
  for (const group of test) {
    const near = queryMse(group, nearestViewPrediction(group));
    nearestByM.push([group.m, near]);
    sn += near * group.query.length;
    sm += queryMse(group, meanImage) * group.query.length;
    n += group.query.length;
  }
  return { nearest: sn / n, mean: sm / n, nearestByM };
}

/** The scores that look at the objects (`scores.ts`), for the GQN and the baselines. */
export interface ObjectScores {
  object_mse: number;
  baseline_nearest_object_mse: number;
  baseline_mean_object_mse: number;
  colour_hit_rate: number;
  baseline_nearest_colour_hit_rate: number;
  /** Per-pixel sample variance on query pixels no context view saw over that on pixels one did, at M = 1. */
  variance_unseen_vs_seen: number;
  variance_unseen: number;
  variance_seen: number;
  /** The share of non-sky query pixels no context view saw, at M = 1. */
  unseen_share: number;
  /** The variances split by kind of pixel (floor or object), and the object share of each set. */
  variance_by_kind: VarianceByKind | null;
}

/**
 * Object MSE and colour hit rate over every held-out group, beside the nearest-view and mean-image
 * baselines; the sample variance on unseen against seen pixels from `samples` draws of the M = 1
 * group (NaN when the test set has no M = 1 group).
 */
export async function scoreObjects(
  model: Gqn,
  test: QueryBatch[],
  meanImage: Float32Array,
  rng: Rng,
  samples = 8,
): Promise<ObjectScores> {
  const groups = test.map((batch) => ({ batch, geometry: queryGeometry(batch) }));
  const preds: Float32Array[] = [];
  for (const { batch } of groups) preds.push(await predictQueries(model, batch, rng));
  const near = groups.map(({ batch }) => nearestViewPrediction(batch));
  const pooled = (p: Float32Array[]) => pooledObjectMse(groups.map((g, i) => ({ ...g, prediction: p[i] })));
  const hitRate = (p: Float32Array[]) => {
    const rates = groups.map((g, i) => colourHitRate(g.batch, p[i], g.geometry));
    return rates.reduce((a, r) => a + r, 0) / Math.max(1, rates.length);
  };
  const one = groups.find((g) => g.batch.m === 1);
  const draws: Float32Array[] = [];
  for (let s = 0; one && s < samples; s++) draws.push(await predictQueries(model, one.batch, rng));
  const variance = one
    ? varianceBySeen(one.batch, draws, one.geometry)
    : { unseen: NaN, seen: NaN, ratio: NaN, unseenShare: NaN, byKind: null };
  return {
    object_mse: pooled(preds),
    baseline_nearest_object_mse: pooled(near),
    baseline_mean_object_mse: pooled(groups.map(() => meanImage)),
    colour_hit_rate: hitRate(preds),
    baseline_nearest_colour_hit_rate: hitRate(near),
    variance_unseen_vs_seen: variance.ratio,
    variance_unseen: variance.unseen,
    variance_seen: variance.seen,
    unseen_share: variance.unseenShare,
    variance_by_kind: variance.byKind,
  };
}

/** One step's figures. */
export interface GqnStepStats {
  step: number;
  /** −ELBO per scene, batch mean. */
  loss: number;
  kl: number;
  sigma: number;
  lr: number;
}

/** Trains a GQN in place, one batch at a time. */
export class GqnTrainer {
  readonly model: Gqn;
  readonly opt: HostAdam;
  readonly rng: Rng;
  step = 0;

  constructor(readonly config: GqnRunConfig) {
    validateGqnRunConfig(config);
    this.rng = new Rng(config.seed);
    this.model = new Gqn(config.model, this.rng.child("init"));
    this.opt = new HostAdam(this.model.params.list(), config.lrStart);
  }

  /** σ and μ at run progress p. */
  schedule(progress: number): { sigma: number; lr: number } {
    const c = this.config;
    return {
      sigma: anneal(c.sigmaStart, c.sigmaEnd, progress, c.sigmaAnneal),
      lr: anneal(c.lrStart, c.lrEnd, progress, c.lrAnneal),
    };
  }

  /**
   * One Adam step on −ELBO (Algorithm S1, lines 18–27). The loss and KL are read back after the
   * update is queued, asynchronously (the only way on webgpu; on wasm it costs nothing).
   */
  async train(batch: QueryBatch, progress: number, noise: Rng): Promise<GqnStepStats> {
    const { sigma, lr } = this.schedule(progress);
    this.opt.lr = lr;
    const stats = withInputs(this.model, batch, (inputs) => {
      let kl: tf.Scalar | undefined;
      const { grads, value } = tf.variableGrads(() => {
        const pass = this.model.elbo(inputs, sigma, noise);
        kl = tf.keep(tf.mean(pass.kl)) as tf.Scalar;
        return tf.neg(tf.mean(pass.elbo)) as tf.Scalar;
      }, this.model.params.list());
      this.opt.apply(grads);
      tf.dispose(Object.values(grads));
      const both = tf.stack([value, kl!]);
      tf.dispose([value, kl!]);
      return both;
    });
    const [loss, kl] = (await toArray(stats)).data;
    this.step++;
    return { step: this.step, loss, kl, sigma, lr };
  }

  dispose(): void {
    this.model.dispose();
    this.opt.dispose();
  }
}

/** The CLI's JSON result. */
export interface GqnResult extends ObjectScores {
  query_mse: number;
  baseline_nearest_mse: number;
  baseline_mean_mse: number;
  /** query_mse / baseline_nearest_mse. */
  ratio_to_nearest: number;
  /** [[M, query MSE, nearest-view MSE], …] */
  by_m: [number, number, number][];
  elbo: number;
  kl: number;
  steps: number;
  train_s: number;
  images_per_s: number;
  /** [[seconds, query MSE], …] at each evaluation. */
  curve: [number, number][];
  /** [[step, −ELBO, KL, σ], …] at step 1, every 10 steps and the last. */
  trace: [number, number, number, number][];
  /**
   * Live tensors after the first training step (−1 if none was taken) and at the end, after scoring:
   * equal if nothing leaks.
   */
  live_tensors: { after_first_step: number; at_end: number };
  config: GqnRunConfig;
}

export interface GqnRunHooks {
  onLog?: (line: string) => void;
  onEval?: (point: { seconds: number; step: number } & GqnEval) => void;
  onStep?: (stats: GqnStepStats) => void;
}

/** Trains under the config's budget and scores the held-out queries and the baselines. */
export async function runGqn(
  config: GqnRunConfig,
  hooks: GqnRunHooks = {},
): Promise<{ result: GqnResult; trainer: GqnTrainer; test: QueryBatch[] }> {
  validateGqnRunConfig(config);
  const log = hooks.onLog ?? (() => {});
  const trainer = new GqnTrainer(config);
  const view = { size: config.model.size, minContext: config.minContext, maxContext: config.maxContext };
  const test = sampleTestSet(trainer.rng.child("test"), config.testPerM, view);
  const meanImage = meanTrainingImage(trainer.rng.child("mean"), 2000, { size: config.model.size });
  const base = baselines(test, meanImage);
  log(
    `[gqn] held-out: ${config.testPerM * test.length} queries; nearest-view MSE ${
      base.nearest.toFixed(4)
    }, ` +
      `mean-image MSE ${base.mean.toFixed(4)}`,
  );
  const dataRng = trainer.rng.child("data"), noiseRng = trainer.rng.child("noise");
  const curve: [number, number][] = [];
  const trace = new StepTrace<[number, number, number, number]>(10); // step 1, every 10th, the last
  let last: GqnStepStats | null = null, tensorsAfterFirst = -1;
  const evaluate = async (seconds: number) => {
    const ev = await evaluateGqn(trainer.model, test, config.sigmaEnd, new Rng(`${config.seed}/eval`));
    curve.push([+seconds.toFixed(2), ev.queryMse]);
    hooks.onEval?.({ seconds, step: trainer.step, ...ev });
    const train = last
      ? `; train −ELBO ${last.loss.toFixed(1)}, KL ${last.kl.toFixed(1)}, σ ${last.sigma.toFixed(2)}`
      : "";
    log(
      `[gqn] ${seconds.toFixed(0)} s, step ${trainer.step}: query MSE ${ev.queryMse.toFixed(4)} ` +
        `(${(ev.queryMse / base.nearest).toFixed(2)}× nearest view), held-out ELBO ${
          ev.elbo.toFixed(1)
        }${train}`,
    );
    return ev;
  };
  const trainS = await trainWithinBudget(config, {
    steps: () => trainer.step,
    evaluate,
    step: async (progress) => {
      const batch = sampleQueryBatch(dataRng, {
        ...view,
        maxContext: trainingMaxContext(config),
        batch: config.batchSize,
      });
      const stats = last = await trainer.train(batch, progress, noiseRng);
      if (!Number.isFinite(stats.loss)) {
        throw new Error(`training diverged at step ${trainer.step} (loss ${stats.loss})`);
      }
      trace.offer([trainer.step, stats.loss, stats.kl, stats.sigma]);
      if (trainer.step === 1) tensorsAfterFirst = liveTensors(); // the optimiser's state exists from here on
      hooks.onStep?.(stats);
    },
  });
  const final = await evaluate(trainS);
  const objects = await scoreObjects(trainer.model, test, meanImage, new Rng(`${config.seed}/objects`));
  log(
    `[gqn] object MSE ${objects.object_mse.toFixed(4)} (nearest view ${
      objects.baseline_nearest_object_mse.toFixed(4)
    }), colour hit rate ${objects.colour_hit_rate.toFixed(3)}, sample variance unseen / seen ${
      objects.variance_unseen_vs_seen.toFixed(2)
    } (${objects.variance_unseen.toExponential(2)} / ${objects.variance_seen.toExponential(2)})`,
  );
  // A ratio of two vanishing variances says nothing: the latents have gone unused (the KL near 0).
  // 1e-5 is a standard deviation of 0.003, under one 8-bit grey level (1/255): samples no eye can tell apart.
  if (objects.variance_unseen < 1e-5) {
    log(
      `[gqn] warning: the samples barely differ (variance ${
        objects.variance_unseen.toExponential(1)
      } even where no view looked); the latents are unused, so the variance ratio means little`,
    );
  }
  return {
    result: {
      query_mse: final.queryMse,
      baseline_nearest_mse: base.nearest,
      baseline_mean_mse: base.mean,
      ratio_to_nearest: final.queryMse / base.nearest,
      by_m: final.byM.map(([m, mse], i) => [m, mse, base.nearestByM[i][1]]),
      elbo: final.elbo,
      kl: final.kl,
      steps: trainer.step,
      train_s: +trainS.toFixed(2),
      images_per_s: +(trainer.step * config.batchSize / Math.max(trainS, 1e-9)).toFixed(1),
      ...objects,
      curve,
      trace: trace.rows,
      live_tensors: { after_first_step: tensorsAfterFirst, at_end: liveTensors() },
      config,
    },
    trainer,
    test,
  };
}

/**
 * `steps` training steps of `config` from its seed (M fixed at maxContext, σ and lr at mid-run) on
 * the active backend, read back asynchronously (`nn/probe.ts`): the webgpu-vs-wasm test and
 * `bench:backends` compare these. figures: [−ELBO, KL] per step.
 */
export async function probeGqn(config: GqnRunConfig, steps: number): Promise<TrainingProbe> {
  const trainer = new GqnTrainer(config);
  try {
    const data = new Rng(`${config.seed}/probe/data`);
    const view = { size: config.model.size, m: config.maxContext, batch: config.batchSize };
    const batches = Array.from({ length: Math.max(0, steps) }, () => sampleQueryBatch(data, view));
    const progress = 0.5, { sigma } = trainer.schedule(progress), noise = new Rng("probe/noise");
    const firstInputs = batches.length ? trainer.model.tensors(batches[0]) : undefined;
    try {
      return await probeTraining({
        vars: trainer.model.params.list(),
        firstLoss: () =>
          tf.neg(tf.mean(trainer.model.elbo(firstInputs!, sigma, new Rng("probe/noise")).elbo)) as tf.Scalar,
        step: async (s) => {
          const st = await trainer.train(batches[s], progress, noise);
          return [st.loss, st.kl];
        },
        steps,
        batch: config.batchSize,
      });
    } finally {
      if (firstInputs) disposeInputs(firstInputs);
    }
  } finally {
    trainer.dispose();
  }
}
