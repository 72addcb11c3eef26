/**
 * Attend, Infer, Repeat (Eslami et al. 2016) on multi-MNIST, in tfjs: the generative model and
 * the recurrent guide side by side, as in Pyro's `examples/air`.
 *
 * **Model** (generative, §2): n ~ p(n) through the unary code z_pres; for each present step
 * z_what ~ N(0, I) (50-D), z_where = (log s, x, y) ~ N(μ_where, σ_where); the decoder maps
 * z_what to a g×g window (MLP, output bias −2, sigmoid), the spatial transformer writes it onto
 * the canvas at z_where, and x ~ N(Σ_t z_pres,t · window_t, σ² = 0.3²).
 *
 * **Guide** (inference, Fig. 2): at step t an LSTM (256 units) reads the image and the previous
 * step's latents (z_where, z_what, z_pres) and predicts q(z_pres,t) and q(z_where,t); a glimpse
 * of the image at z_where,t is encoded (MLP) into q(z_what,t). Steps run while z_pres = 1; the
 * first 0 ends inference (later steps are masked). **DAIR** (App. D) replaces the LSTM by a
 * feed-forward network whose input is the error canvas x − (reconstruction so far).
 *
 * With `embed` > 0 the guide reads the image through a small CNN (two 5×5 stride-2 ReLU
 * convolutions) instead of as raw pixels: local features that tell two touching digits from one
 * wide digit, which the paper's linear read of the pixels does poorly (see the README's 50×50 rows).
 *
 * The image's projection into the LSTM gates is the same at every step, so AIR computes it once
 * per batch (the one large matrix product). z_pres is drawn as 1[u < q(z_pres)] with u from the
 * seeded host stream (REINFORCE) or relaxed (Concrete); see `estimators.ts` and `elbo.ts`. The
 * comparison runs on the device, so a pass never reads a tensor back midway (what the webgpu backend
 * needs).
 *
 * @example
 * ```ts
 * import { Air } from "./model.ts";
 * import { type AirConfig, defaultAirConfig, validateAirConfig } from "./config.ts";
 * import { Rng } from "../core/random.ts";
 * const air = new Air(defaultAirConfig(), new Rng(0));
 * // const out = air.forward(images, { rng, mode: "sample" });   // inside a tf.tidy / grad
 * ```
 * @module
 */
import { tf } from "../core/tf.ts";
import type { Rng } from "../core/random.ts";
import { assignValues, Params } from "../nn/params.ts";
import { type Dense, dense, timesTransposed } from "../nn/dense.ts";
import { lstmCell } from "../nn/lstm.ts";
import { glimpse, writeWindow } from "../nn/spatial.ts";
import { bernoulliKl, bernoulliLogProb, countPriorRates, geometricCountPrior } from "./elbo.ts";
import { gaussianKl, gaussianLogLik, reparameterise } from "../nn/gaussian.ts";
import { logisticNoise } from "./estimators.ts";
import { type AirConfig, validateAirConfig } from "./config.ts";

/** How z_pres is drawn in a forward pass. */
export type PresMode =
  | { kind: "sample"; rng: Rng } // REINFORCE: exact Bernoulli samples
  | { kind: "relaxed"; rng: Rng; temperature: number } // Concrete
  | { kind: "mode" }; // evaluation: z_pres = 1 when q > ½

/** What one pass of the guide and the model gives, per example [B] or per step [B, N]. */
export interface AirPass {
  /** log p(x | z) [B]. */
  logLik: tf.Tensor1D;
  /** z_pres · (KL_what + KL_where) [B, N]. */
  klLatents: tf.Tensor2D;
  /** z_pres term [B, N]: sampled · (log q − log p) (REINFORCE) or weighted Bernoulli KL (Concrete). */
  klPres: tf.Tensor2D;
  /** log q(z_pres,t) of the drawn value, masked to sampled steps [B, N] (REINFORCE). */
  logQPres: tf.Tensor2D;
  /** Reconstruction [B, C²]. */
  canvas: tf.Tensor2D;
  /** z_pres [B, N] (relaxed values for Concrete), which steps ran [B, N], z_where as (s, x, y) [B, N, 3], q(z_pres) [B, N]. */
  zPres: tf.Tensor2D;
  sampled: tf.Tensor2D;
  where: tf.Tensor3D;
  presProb: tf.Tensor2D;
  /** The decoded windows written at each step, [N] × [B, C²] (before z_pres weighting). */
  written: tf.Tensor2D[];
}

/** The guide's recurrent state between steps: the core's (h, c) and the previous step's latents. */
export interface GuideState {
  h: tf.Tensor2D;
  cell: tf.Tensor2D;
  where: tf.Tensor2D;
  what: tf.Tensor2D;
  pres: tf.Tensor2D;
}

/** What the guide draws at one step, with the distributions it drew from. */
export interface GuideDraw {
  /** z_pres,t [B, 1] (relaxed values for Concrete). */
  zPres: tf.Tensor2D;
  /** q(z_pres,t = 1) [B, 1]. */
  presProb: tf.Tensor2D;
  /** The z_pres term of the ELBO [B, 1] and log q(z_pres,t) of the drawn value [B, 1] (REINFORCE). */
  klPres: tf.Tensor2D;
  logQ: tf.Tensor2D;
  /** z_where,t = (log s, x, y) [B, 3], its pose (s, x, y), and q(z_where,t) = N(μ, σ²). */
  zWhere: tf.Tensor2D;
  pose: tf.Tensor2D;
  whereMu: tf.Tensor2D;
  whereSigma: tf.Tensor2D;
  /** z_what,t [B, K] and q(z_what,t) = N(μ, σ²). */
  zWhat: tf.Tensor2D;
  whatMu: tf.Tensor2D;
  whatSigma: tf.Tensor2D;
}

interface Lstm {
  /** The image projection, stored transposed: Wₓᵀ [gates, C²] (see `timesTransposed` in train.ts). */
  wxT: tf.Variable;
  wz: tf.Variable;
  wh: tf.Variable;
  b: tf.Variable;
}

const relu = (x: tf.Tensor, l: Dense) => tf.relu(dense(x, l));
const softplus = (x: tf.Tensor) => tf.softplus(x);

/** AIR or DAIR with its parameters. */
export class Air {
  readonly params: Params;
  readonly core: Lstm;
  /** The guide's convolutional image embedding (`config.embed` > 0), bias-free filters. */
  readonly embedNet: { c1: tf.Variable; c2: tf.Variable } | null;
  readonly predict: { hidden: Dense; out: Dense };
  readonly encoder: { hidden: Dense; out: Dense };
  readonly decoder: { hidden: Dense; out: Dense };
  /** p(z_pres,t = 1 | earlier steps present), t = 1..N. */
  readonly presPrior: number[];

  constructor(readonly config: AirConfig, rng: Rng) {
    validateAirConfig(config);
    const { canvas, window: g, lstm: H, zWhat, hidden, steps } = config;
    const p = this.params = new Params(rng);
    const zIn = 3 + zWhat + 1;
    const gates = config.model === "air" ? 4 * H : H;
    const E = config.embed;
    // He-initialised 5×5 filters. The convolutions are bias-free (a bias gradient is a slow reduction on
    // wasm); `conv` also registers the zero biases, unused, which keeps the README runs' draws.
    this.embedNet = E > 0 ? { c1: p.conv("embed.c1", 5, 1, E).w, c2: p.conv("embed.c2", 5, E, E).w } : null;
    const inputs = E > 0 ? Math.ceil(canvas / 4) ** 2 * E : canvas * canvas;
    this.core = {
      wxT: p.normalTransposed("core.wxT", [inputs, gates], 1 / Math.sqrt(inputs)),
      wz: p.normal("core.wz", [zIn, gates], 1 / Math.sqrt(zIn)),
      wh: p.normal("core.wh", [H, gates], 1 / Math.sqrt(H)),
      b: p.zeros("core.b", [gates]),
    };
    if (config.model === "air") {
      // Forget-gate bias 1 (gates are laid out i, f, g, o).
      const b = new Float32Array(4 * H);
      b.fill(1, H, 2 * H);
      assignValues(this.core.b, b);
    }
    this.predict = {
      hidden: p.dense("predict.hidden", H, hidden),
      out: p.dense("predict.out", hidden, 7, 0.1),
    };
    // Start z_where at the prior's scale and centre, with a small spread.
    assignValues(this.predict.out.b, [
      config.presInit,
      Math.log(config.scalePrior),
      0,
      0,
      -2.25,
      -2.25,
      -2.25,
    ]);
    this.encoder = {
      hidden: p.dense("encoder.hidden", g * g, hidden),
      out: p.dense("encoder.out", hidden, 2 * zWhat),
    };
    this.decoder = {
      hidden: p.dense("decoder.hidden", zWhat, hidden),
      out: p.dense("decoder.out", hidden, g * g),
    };
    // The paper's output bias −2: an empty-looking window at the start breaks the symmetry.
    assignValues(this.decoder.out.b, new Float32Array(g * g).fill(-2));
    this.presPrior = countPriorRates(geometricCountPrior(config.countPrior, steps));
  }

  /** What the guide's core reads of an image [B, C²]: the pixels, or their conv embedding. */
  features(x: tf.Tensor2D): tf.Tensor2D {
    if (!this.embedNet) return x;
    const C = this.config.canvas, B = x.shape[0];
    const conv = (v: tf.Tensor4D, w: tf.Variable) =>
      tf.relu(tf.conv2d(v, w as tf.Tensor4D, 2, "same")) as tf.Tensor4D;
    const h = conv(conv(x.reshape([B, C, C, 1]), this.embedNet.c1), this.embedNet.c2);
    return h.reshape([B, -1]) as tf.Tensor2D;
  }

  /** Prior mean and std of z_where = (log s, x, y). */
  wherePrior(): { mu: number[]; sigma: number[] } {
    const c = this.config;
    return {
      mu: [Math.log(c.scalePrior), 0, 0],
      sigma: [c.scalePriorStd, c.positionPriorStd, c.positionPriorStd],
    };
  }

  /** Decoder: z_what [B, K] → window [B, g, g] in (0, 1). */
  decode(zWhat: tf.Tensor2D): tf.Tensor3D {
    const g = this.config.window;
    return tf.sigmoid(dense(relu(zWhat, this.decoder.hidden), this.decoder.out)).reshape([
      -1,
      g,
      g,
    ]) as tf.Tensor3D;
  }

  /** Spatial transformer: window [B, g, g] at z_where (log s, x, y) [B, 3] → canvas [B, C²]. */
  write(window: tf.Tensor3D, zWhere: tf.Tensor2D): tf.Tensor2D {
    const C = this.config.canvas;
    return writeWindow(window, toPose(zWhere), C).reshape([-1, C * C]) as tf.Tensor2D;
  }

  /** The guide's state before step 1: zero LSTM state and previous latents, every step "present". */
  initialGuideState(B: number): GuideState {
    const c = this.config;
    return {
      h: tf.zeros([B, c.lstm]),
      cell: tf.zeros([B, c.lstm]),
      where: tf.zeros([B, 3]),
      what: tf.zeros([B, c.zWhat]),
      pres: tf.ones([B, 1]),
    };
  }

  /**
   * One step t of the **guide** (Fig. 2): the core reads the image (AIR: its projection `xProj`,
   * the same every step; DAIR: the error canvas x − canvas) and the previous latents; the
   * predictor gives q(z_pres,t) and q(z_where,t); a glimpse at z_where,t is encoded into
   * q(z_what,t). Draws come in the order z_pres, z_where, z_what (same seed → same draws).
   */
  guideStep(
    t: number,
    x: tf.Tensor2D,
    xProj: tf.Tensor2D | null,
    canvas: tf.Tensor2D,
    state: GuideState,
    mode: PresMode,
  ): { step: GuideDraw; state: GuideState } {
    const c = this.config, B = x.shape[0], C = c.canvas;
    const zPrev = tf.concat([state.where, state.what, state.pres], 1);
    let { h, cell } = state;
    if (c.model === "air") {
      // gates = Wₓ·x + W_z·z_{t−1} + W_h·h_{t−1} + b;  (h_t, c_t) = LSTM(gates, c_{t−1})
      const gates = tf.add(
        tf.add(xProj!, tf.matMul(zPrev, this.core.wz)),
        tf.add(tf.matMul(h, this.core.wh), this.core.b),
      );
      [h, cell] = lstmCell(gates as tf.Tensor2D, cell);
    } else {
      // DAIR: h_t = ReLU(Wₓ·(x − canvas_{t−1}) + W_z·z_{t−1} + b), a feed-forward step.
      const err = tf.sub(x, canvas) as tf.Tensor2D;
      h = tf.relu(
        tf.add(
          tf.add(
            timesTransposed(this.features(err), this.core.wxT as tf.Tensor2D),
            tf.matMul(zPrev, this.core.wz),
          ),
          this.core.b,
        ),
      ) as tf.Tensor2D;
    }
    // Predictor: (logit q(z_pres,t), μ_where, σ_where) = MLP(h_t)
    const out = dense(relu(h, this.predict.hidden), this.predict.out);
    const [presLogit, whereMu, whereRaw] = tf.split(out, [1, 3, 3], 1) as tf.Tensor2D[];
    const whereSigma = softplus(whereRaw) as tf.Tensor2D; // σ_where = softplus(·)
    const presP = tf.sigmoid(presLogit) as tf.Tensor2D; // q(z_pres,t = 1) = σ(logit)
    const rate = this.presPrior[t]; // p(z_pres,t = 1 | z_pres,<t = 1) = ρ_t

    // z_pres,t: exact sample, relaxed sample, or mode; zero once an earlier step was 0.
    let zPres: tf.Tensor2D, klPres: tf.Tensor2D, logQ: tf.Tensor2D;
    if (mode.kind === "relaxed") {
      // Concrete: z = σ((logit + L) / τ), L ~ Logistic(0, 1)
      const noise = tf.tensor2d(logisticNoise(mode.rng, B), [B, 1]);
      const relaxed = tf.sigmoid(tf.div(tf.add(presLogit, noise), mode.temperature)) as tf.Tensor2D;
      zPres = tf.mul(state.pres, relaxed) as tf.Tensor2D;
      // z_pres,t−1 · KL(Bernoulli(q) ‖ Bernoulli(ρ_t)), weighted by how present the previous steps are.
      klPres = tf.mul(state.pres, bernoulliKl(presP, rate)) as tf.Tensor2D;
      logQ = tf.zeros([B, 1]);
    } else {
      // z = 1[u < q] with u ~ U(0, 1) (REINFORCE), or 1[q > ½] (the mode); step() has zero gradient.
      const threshold = mode.kind === "sample" ? tf.tensor2d(mode.rng.uniformArray(B), [B, 1]) : 0.5;
      const draw = tf.step(tf.sub(presP, threshold)) as tf.Tensor2D;
      const ran = state.pres; // the step was sampled iff all earlier were 1
      zPres = tf.mul(draw, ran) as tf.Tensor2D;
      // sampled_t · (log q(z_pres,t) − log p(z_pres,t))
      logQ = tf.mul(ran, bernoulliLogProb(zPres, presP)) as tf.Tensor2D;
      const logP = tf.mul(ran, bernoulliLogProb(zPres, tf.scalar(rate))) as tf.Tensor2D;
      klPres = tf.sub(logQ, logP) as tf.Tensor2D;
    }

    // z_where,t = μ_where + σ_where·ε (the mean at evaluation), and the glimpse it selects.
    const latentRng = mode.kind === "mode" ? null : mode.rng;
    const zWhere = reparameterise(whereMu, whereSigma, latentRng);
    const pose = toPose(zWhere);
    const seen = glimpse(x.reshape([B, C, C]) as tf.Tensor3D, pose, c.window).reshape([B, -1]);
    // Encoder: (μ_what, σ_what) = MLP(glimpse);  z_what,t = μ_what + σ_what·ε
    const enc = dense(relu(seen, this.encoder.hidden), this.encoder.out);
    const [whatMu, whatRaw] = tf.split(enc, 2, 1) as tf.Tensor2D[];
    const whatSigma = tf.add(softplus(whatRaw), 1e-4) as tf.Tensor2D;
    const zWhat = reparameterise(whatMu, whatSigma, latentRng);
    return {
      step: {
        zPres,
        presProb: presP,
        klPres,
        logQ,
        zWhere,
        pose,
        whereMu,
        whereSigma,
        zWhat,
        whatMu,
        whatSigma,
      },
      state: { h, cell, where: zWhere, what: zWhat, pres: zPres },
    };
  }

  /**
   * One step of the **model** (§2): the decoder draws z_what as a g×g window, the spatial
   * transformer writes it at z_where, and the canvas adds it if present:
   * canvas_t = canvas_{t−1} + z_pres,t · write(decode(z_what,t), z_where,t).
   */
  modelStep(
    zWhat: tf.Tensor2D,
    zWhere: tf.Tensor2D,
    zPres: tf.Tensor2D,
    canvas: tf.Tensor2D,
  ): { written: tf.Tensor2D; canvas: tf.Tensor2D } {
    const written = this.write(this.decode(zWhat), zWhere);
    return { written, canvas: tf.add(canvas, tf.mul(zPres, written)) as tf.Tensor2D };
  }

  /**
   * One pass of the guide and the model over images `x` [B, C²]: at each step the guide proposes
   * z_t ~ q(z_t | x, z_<t) and the model draws it; the ELBO's terms come back per step. Call
   * inside `tf.tidy` or a gradient closure; host noise comes from the mode's rng.
   */
  forward(x: tf.Tensor2D, mode: PresMode): AirPass {
    const c = this.config, B = x.shape[0], N = c.steps, C = c.canvas;
    const prior = this.wherePrior();
    let state = this.initialGuideState(B);
    let canvas: tf.Tensor2D = tf.zeros([B, C * C]);
    // AIR reads the same image at every step: project it once.
    const xProj = c.model === "air" ? timesTransposed(this.features(x), this.core.wxT as tf.Tensor2D) : null;
    const klLatents: tf.Tensor2D[] = [], klPres: tf.Tensor2D[] = [], logQ: tf.Tensor2D[] = [];
    const written: tf.Tensor2D[] = [], zPres: tf.Tensor2D[] = [], sampled: tf.Tensor2D[] = [];
    const where: tf.Tensor2D[] = [], presProb: tf.Tensor2D[] = [];

    for (let t = 0; t < N; t++) {
      sampled.push(state.pres); // z_pres,t−1 (1 before the first step): did step t run?
      const guide = this.guideStep(t, x, xProj, canvas, state, mode);
      const z = guide.step;
      state = guide.state;
      const drawn = this.modelStep(z.zWhat, z.zWhere, z.zPres, canvas);
      canvas = drawn.canvas;
      written.push(drawn.written);
      klPres.push(z.klPres);
      logQ.push(z.logQ);
      // z_pres,t · ( KL(q(z_what,t) ‖ N(0, I)) + KL(q(z_where,t) ‖ p(z_where)) )
      const kl = tf.add(
        tf.sum(gaussianKl(z.whatMu, z.whatSigma, 0, 1), 1),
        tf.sum(gaussianKl(z.whereMu, z.whereSigma, prior.mu, prior.sigma), 1),
      );
      klLatents.push(tf.mul(z.zPres, kl.reshape([B, 1])) as tf.Tensor2D);
      zPres.push(z.zPres);
      presProb.push(z.presProb);
      where.push(z.pose);
    }
    return {
      logLik: gaussianLogLik(x, canvas, c.sigma), // log N(x; canvas_N, σ²)
      klLatents: tf.concat(klLatents, 1) as tf.Tensor2D,
      klPres: tf.concat(klPres, 1) as tf.Tensor2D,
      logQPres: tf.concat(logQ, 1) as tf.Tensor2D,
      canvas,
      zPres: tf.concat(zPres, 1) as tf.Tensor2D,
      // A relaxed z_pres,t−1 weights step t; "ran" counts any weight above zero.
      sampled: tf.step(tf.concat(sampled, 1)) as tf.Tensor2D,
      where: tf.stack(where, 1) as tf.Tensor3D,
      presProb: tf.concat(presProb, 1) as tf.Tensor2D,
      written,
    };
  }

  /**
   * Samples scenes from the generative model: n from the count prior, then at each step z_what ~
   * N(0, I) and z_where ~ p(z_where), drawn by {@link modelStep}; returns images [B, C²] and the counts.
   */
  async generate(rng: Rng, n: number): Promise<{ images: Float32Array; counts: number[] }> {
    const c = this.config, prior = this.wherePrior();
    const counts: number[] = [];
    for (let b = 0; b < n; b++) {
      let k = 0;
      while (k < c.steps && rng.uniform() < this.presPrior[k]) k++; // unary code: z_pres,t ~ Bernoulli(ρ_t)
      counts.push(k);
    }
    const images = tf.tidy(() => {
      let canvas: tf.Tensor2D = tf.zeros([n, c.canvas * c.canvas]);
      for (let t = 0; t < c.steps; t++) {
        const zWhat = tf.tensor2d(rng.normalArray(n * c.zWhat), [n, c.zWhat]);
        const where = new Float32Array(n * 3);
        for (let b = 0; b < n; b++) {
          for (let k = 0; k < 3; k++) where[b * 3 + k] = rng.normal(prior.mu[k], prior.sigma[k]);
        }
        const pres = tf.tensor2d(counts.map((k) => (t < k ? 1 : 0)), [n, 1]);
        canvas = this.modelStep(zWhat, tf.tensor2d(where, [n, 3]), pres, canvas).canvas;
      }
      return tf.clipByValue(canvas, 0, 1);
    });
    const out = await images.data() as Float32Array;
    images.dispose();
    return { images: out, counts };
  }

  dispose(): void {
    this.params.dispose();
  }
}

/** z_where = (log s, x, y) → pose (s, x, y) for the spatial transformer. */
export function toPose(zWhere: tf.Tensor2D): tf.Tensor2D {
  const [ls, xy] = tf.split(zWhere, [1, 2], 1);
  return tf.concat([tf.exp(ls), xy], 1) as tf.Tensor2D;
}
