/**
 * AIR's training step (per batch B, steps N), with ℓ_t = log p(x|z) − Σ_{t' ≥ t} cost_{t'} the part
 * of the ELBO that z_pres,t can change:
 *
 *     loss_model    = −mean_B ELBO − mean_B Σ_t Â_t · log q(z_pres,t)       (Â constant)
 *     Â_t           = normalise_t(ℓ_t − b_t(x))                              (NVIL)
 *     loss_baseline = mean_B Σ_t sampled_t · (b_t(x) − ℓ_t)²                (own learning rate)
 *
 * or, with the Concrete relaxation, the ELBO's reparameterised gradient alone; Adam on the host.
 *
 * @example
 * ```ts
 * import { AirTrainer } from "./trainer.ts";
 * import { defaultAirRunConfig } from "./config.ts";
 * import { defaultAirConfig } from "./config.ts";
 * const trainer = new AirTrainer(defaultAirRunConfig({ air: defaultAirConfig({ lstm: 16 }) }));
 * trainer.dispose();
 * ```
 * @module
 */
import { tf } from "../core/tf.ts";
import { Rng } from "../core/random.ts";
import { Air } from "./model.ts";
import { elboOf } from "./elbo.ts";
import { assignValues } from "../nn/params.ts";
import { HostAdam } from "../nn/adam.ts";
import { concreteTemperature, SignalNormalizer } from "./estimators.ts";
import { flatViews } from "../nn/allreduce.ts";
import { requireInt } from "../core/validate.ts";
import { AirRunConfig, annealedLr, validateAirRunConfig } from "./config.ts";
import { Baseline } from "./baseline.ts";

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
