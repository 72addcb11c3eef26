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
 * per batch (the one large matrix product). z_pres is sampled on the host from the seeded stream
 * (REINFORCE) or relaxed (Concrete); see `estimators.ts` and `elbo.ts`.
 *
 * @example
 * ```ts
 * import { Air, defaultAirConfig } from "./model.ts";
 * import { Rng } from "../core/random.ts";
 * const air = new Air(defaultAirConfig(), new Rng(0));
 * // const out = air.forward(images, { rng, mode: "sample" });   // inside a tf.tidy / grad
 * ```
 * @module
 */
import { tf } from "../core/tf.ts";
import type { Rng } from "../core/random.ts";
import { assignValues, type Dense, lstmCell, Params, timesTransposed } from "../nn/train.ts";
import { glimpse, writeWindow } from "../nn/spatial.ts";
import {
  bernoulliKl,
  bernoulliLogProb,
  countPriorRates,
  gaussianLogLik,
  geometricCountPrior,
  normalKl,
  reparameterise,
} from "./elbo.ts";
import { logisticNoise, sampleBernoulli } from "./estimators.ts";
import { requireInt, requirePositive } from "../core/validate.ts";

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
}

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
  /** Host copies: z_pres [B·N] (relaxed values for Concrete), which steps ran [B·N], z_where [B·N·3] as (s, x, y), q(z_pres) [B·N]. */
  zPres: Float32Array;
  sampled: Float32Array;
  where: Float32Array;
  presProb: Float32Array;
  /** The decoded windows written at each step, [N] × [B, C²] (before z_pres weighting). */
  written: tf.Tensor2D[];
}

interface Lstm {
  /** The image projection, stored transposed: Wₓᵀ [gates, C²] (see `timesTransposed` in train.ts). */
  wxT: tf.Variable;
  wz: tf.Variable;
  wh: tf.Variable;
  b: tf.Variable;
}

const relu = (x: tf.Tensor, l: Dense) => tf.relu(tf.add(tf.matMul(x as tf.Tensor2D, l.w), l.b));
const linear = (x: tf.Tensor, l: Dense) => tf.add(tf.matMul(x as tf.Tensor2D, l.w), l.b) as tf.Tensor2D;
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
    return tf.sigmoid(linear(relu(zWhat, this.decoder.hidden), this.decoder.out)).reshape([
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

  /**
   * One pass of the guide and the model over images `x` [B, C²]. Call inside `tf.tidy` or a
   * gradient closure; host noise comes from the mode's rng.
   */
  forward(x: tf.Tensor2D, mode: PresMode): AirPass {
    const c = this.config, B = x.shape[0], N = c.steps, C = c.canvas, H = c.lstm;
    const prior = this.wherePrior();
    let h: tf.Tensor2D = tf.zeros([B, H]), cell: tf.Tensor2D = tf.zeros([B, H]);
    let prevWhere: tf.Tensor2D = tf.zeros([B, 3]), prevWhat: tf.Tensor2D = tf.zeros([B, c.zWhat]);
    let prevPres: tf.Tensor2D = tf.ones([B, 1]);
    let prevPresHost = new Float32Array(B).fill(1);
    let canvas: tf.Tensor2D = tf.zeros([B, C * C]);
    // AIR reads the same image at every step: project it once.
    const xProj = c.model === "air" ? timesTransposed(this.features(x), this.core.wxT as tf.Tensor2D) : null;
    const klLatents: tf.Tensor2D[] = [], klPres: tf.Tensor2D[] = [], logQ: tf.Tensor2D[] = [];
    const written: tf.Tensor2D[] = [];
    const zPresHost = new Float32Array(B * N), sampledHost = new Float32Array(B * N);
    const whereHost = new Float32Array(B * N * 3), probHost = new Float32Array(B * N);
    // The continuous latents' noise stream: none at evaluation, where they take their means.
    const latentRng = mode.kind === "mode" ? null : mode.rng;

    for (let t = 0; t < N; t++) {
      const zPrev = tf.concat([prevWhere, prevWhat, prevPres], 1);
      if (c.model === "air") {
        const gates = tf.add(
          tf.add(xProj!, tf.matMul(zPrev, this.core.wz)),
          tf.add(tf.matMul(h, this.core.wh), this.core.b),
        );
        [h, cell] = lstmCell(gates as tf.Tensor2D, cell);
      } else {
        // DAIR: a feed-forward step on the error canvas and the previous latents.
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
      // Predictor: q(z_pres,t) and q(z_where,t).
      const out = linear(relu(h, this.predict.hidden), this.predict.out);
      const [presLogit, whereMu, whereRaw] = tf.split(out, [1, 3, 3], 1) as tf.Tensor2D[];
      const whereSigma = softplus(whereRaw) as tf.Tensor2D;
      const presP = tf.sigmoid(presLogit) as tf.Tensor2D;
      const pHost = presP.dataSync() as Float32Array;
      const rate = this.presPrior[t];

      // z_pres,t: exact sample, relaxed sample, or mode; zero once an earlier step was 0.
      let zPres: tf.Tensor2D;
      let stepPres: Float32Array;
      if (mode.kind === "relaxed") {
        const noise = tf.tensor2d(logisticNoise(mode.rng, B), [B, 1]);
        const relaxed = tf.sigmoid(tf.div(tf.add(presLogit, noise), mode.temperature)) as tf.Tensor2D;
        zPres = tf.mul(prevPres, relaxed) as tf.Tensor2D;
        stepPres = zPres.dataSync() as Float32Array;
        // Bernoulli KL, weighted by how present the previous steps are.
        klPres.push(tf.mul(prevPres, bernoulliKl(presP, rate)) as tf.Tensor2D);
        logQ.push(tf.zeros([B, 1]));
      } else {
        const draw = mode.kind === "sample"
          ? sampleBernoulli(mode.rng, pHost)
          : pHost.map((p) => (p > 0.5 ? 1 : 0));
        stepPres = draw.map((z, b) => z * prevPresHost[b]);
        zPres = tf.tensor2d(stepPres, [B, 1]);
        const ran = tf.tensor2d(prevPresHost, [B, 1]); // the step was sampled iff all earlier were 1
        const lq = tf.mul(ran, bernoulliLogProb(zPres, presP)) as tf.Tensor2D;
        const lp = tf.mul(ran, bernoulliLogProb(zPres, tf.scalar(rate))) as tf.Tensor2D;
        klPres.push(tf.sub(lq, lp) as tf.Tensor2D);
        logQ.push(lq);
      }

      // z_where,t (reparameterised) and the glimpse it selects.
      const zWhere = reparameterise(whereMu, whereSigma, latentRng);
      const pose = toPose(zWhere);
      const seen = glimpse(x.reshape([B, C, C]) as tf.Tensor3D, pose, c.window).reshape([B, -1]);
      const enc = linear(relu(seen, this.encoder.hidden), this.encoder.out);
      const [whatMu, whatRaw] = tf.split(enc, 2, 1) as tf.Tensor2D[];
      const whatSigma = tf.add(softplus(whatRaw), 1e-4) as tf.Tensor2D;
      const zWhat = reparameterise(whatMu, whatSigma, latentRng);

      // Model: decode, write, add to the canvas if present.
      const window = this.decode(zWhat);
      const w = this.write(window, zWhere);
      written.push(w);
      canvas = tf.add(canvas, tf.mul(zPres, w)) as tf.Tensor2D;
      const kl = tf.add(
        normalKl(whatMu, whatSigma, 0, 1),
        normalKl(whereMu, whereSigma, prior.mu, prior.sigma),
      );
      klLatents.push(tf.mul(zPres, kl.reshape([B, 1])) as tf.Tensor2D);

      const poseHost = pose.dataSync();
      for (let b = 0; b < B; b++) {
        zPresHost[b * N + t] = stepPres[b];
        sampledHost[b * N + t] = prevPresHost[b] > 0 ? 1 : 0;
        probHost[b * N + t] = pHost[b];
        for (let k = 0; k < 3; k++) whereHost[(b * N + t) * 3 + k] = poseHost[b * 3 + k];
      }
      prevPresHost = Float32Array.from(stepPres);
      prevWhere = zWhere;
      prevWhat = zWhat;
      prevPres = zPres;
    }
    return {
      logLik: gaussianLogLik(x, canvas, c.sigma),
      klLatents: tf.concat(klLatents, 1) as tf.Tensor2D,
      klPres: tf.concat(klPres, 1) as tf.Tensor2D,
      logQPres: tf.concat(logQ, 1) as tf.Tensor2D,
      canvas,
      zPres: zPresHost,
      sampled: sampledHost,
      where: whereHost,
      presProb: probHost,
      written,
    };
  }

  /**
   * Samples scenes from the generative model: n from the count prior, then z_where and z_what
   * from their priors; returns images [B, C²] and the counts.
   */
  generate(rng: Rng, n: number): { images: Float32Array; counts: number[] } {
    const c = this.config, prior = this.wherePrior();
    const counts: number[] = [];
    for (let b = 0; b < n; b++) {
      let k = 0;
      while (k < c.steps && rng.uniform() < this.presPrior[k]) k++;
      counts.push(k);
    }
    const images = tf.tidy(() => {
      let canvas = tf.zeros([n, c.canvas * c.canvas]);
      for (let t = 0; t < c.steps; t++) {
        const zWhat = tf.tensor2d(rng.normalArray(n * c.zWhat), [n, c.zWhat]);
        const where = new Float32Array(n * 3);
        for (let b = 0; b < n; b++) {
          for (let k = 0; k < 3; k++) where[b * 3 + k] = rng.normal(prior.mu[k], prior.sigma[k]);
        }
        const pres = tf.tensor2d(counts.map((k) => (t < k ? 1 : 0)), [n, 1]);
        canvas = tf.add(canvas, tf.mul(pres, this.write(this.decode(zWhat), tf.tensor2d(where, [n, 3]))));
      }
      return tf.clipByValue(canvas, 0, 1);
    });
    const out = images.dataSync() as Float32Array;
    images.dispose();
    return { images: new Float32Array(out), counts };
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

/** The ELBO per example [B]: log p(x|z) − Σ_t cost_t, cost = the pass's latent and z_pres terms [B, N]. */
export function elboOf(pass: AirPass, cost: tf.Tensor2D = tf.add(pass.klLatents, pass.klPres)): tf.Tensor1D {
  return tf.sub(pass.logLik, tf.sum(cost, 1)) as tf.Tensor1D;
}

/** Number of present steps per example from a pass's host z_pres [B·N] (relaxed: > ½). */
export function countsOf(zPres: Float32Array, steps: number): Int32Array {
  const B = zPres.length / steps;
  const out = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    let k = 0;
    while (k < steps && zPres[b * steps + k] > 0.5) k++;
    out[b] = k;
  }
  return out;
}
