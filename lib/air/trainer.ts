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
 * Â_t is computed on the host (NVIL's running statistics live there). On wasm and cpu the pass reads
 * ℓ_t and b_t(x) back in the middle of the gradient closure; webgpu cannot read synchronously, so
 * there a first pass without gradients, on a copy of the noise stream, gives Â_t, and the gradient
 * pass repeats it with the same noise (the same draws, so the same estimate, at the cost of one
 * more forward pass).
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
import { readsSync, tf } from "../core/tf.ts";
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

/** The REINFORCE signal from the host: ℓ_t and the normalised advantages Â_t, [B·N] each. */
export interface HostSignal {
  signal: Float32Array;
  advantage: Float32Array;
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
  async train(x: tf.Tensor2D, rng: Rng, progress: number): Promise<StepStats> {
    const { grads, stats } = await this.gradients(x, rng, progress);
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
  ): Promise<{ grads: Record<string, tf.Tensor>; stats: { elbo: number; present: number } }> {
    const estimator = { estimator: this.config.estimator, baseline: true, normalise: true, progress };
    return this.estimate(x, rng, estimator, this.trainedVariables(), true, scale);
  }

  /**
   * The gradient of {@link objective} (times `scale`) for `vars`, the loss, and the pass's mean ELBO
   * and number of present steps; on a backend without synchronous reads, the REINFORCE signal comes from
   * {@link planSignal} first.
   */
  async estimate(
    x: tf.Tensor2D,
    rng: Rng,
    opts: EstimatorOptions,
    vars: tf.Variable[],
    withBaselineLoss = false,
    scale = 1,
  ): Promise<{ grads: Record<string, tf.Tensor>; loss: number; stats: { elbo: number; present: number } }> {
    const known = readsSync() ? undefined : await this.planSignal(x, rng.copy(), opts);
    let kept: tf.Tensor1D | null = null;
    const { grads, value } = tf.variableGrads(() => {
      const out = this.objective(x, rng, opts, withBaselineLoss, known);
      kept = tf.keep(out.stats);
      return scale === 1 ? out.loss : tf.mul(out.loss, scale) as tf.Scalar;
    }, vars);
    const [[elbo, present], [loss]] = await Promise.all([kept!.data(), value.data()]);
    tf.dispose([kept!, value]);
    return { grads, loss, stats: { elbo, present } };
  }

  /**
   * The REINFORCE signal of the pass that `rng` draws, computed without gradients and read back
   * asynchronously (updating NVIL's statistics when `opts.normalise`); undefined for Concrete.
   */
  async planSignal(x: tf.Tensor2D, rng: Rng, opts: EstimatorOptions): Promise<HostSignal | undefined> {
    if (opts.estimator === "concrete") return undefined;
    const parts = tf.tidy(() => {
      const { pass, cost, base } = this.pass(x, rng, opts);
      return [cost, pass.logLik, base!, pass.sampled];
    });
    const [cost, logLik, base, sampled] = await Promise.all(
      parts.map((t) => t.data() as Promise<Float32Array>),
    );
    tf.dispose(parts);
    return this.hostSignal(cost, logLik, base, sampled, opts);
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

  /** Writes the trained variables into `flat`, end to end (wasm's data-parallel runs). */
  storeWeights(flat: Float32Array): void {
    const vars = this.trainedVariables(), views = flatViews(flat, vars);
    for (const v of vars) views[v.name].set(v.dataSync() as Float32Array);
  }

  /** One pass of AIR with z_pres drawn as the estimator needs, its per-step cost, ELBO and baseline b_t(x). */
  pass(x: tf.Tensor2D, rng: Rng, opts: EstimatorOptions) {
    const c = this.config, progress = opts.progress ?? 1;
    const relaxed = opts.estimator === "concrete";
    const pass = this.air.forward(
      x,
      relaxed
        ? { kind: "relaxed", rng, temperature: concreteTemperature(progress, c.tempStart, c.tempEnd) }
        : { kind: "sample", rng },
    );
    const cost = tf.add(pass.klLatents, pass.klPres) as tf.Tensor2D; // [B, N]
    const base = relaxed ? null : this.baseline.apply(x); // [B, N]
    return { pass, cost, elbo: elboOf(pass, cost), base };
  }

  /**
   * ℓ_t = log p(x|z) − Σ_{t' ≥ t} cost_t' and the advantages Â_t (see {@link objective}) from a
   * pass's host values, [B·N] each; updates NVIL's statistics when `opts.normalise`.
   */
  hostSignal(
    cost: Float32Array,
    logLik: Float32Array,
    base: Float32Array,
    sampled: Float32Array,
    opts: EstimatorOptions,
  ): HostSignal {
    const N = this.config.air.steps, B = logLik.length;
    const signal = new Float32Array(B * N);
    for (let b = 0; b < B; b++) {
      let tail = 0;
      for (let t = N - 1; t >= 0; t--) {
        tail += cost[b * N + t];
        signal[b * N + t] = logLik[b] - tail;
      }
    }
    const advantage = new Float32Array(B * N);
    for (let t = 0; t < N; t++) {
      const res = new Float32Array(B), mask = new Float32Array(B);
      for (let b = 0; b < B; b++) {
        res[b] = signal[b * N + t] - (opts.baseline ? base[b * N + t] : 0);
        mask[b] = sampled[b * N + t];
      }
      const norm = this.normalizers[t];
      const a = opts.normalise
        ? norm.normalize(res, mask)
        : res.map((r, b) => (mask[b] ? r - (opts.baseline ? norm.mean : 0) : 0));
      for (let b = 0; b < B; b++) advantage[b * N + t] = a[b];
    }
    return { signal, advantage };
  }

  /**
   * The surrogate loss whose gradient is the step's estimate of −∇ELBO (call inside a gradient
   * closure), and the pass's [mean ELBO, present steps per image]. Concrete: −ELBO of the relaxed
   * pass. REINFORCE: −(ELBO + Σ_t Â_t log q(z_pres,t)) with Â_t = ℓ_t − b_t(x) − c_t (`baseline`: the
   * learned baseline and NVIL's running centre; else Â_t = ℓ_t), divided by NVIL's running scale when
   * `normalise` (which also updates the running statistics); `withBaselineLoss` adds the baseline's
   * regression loss. `known` is the signal of this same pass from {@link planSignal}; without it the
   * pass reads its signal synchronously (wasm, cpu).
   */
  objective(
    x: tf.Tensor2D,
    rng: Rng,
    opts: EstimatorOptions,
    withBaselineLoss = false,
    known?: HostSignal,
  ): { loss: tf.Scalar; stats: tf.Tensor1D } {
    const N = this.config.air.steps, B = x.shape[0];
    const { pass, cost, elbo, base } = this.pass(x, rng, opts);
    const stats = tf.stack([elbo.mean(), tf.div(tf.sum(pass.zPres), B)]) as tf.Tensor1D;
    // The relaxation is differentiated through; the baseline is not used (nor trained).
    if (!base) return { loss: tf.neg(elbo.mean()) as tf.Scalar, stats };
    if (!known && !readsSync()) {
      throw new Error(`objective: on the ${tf.getBackend()} backend pass the signal from planSignal`);
    }
    // ℓ_t and Â_t are host numbers: constants of the surrogate.
    const { signal, advantage } = known ?? this.hostSignal(
      cost.dataSync() as Float32Array,
      pass.logLik.dataSync() as Float32Array,
      base.dataSync() as Float32Array,
      pass.sampled.dataSync() as Float32Array,
      opts,
    );
    const surrogate = tf.sum(tf.mul(tf.tensor2d(advantage, [B, N]), pass.logQPres), 1);
    const loss = tf.neg(tf.add(elbo.mean(), surrogate.mean())) as tf.Scalar;
    if (!withBaselineLoss) return { loss, stats };
    const baselineLoss = tf.mean(
      tf.sum(tf.mul(pass.sampled, tf.square(tf.sub(base, tf.tensor2d(signal, [B, N])))), 1),
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
  async fitBaseline(batch: () => tf.Tensor2D, rng: Rng, steps: number): Promise<number[]> {
    requireInt({ steps }, "steps", 1);
    const vars = this.baseline.params.list(), losses: number[] = [];
    const options: EstimatorOptions = { estimator: "reinforce", baseline: true, normalise: true };
    for (let k = 0; k < steps; k++) {
      const x = batch();
      const { grads, loss } = await this.estimate(x, rng, options, vars, true);
      this.baselineOpt.apply(grads);
      losses.push(loss);
      tf.dispose([x, ...Object.values(grads)]);
    }
    return losses;
  }

  /**
   * The spread of an estimator's gradient (App. A): `draws` estimates of ∇ELBO on the same images
   * with fresh noise, for the parameters that only z_pres depends on (the predictor's z_pres logit
   * row: `predict.out` column 0, weights and bias). Returns the total variance Σ_i Var[g_i], the squared
   * norm of the mean gradient, and their ratio (lower is better: noise per unit of signal).
   */
  async gradientVariance(
    x: tf.Tensor2D,
    rng: Rng,
    opts: EstimatorOptions,
    draws = 16,
  ): Promise<GradientSpread> {
    if (!Number.isInteger(draws) || draws < 2) {
      throw new RangeError(`draws must be an integer ≥ 2, got ${draws}`);
    }
    const { w, b } = this.air.predict.out; // column 0 is the z_pres logit
    const size = w.shape[0] + 1; // the logit's weights and its bias
    const sum = new Float64Array(size), sum2 = new Float64Array(size);
    for (let d = 0; d < draws; d++) {
      const { grads } = await this.estimate(x, rng, opts, [w, b]);
      const joined = tf.tidy(() =>
        tf.concat([grads[w.name].slice([0, 0], [-1, 1]).reshape([-1]), grads[b.name].slice([0], [1])])
      );
      const flat = await joined.data();
      tf.dispose([joined, ...Object.values(grads)]);
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
