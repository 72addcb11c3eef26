/**
 * Training GENESIS (`model.ts`) with GECO on freshly drawn scenes, and scoring its masks on
 * held-out scenes with fg-ARI, SC and mSC (`metrics/segmentation.ts`). The CLI (`scripts/genesis.ts`) and
 * notebook 04 drive it.
 *
 * Each step draws a new batch (sprites or coloured 3D primitives), computes
 *
 *     err = −log p(x | z) (Eq. 3, nats per image),   KL = Σ_k KL(q_k ‖ p_k),   loss = err + β·KL
 *
 * takes an Adam step, then updates GECO's β from err (goal = `gecoGoal` nats per pixel channel).
 *
 * @example
 * ```ts
 * import { defaultGenesisRunConfig, runGenesis } from "./train.ts";
 * const { result } = await runGenesis(defaultGenesisRunConfig({ budgetS: 60 }), { onLog: console.error });
 * result.fg_ari; // held-out fg-ARI
 * ```
 * @module
 */
import { tf, toArray } from "../core/tf.ts";
import { Rng } from "../core/random.ts";
import { HostAdam } from "../nn/adam.ts";
import { StepTrace, trainWithinBudget } from "../nn/loop.ts";
import { probeTraining, type TrainingProbe } from "../nn/probe.ts";
import { Geco } from "./pieces.ts";
import { defaultGenesisConfig, Genesis, type GenesisConfig, validateGenesisConfig } from "./model.ts";
import { sampleSprites, type SegmentationSet } from "../scenes/sprites.ts";
import { sampleColouredPrimitives } from "../scenes/scenes3d.ts";
import { batchMaskScores, type SegmentationScores } from "../metrics/segmentation.ts";
import { requireBytes, requireInt, requirePositive } from "../core/validate.ts";

export type GenesisDataset = "sprites" | "prims";

/** One run: the data, the model, the optimiser, GECO and the budget. */
export interface GenesisRunConfig {
  seed: number;
  dataset: GenesisDataset;
  model: GenesisConfig;
  batchSize: number;
  lr: number;
  /** GECO's reconstruction goal, in nats per pixel channel of −log p(x | z). */
  gecoGoal: number;
  /** Wall-clock training budget in seconds (evaluation time excluded). */
  budgetS: number;
  /** Stop after this many steps (0: no limit); a step-limited run is reproducible. */
  maxSteps: number;
  /** Held-out scenes scored at the end (and during training). */
  nTest: number;
  /** Seconds of training between held-out evaluations (0: only at the end). */
  evalEveryS: number;
}

/** Sprites: 5 components (1–4 sprites + background); primitives: 4 (1–3 + background). */
export function defaultGenesisRunConfig(overrides: Partial<GenesisRunConfig> = {}): GenesisRunConfig {
  const dataset = overrides.dataset ?? "sprites";
  return {
    seed: 0,
    dataset,
    model: defaultGenesisConfig({ slots: dataset === "prims" ? 4 : 5 }),
    batchSize: 32,
    lr: 1e-3,
    gecoGoal: -1.3,
    budgetS: 900,
    maxSteps: 0,
    nTest: 320,
    evalEveryS: 60,
    ...overrides,
  };
}

export function validateGenesisRunConfig(c: GenesisRunConfig): void {
  if (c.dataset !== "sprites" && c.dataset !== "prims") {
    throw new RangeError(`dataset must be "sprites" or "prims", got ${JSON.stringify(c.dataset)}`);
  }
  if (!Number.isInteger(c.seed)) throw new RangeError(`seed must be an integer, got ${c.seed}`);
  validateGenesisConfig(c.model);
  requireInt(c, "batchSize", 1, 4096);
  requirePositive(c, "lr");
  if (!Number.isFinite(c.gecoGoal)) {
    throw new RangeError(`gecoGoal must be a finite number, got ${c.gecoGoal}`);
  }
  requirePositive(c, "budgetS");
  requireInt(c, "maxSteps", 0);
  requireInt(c, "nTest", 1, 100000);
  const m = c.model, P = m.size ** 2;
  // Bytes per image: input, K components and masks, the pixel network's maps; × 3 for the backward
  // pass, × 1.8 for what this leaves out (calibrated: at --size 128, batch 40 runs and 48 aborts).
  const perFloat = 4 * 3 * 1.8;
  const perImage = P * perFloat *
    (3 + m.slots * (3 + 2 + m.pixelChannels / 4) + 2 * m.pixelChannels + m.embedDim);
  requireBytes(c, "batchSize", c.batchSize * perImage, "one batch's activations and gradients");
  requireBytes(
    c,
    "nTest",
    c.nTest * P * 4 * (3 + 1 + 2 * m.slots + 3 * m.slots),
    "the held-out scenes and their decompositions",
  );
  requirePositive(c, "evalEveryS", true);
}

/** `n` scenes of the run's dataset at the model's image size. */
export function sampleSegmentationSet(c: GenesisRunConfig, rng: Rng, n: number): SegmentationSet {
  const size = c.model.size;
  return c.dataset === "sprites"
    ? sampleSprites(rng, n, { size })
    : sampleColouredPrimitives(rng, n, { size });
}

/** Soft masks π [n, K, P] and reconstructions Σ_k π_k μ_k [n, P, 3] of `set` (guide means, no noise). */
export async function decompose(
  model: Genesis,
  set: SegmentationSet,
  batchSize = 64,
): Promise<{ masks: Float32Array; components: Float32Array; recon: Float32Array }> {
  const { n } = set, S = model.config.size, P = S * S, K = model.config.slots;
  if (set.size !== S) throw new RangeError(`scenes are ${set.size}×${set.size}, the model takes ${S}×${S}`);
  const masks = new Float32Array(n * K * P), components = new Float32Array(n * K * P * 3);
  const recon = new Float32Array(n * P * 3);
  for (let b0 = 0; b0 < n; b0 += batchSize) {
    const b = Math.min(batchSize, n - b0);
    const [pi, mu, rec] = tf.tidy(() => {
      const x = tf.tensor4d(set.images.subarray(b0 * P * 3, (b0 + b) * P * 3), [b, S, S, 3]);
      const { logPi, z } = model.infer(x, null);
      const mu = model.decode(z);
      const pi = tf.exp(logPi);
      return [pi, mu, tf.sum(tf.mul(pi.expandDims(3), mu), 1)];
    });
    masks.set((await toArray(pi)).data, b0 * K * P);
    components.set((await toArray(mu)).data, b0 * K * P * 3);
    recon.set((await toArray(rec)).data, b0 * P * 3);
  }
  return { masks, components, recon };
}

/** Held-out scores: ARI, fg-ARI, SC, mSC (means over images) and the reconstruction MSE. */
export async function evaluateGenesis(
  model: Genesis,
  set: SegmentationSet,
): Promise<SegmentationScores & { mse: number }> {
  const { masks, recon } = await decompose(model, set);
  const scores = batchMaskScores(set.masks, masks, { n: set.n, k: model.config.slots });
  let se = 0;
  for (let i = 0; i < recon.length; i++) se += (recon[i] - set.images[i]) ** 2;
  return { ari: scores.ari, fgAri: scores.fgAri, sc: scores.sc, msc: scores.msc, mse: se / recon.length };
}

/** One step's figures. */
export interface GenesisStepStats {
  step: number;
  /** err = −log p(x | z) per image, batch mean. */
  err: number;
  kl: number;
  beta: number;
}

/** Trains a GENESIS model in place, one batch at a time. */
export class GenesisTrainer {
  readonly model: Genesis;
  readonly opt: HostAdam;
  readonly geco: Geco;
  readonly rng: Rng;
  step = 0;

  constructor(readonly config: GenesisRunConfig) {
    validateGenesisRunConfig(config);
    this.rng = new Rng(config.seed);
    this.model = new Genesis(config.model, this.rng.child("init"));
    this.opt = new HostAdam(this.model.params.list(), config.lr);
    const P = config.model.size ** 2;
    // GECO's goal is on the summed err, so the per-channel goal scales with the image.
    this.geco = new Geco({ goal: config.gecoGoal * P * 3 });
  }

  /**
   * One step on images x [B, S, S, 3]; `noise` draws the reparameterisation ε. err and KL are read
   * back after the update is queued, asynchronously (the only way on webgpu); GECO's β then moves.
   */
  async train(x: tf.Tensor4D, noise: Rng): Promise<GenesisStepStats> {
    let parts: tf.Tensor | undefined;
    const { grads, value } = tf.variableGrads(() => {
      const pass = this.model.forward(x, noise);
      const errT = tf.neg(tf.mean(pass.logLik)) as tf.Scalar;
      const klT = tf.mean(pass.kl) as tf.Scalar;
      parts = tf.keep(tf.stack([errT, klT]));
      return this.geco.loss(errT, klT);
    }, this.model.params.list());
    this.opt.apply(grads);
    tf.dispose(grads);
    value.dispose();
    const [err, kl] = (await toArray(parts!)).data;
    this.geco.update(err);
    this.step++;
    return { step: this.step, err, kl, beta: this.geco.beta };
  }

  dispose(): void {
    this.model.dispose();
    this.opt.dispose();
  }
}

/** The CLI's JSON result (scores on `nTest` held-out scenes). */
export interface GenesisResult {
  fg_ari: number;
  msc: number;
  sc: number;
  ari: number;
  recon_mse: number;
  steps: number;
  train_s: number;
  images_per_s: number;
  /** [[seconds, fg-ARI, mSC], …] at each evaluation. */
  curve: [number, number, number][];
  /** [[step, err per channel, KL, β], …] at step 1, every 10 steps and the last. */
  geco_trace: [number, number, number, number][];
  config: GenesisRunConfig;
}

export interface GenesisRunHooks {
  onLog?: (line: string) => void;
  onEval?: (point: { seconds: number; step: number } & SegmentationScores & { mse: number }) => void;
}

/** Trains under the config's budget and scores the held-out scenes. */
export async function runGenesis(
  config: GenesisRunConfig,
  hooks: GenesisRunHooks = {},
): Promise<{ result: GenesisResult; trainer: GenesisTrainer; test: SegmentationSet }> {
  validateGenesisRunConfig(config);
  const log = hooks.onLog ?? (() => {});
  const trainer = new GenesisTrainer(config);
  const test = sampleSegmentationSet(config, trainer.rng.child("test"), config.nTest);
  const dataRng = trainer.rng.child("data"), noiseRng = trainer.rng.child("noise");
  const S = config.model.size, B = config.batchSize, channels = S * S * 3;
  const curve: [number, number, number][] = [];
  const trace = new StepTrace<[number, number, number, number]>(10); // step 1, every 10th, the last
  let last: GenesisStepStats | null = null;
  const evaluate = async (seconds: number) => {
    const ev = await evaluateGenesis(trainer.model, test);
    curve.push([+seconds.toFixed(2), ev.fgAri, ev.msc]);
    hooks.onEval?.({ seconds, step: trainer.step, ...ev });
    const train = last
      ? `; err/ch ${(last.err / channels).toFixed(3)}, KL ${last.kl.toFixed(1)}, β ${
        last.beta.toExponential(2)
      }`
      : "";
    log(
      `[genesis] ${seconds.toFixed(0)} s, step ${trainer.step}: held-out fg-ARI ${ev.fgAri.toFixed(3)}, ` +
        `mSC ${ev.msc.toFixed(3)}, SC ${ev.sc.toFixed(3)}, MSE ${ev.mse.toFixed(4)}${train}`,
    );
    return ev;
  };
  const trainS = await trainWithinBudget(config, {
    steps: () => trainer.step,
    evaluate,
    step: async () => {
      const batch = sampleSegmentationSet(config, dataRng, B);
      const x = tf.tensor4d(batch.images, [B, S, S, 3]);
      const stats = last = await trainer.train(x, noiseRng);
      x.dispose();
      if (!Number.isFinite(stats.err) || !Number.isFinite(stats.kl)) {
        throw new Error(`training diverged at step ${trainer.step} (err ${stats.err}, KL ${stats.kl})`);
      }
      trace.offer([trainer.step, stats.err / channels, stats.kl, stats.beta]);
    },
  });
  const final = await evaluate(trainS);
  return {
    result: {
      fg_ari: final.fgAri,
      msc: final.msc,
      sc: final.sc,
      ari: final.ari,
      recon_mse: final.mse,
      steps: trainer.step,
      train_s: +trainS.toFixed(2),
      images_per_s: +(trainer.step * B / Math.max(trainS, 1e-9)).toFixed(1),
      curve,
      geco_trace: trace.rows,
      config,
    },
    trainer,
    test,
  };
}

/**
 * `steps` training steps of `config` from its seed on the active backend, read back asynchronously
 * (`nn/probe.ts`): the webgpu-vs-wasm test and `bench:backends` compare these. figures: [err, KL, β].
 */
export async function probeGenesis(config: GenesisRunConfig, steps: number): Promise<TrainingProbe> {
  const trainer = new GenesisTrainer(config);
  const S = config.model.size, B = config.batchSize, data = new Rng(`${config.seed}/probe/data`);
  const xs = Array.from(
    { length: Math.max(0, steps) },
    () => tf.tensor4d(sampleSegmentationSet(config, data, B).images, [B, S, S, 3]),
  );
  try {
    const noise = new Rng("probe/noise");
    return await probeTraining({
      vars: trainer.model.params.list(),
      firstLoss: () => {
        const pass = trainer.model.forward(xs[0], new Rng("probe/noise"));
        return trainer.geco.loss(tf.neg(tf.mean(pass.logLik)) as tf.Scalar, tf.mean(pass.kl) as tf.Scalar);
      },
      step: async (s) => {
        const st = await trainer.train(xs[s], noise);
        return [st.err, st.kl, st.beta];
      },
      steps,
      batch: B,
    });
  } finally {
    tf.dispose(xs);
    trainer.dispose();
  }
}
