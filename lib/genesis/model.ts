/**
 * GENESIS (Engelcke et al. 2020) small enough to train on a CPU, with two ways to infer the masks.
 *
 * Both share the generative side: one latent z_k per component with an autoregressive prior
 * p(z_{1:K}) = Π_k p(z_k | z_{<k}), g_k = LSTM(z_{k−1}, g_{k−1}), a Gaussian read out of g_k; a
 * **component decoder** (spatial broadcast, Watters et al. 2019: z_k tiled over the image beside the
 * pixel coordinates, then per-pixel layers, sigmoid output) gives the means μ_k; the likelihood is
 * the spatial Gaussian mixture of Eq. 3 (`gmmLogLik`) with a fixed σ_x; the objective is GECO's
 * err + β·KL (`Geco`), with KL = Σ_k KL(q(z_k | ·) ‖ p(z_k | z_{<k})) in closed form at the sampled
 * history.
 *
 * - **`masks: "icsbp"`** (the default) — the instance colouring stick-breaking process of
 *   GENESIS-v2 (Engelcke et al. 2021). A pixel network (two 3×3 convolutions, then a linear map)
 *   gives every pixel an embedding ζ_i. Starting from the scope s_0 = 1, step k draws a seed
 *   pixel j_k ∝ s_{k−1} (Gumbel-max) and takes
 *
 *       α_k,i = 0.999 · exp(−‖ζ_i − ζ_{j_k}‖²),   π_k = s_{k−1} α_k,   s_k = s_{k−1} (1 − α_k)
 *
 *   with π_K = s_{K−1} (the remainder), in log space. Each component's latent is then read from
 *   its region: q(z_k | x, π_k) from the π_k-weighted mean of the pixels and their features. The
 *   seeds are random while training; evaluation uses one fixed noise pattern, so scores repeat.
 * - **`masks: "latent"`** — GENESIS-S (§3, App. B.1, Fig. 5): a conv encoder e = Enc(x) and a guide
 *   LSTM h_k = LSTM([e, z_{k−1}], h_{k−1}) give q(z_k | x, z_{<k}); a **mask decoder** turns z_k into
 *   logits a_k for k < K, and stick-breaking (Eq. 4, `stickBreaking`) gives π_k, the last slot
 *   taking the remainder. Ours is a spatial broadcast decoder whose first layer is predicted from
 *   z_k: unit j is relu(Σ_f A_k[f, j] φ_f(u, v) + c_k[j]) over the quadratic pixel features
 *   φ = (u, v, u², v², uv), so z_k places and shapes ellipses and half-planes that a shared
 *   per-pixel layer combines. (On sprites this variant collapses: see the README.)
 *
 * @example
 * ```ts
 * import { initTf, tf } from "../core/tf.ts";
 * import { Rng } from "../core/random.ts";
 * import { defaultGenesisConfig, Genesis } from "./model.ts";
 * await initTf();
 * const model = new Genesis(defaultGenesisConfig({ size: 32 }), new Rng(0));
 * const x = tf.zeros([2, 32, 32, 3]) as tf.Tensor4D;
 * const pass = model.forward(x, new Rng(1)); // logPi [2, K, 1024], mu [2, K, 1024, 3], kl [2], logLik [2]
 * ```
 * @module
 */
import { tf } from "../core/tf.ts";
import { type Dense, dense } from "../nn/dense.ts";
import { gaussianKl, reparameterise } from "../nn/gaussian.ts";
import type { Rng } from "../core/random.ts";
import { assignValues, Params } from "../nn/params.ts";
import { lstmCell } from "../nn/lstm.ts";
import { gmmLogLik, stickBreaking } from "./pieces.ts";
import { requireInt, requirePositive } from "../core/validate.ts";

/** How the masks are inferred (see the module doc). */
export type GenesisMasks = "icsbp" | "latent";

/** Architecture of the model. */
export interface GenesisConfig {
  /** "icsbp": GENESIS-v2's instance colouring stick-breaking; "latent": GENESIS-S's mask decoder. */
  masks: GenesisMasks;
  /** Image side in pixels (images are size × size × 3). */
  size: number;
  /** K: number of components (the last is the stick-breaking remainder). */
  slots: number;
  /** Size of each z_k. */
  zDim: number;
  /** Units of the prior's LSTM (and of the guide's, with latent masks). */
  lstm: number;
  /** Units of the component decoder's per-pixel hidden layer; 0: none (a quadratic colour field per slot). */
  compHidden: number;
  /** σ_x of the Gaussian mixture likelihood. */
  sigmaX: number;
  /** icsbp: channels of the pixel network's two 3×3 convolutions. */
  pixelChannels: number;
  /** icsbp: size of the pixel embedding ζ. */
  embedDim: number;
  /** icsbp: units of the hidden layer that reads a region's mean into q(z_k | x, π_k). */
  regionHidden: number;
  /** latent: output channels of the encoder's stride-2 3×3 convolutions. */
  encChannels: number[];
  /** latent: units of the encoder's dense layer (e). */
  encHidden: number;
  /** latent: units of the mask decoder's two per-pixel layers. */
  maskHidden: number;
}

export function defaultGenesisConfig(overrides: Partial<GenesisConfig> = {}): GenesisConfig {
  return {
    masks: "icsbp",
    size: 32,
    slots: 5,
    zDim: 16,
    lstm: 64,
    compHidden: 0,
    sigmaX: 0.1,
    pixelChannels: 32,
    embedDim: 8,
    regionHidden: 128,
    encChannels: [32, 32, 64],
    encHidden: 128,
    maskHidden: 32,
    ...overrides,
  };
}

/** Checks a config, naming the bad field. */
export function validateGenesisConfig(c: GenesisConfig): void {
  if (c.masks !== "icsbp" && c.masks !== "latent") {
    throw new RangeError(`masks must be "icsbp" or "latent", got ${JSON.stringify(c.masks)}`);
  }
  requireInt(c, "size", 8, 256);
  requireInt(c, "slots", 2, 16);
  requireInt(c, "zDim", 1, 512);
  requireInt(c, "lstm", 1, 4096);
  requireInt(c, "compHidden", 0, 1024);
  requirePositive(c, "sigmaX");
  requireInt(c, "pixelChannels", 1, 256);
  requireInt(c, "embedDim", 1, 256);
  requireInt(c, "regionHidden", 1, 4096);
  requireInt(c, "encHidden", 1, 4096);
  requireInt(c, "maskHidden", 1, 1024);
  const ch = c.encChannels;
  if (!Array.isArray(ch) || ch.length < 1 || ch.some((v) => !(Number.isInteger(v) && v >= 1))) {
    throw new RangeError(`encChannels must list at least one positive integer, got [${ch}]`);
  }
  if (c.masks === "latent" && c.size % 2 ** ch.length !== 0) {
    throw new RangeError(
      `size (${c.size}) must be divisible by 2^${ch.length} (one halving per encoder layer in encChannels)`,
    );
  }
}

/** What one pass of the guide and the decoders produces. */
export interface GenesisPass {
  /** log π [B, K, P]: log mixing probabilities (Σ_k π_k = 1 per pixel). */
  logPi: tf.Tensor3D;
  /** Component means μ_k [B, K, P, 3]. */
  mu: tf.Tensor4D;
  /** Σ_k KL(q(z_k | ·) ‖ p(z_k | z_{<k})) per image [B]. */
  kl: tf.Tensor1D;
  /** log p(x | z) per image [B] (Eq. 3). */
  logLik: tf.Tensor1D;
}

interface Lstm {
  wx: tf.Variable;
  wh: tf.Variable;
  b: tf.Variable;
}

/** A diagonal Gaussian. */
interface Gaussian {
  mu: tf.Tensor2D;
  sigma: tf.Tensor2D;
}

/** The Gaussian a linear layer's output [N, 2D] parameterises: μ, then σ = softplus(·) + 1e-4. */
function gaussian(out: tf.Tensor2D): Gaussian {
  const [mu, raw] = tf.split(out, 2, 1) as tf.Tensor2D[];
  return { mu, sigma: tf.add(tf.softplus(raw), 1e-4) as tf.Tensor2D };
}

/** Gumbel(0, 1) noise: −log(−log u), u ~ U(0, 1). */
function gumbel(rng: Rng, n: number): Float32Array {
  return rng.uniformArray(n).map((u) => -Math.log(-Math.log(Math.min(Math.max(u, 1e-12), 1 - 1e-7))));
}

/** A GENESIS model with its parameters. */
export class Genesis {
  readonly params: Params;
  readonly P: number;
  /** Quadratic pixel features φ(u, v) = (u, v, u², v², uv), [P, 5], u, v ∈ (−1, 1). */
  readonly features: tf.Tensor2D;
  private prior: { core: Lstm; out: Dense };
  private comp: { z: Dense; uv: tf.Variable; out: Dense | null };
  // masks "icsbp"
  private pix: { convs: Dense[]; embed: Dense; region: Dense; q: Dense } | null = null;
  /** The seeds' Gumbel noise at evaluation, one fixed pattern [1, P] per step k < K. */
  private evalNoise: tf.Tensor2D[] = [];
  // masks "latent"
  private enc: { convs: Dense[]; fc: Dense } | null = null;
  private guide: { core: Lstm; out: Dense } | null = null;
  private mask: { a: Dense; c: Dense; hidden: Dense; out: Dense } | null = null;

  constructor(readonly config: GenesisConfig, rng: Rng) {
    validateGenesisConfig(config);
    const c = config, p = this.params = new Params(rng);
    this.P = c.size * c.size;
    const feats = new Float32Array(this.P * 5);
    for (let i = 0; i < c.size; i++) {
      for (let j = 0; j < c.size; j++) {
        const u = (2 * (j + 0.5)) / c.size - 1, v = (2 * (i + 0.5)) / c.size - 1;
        feats.set([u, v, u * u, v * v, u * v], (i * c.size + j) * 5);
      }
    }
    this.features = tf.tensor2d(feats, [this.P, 5]);
    const lstm = (name: string, inputs: number): Lstm => {
      const H = c.lstm;
      const core = {
        wx: p.normal(`${name}.wx`, [inputs, 4 * H], 1 / Math.sqrt(inputs)),
        wh: p.normal(`${name}.wh`, [H, 4 * H], 1 / Math.sqrt(H)),
        b: p.zeros(`${name}.b`, [4 * H]),
      };
      const b = new Float32Array(4 * H);
      b.fill(1, H, 2 * H); // forget-gate bias 1 (gates i, f, g, o)
      assignValues(core.b, b);
      return core;
    };
    const prior = () => ({ core: lstm("prior", c.zDim), out: p.dense("prior.out", c.lstm, 2 * c.zDim, 1) });
    if (c.masks === "icsbp") {
      const F = c.pixelChannels;
      this.pix = {
        convs: [p.conv("pix.conv0", 3, 3, F), p.conv("pix.conv1", 3, F, F)],
        embed: p.dense("pix.embed", F, c.embedDim, 1),
        region: p.dense("region.hidden", 3 + F, c.regionHidden),
        q: p.dense("region.q", c.regionHidden, 2 * c.zDim, 1),
      };
      this.prior = prior();
      const seeds = rng.child("eval-seeds");
      for (let k = 0; k < c.slots - 1; k++) {
        this.evalNoise.push(tf.tensor2d(gumbel(seeds, this.P), [1, this.P]));
      }
    } else {
      let cin = 3;
      const convs = c.encChannels.map((cout, l) => {
        const layer = p.conv(`enc.conv${l}`, 3, cin, cout);
        cin = cout;
        return layer;
      });
      const flat = cin * (c.size / 2 ** c.encChannels.length) ** 2;
      this.enc = { convs, fc: p.dense("enc.fc", flat, c.encHidden) };
      this.guide = {
        core: lstm("guide", c.encHidden + c.zDim),
        out: p.dense("guide.out", c.lstm, 2 * c.zDim, 1),
      };
      this.prior = prior(); // drawn after the guide, as before the IC-SBP option existed
      const Hm = c.maskHidden;
      this.mask = {
        a: p.dense("mask.a", c.zDim, 5 * Hm, 1),
        c: p.dense("mask.c", c.zDim, Hm, 1),
        hidden: p.dense("mask.hidden", Hm, Hm),
        out: p.dense("mask.out", Hm, 1, 1),
      };
      // The first layer's weights start as a random spread of ellipses and half-planes.
      assignValues(this.mask.a.b, rng.child("mask.a.b").normalArray(5 * Hm, 0, 1.5));
      assignValues(this.mask.c.b, rng.child("mask.c.b").normalArray(Hm, 0, 0.5));
    }
    const Hc = c.compHidden;
    this.comp = Hc === 0
      ? { z: p.dense("comp.z", c.zDim, 3, 1), uv: p.normal("comp.uv", [5, 3], 0.1), out: null }
      : {
        z: p.dense("comp.z", c.zDim, Hc),
        uv: p.normal("comp.uv", [5, Hc], 1),
        out: p.dense("comp.out", Hc, 3, 1),
      };
  }

  /**
   * The autoregressive prior's KL: Σ_k KL(q_k ‖ p(z_k | z_{<k})) per image [B], with
   * g_k = LSTM(z_{k−1}, g_{k−1}) read at the sampled history z_{1:K}.
   */
  priorKl(z: tf.Tensor2D[], q: Gaussian[]): tf.Tensor1D {
    const B = z[0].shape[0], H = this.config.lstm, core = this.prior.core;
    let h = tf.zeros([B, H]) as tf.Tensor2D, c = h, zPrev = tf.zeros([B, this.config.zDim]) as tf.Tensor2D;
    let kl = tf.zeros([B]) as tf.Tensor1D;
    for (let k = 0; k < z.length; k++) {
      [h, c] = lstmCell(tf.add(tf.add(tf.matMul(zPrev, core.wx), tf.matMul(h, core.wh)), core.b), c);
      const p = gaussian(dense(h, this.prior.out));
      kl = tf.add(kl, tf.sum(gaussianKl(q[k].mu, q[k].sigma, p.mu, p.sigma), 1)) as tf.Tensor1D; // KL(q(z_k) ‖ p(z_k | z_<k))
      zPrev = z[k];
    }
    return kl;
  }

  /** Pixel network: two 3×3 convolutions (ReLU) at full resolution, x [B, S, S, 3] → [B, P, F]. */
  pixelFeatures(x: tf.Tensor4D): tf.Tensor3D {
    let h: tf.Tensor4D = x;
    for (const l of this.pix!.convs) h = tf.relu(tf.add(tf.conv2d(h, l.w as tf.Tensor4D, 1, "same"), l.b));
    return h.reshape([x.shape[0], this.P, -1]) as tf.Tensor3D;
  }

  /**
   * IC-SBP: log π [B, K, P] from pixel embeddings ζ [B, P, E]. Seeds are drawn ∝ the scope by
   * Gumbel-max with noise from `rng`, or from the fixed evaluation pattern when rng is null.
   */
  icsbp(zeta: tf.Tensor3D, rng: Rng | null): tf.Tensor3D {
    const K = this.config.slots, [B, P] = zeta.shape;
    let logScope = tf.zeros([B, P]) as tf.Tensor2D;
    const logPi: tf.Tensor2D[] = [];
    for (let k = 0; k < K - 1; k++) {
      // j_k = argmax_i (log s_{k−1,i} + g_i): a draw from s_{k−1} / Σ s_{k−1}
      const noise = rng ? tf.tensor2d(gumbel(rng, B * P), [B, P]) : this.evalNoise[k];
      const seed = tf.oneHot(tf.argMax(tf.add(logScope, noise), 1), P).toFloat(); // [B, P]
      const zetaSeed = tf.sum(tf.mul(seed.expandDims(2), zeta), 1, true); // ζ_{j_k} [B, 1, E]
      // α_k,i = 0.999 exp(−‖ζ_i − ζ_{j_k}‖²) (below 1, so log(1 − α) stays finite)
      const alpha = tf.mul(0.999, tf.exp(tf.neg(tf.sum(tf.square(tf.sub(zeta, zetaSeed)), 2))));
      logPi.push(tf.add(logScope, tf.log(alpha)) as tf.Tensor2D);
      logScope = tf.add(logScope, tf.log(tf.sub(1, alpha))) as tf.Tensor2D;
    }
    logPi.push(logScope);
    return tf.stack(logPi, 1) as tf.Tensor3D;
  }

  /**
   * The guide: log π [B, K, P], z_{1:K} (each [B, D]) and Σ_k KL per image [B]. `rng` draws the
   * reparameterisation noise (and the IC-SBP seeds); null uses the guide's means.
   */
  infer(x: tf.Tensor4D, rng: Rng | null): { logPi: tf.Tensor3D; z: tf.Tensor2D[]; kl: tf.Tensor1D } {
    return this.pix ? this.inferIcsbp(x, rng) : this.inferLatent(x, rng);
  }

  /** masks "icsbp": IC-SBP masks, then q(z_k | x, π_k) from the region's mean r_k = Σ_i π_k,i [x_i, f_i] / Σ_i π_k,i. */
  private inferIcsbp(x: tf.Tensor4D, rng: Rng | null) {
    const K = this.config.slots, B = x.shape[0], P = this.P, pix = this.pix!;
    const f = this.pixelFeatures(x);
    const zeta = dense(f.reshape([B * P, -1]), pix.embed).reshape([B, P, -1]) as tf.Tensor3D;
    const logPi = this.icsbp(zeta, rng);
    const pi = tf.exp(logPi);
    const pixels = tf.concat([x.reshape([B, P, 3]), f], 2);
    const r = tf.div(tf.matMul(pi, pixels), tf.add(tf.sum(pi, 2, true), 1e-6)); // [B, K, 3 + F]
    // slot-major [K·B, ·]: one pass of the region layers for every slot
    const all = gaussian(
      dense(tf.relu(dense(r.transpose([1, 0, 2]).reshape([K * B, -1]), pix.region)), pix.q),
    );
    const mus = tf.split(all.mu, K, 0) as tf.Tensor2D[], sigmas = tf.split(all.sigma, K, 0) as tf.Tensor2D[];
    const q = mus.map((mu, k) => ({ mu, sigma: sigmas[k] }));
    const z = q.map((qk) => reparameterise(qk.mu, qk.sigma, rng));
    return { logPi, z, kl: this.priorKl(z, q) };
  }

  /** masks "latent": the guide LSTM over K steps, then the mask decoder and stick-breaking. */
  private inferLatent(x: tf.Tensor4D, rng: Rng | null) {
    const c = this.config, B = x.shape[0], H = c.lstm, D = c.zDim, P = this.P, guide = this.guide!;
    const e = this.encode(x);
    const eProj = tf.matMul(e, guide.core.wx.slice([0, 0], [c.encHidden, 4 * H]));
    const wzGuide = guide.core.wx.slice([c.encHidden, 0], [D, 4 * H]);
    let hq = tf.zeros([B, H]) as tf.Tensor2D, cq = hq;
    let zPrev = tf.zeros([B, D]) as tf.Tensor2D;
    const z: tf.Tensor2D[] = [], q: Gaussian[] = [];
    for (let k = 0; k < c.slots; k++) {
      // guide: h_k = LSTM([e, z_{k−1}], h_{k−1});  q(z_k | x, z_{<k}) = N(μ_q, σ_q²)
      [hq, cq] = lstmCell(
        tf.add(tf.add(eProj, tf.matMul(zPrev, wzGuide)), tf.add(tf.matMul(hq, guide.core.wh), guide.core.b)),
        cq,
      );
      q.push(gaussian(dense(hq, guide.out)));
      zPrev = reparameterise(q[k].mu, q[k].sigma, rng);
      z.push(zPrev);
    }
    // slot-major [K·B, D] → logits [K−1, B, P] → [B, K−1, P]
    const K = c.slots;
    const logits = this.maskLogits(tf.concat(z.slice(0, K - 1), 0)).reshape([K - 1, B, P]).transpose([
      1,
      0,
      2,
    ]);
    return { logPi: stickBreaking(logits) as tf.Tensor3D, z, kl: this.priorKl(z, q) };
  }

  /** Encoder: stride-2 3×3 convolutions (ReLU), flatten, dense (ReLU): x [B, S, S, 3] → e [B, E]. */
  encode(x: tf.Tensor4D): tf.Tensor2D {
    let h: tf.Tensor4D = x;
    for (const l of this.enc!.convs) h = tf.relu(tf.add(tf.conv2d(h, l.w as tf.Tensor4D, 2, "same"), l.b));
    return tf.relu(dense(h.reshape([x.shape[0], -1]), this.enc!.fc));
  }

  /**
   * Mask decoder for z [N, D] → logits a [N, P]:
   * a = w₂ · relu(W₁ · relu(φ A(z) + c(z)) + b₁) + b₂, with A(z) [5, H] and c(z) [H] linear in z.
   */
  maskLogits(z: tf.Tensor2D): tf.Tensor2D {
    const N = z.shape[0], H = this.config.maskHidden, P = this.P, mask = this.mask!;
    const A = dense(z, mask.a).reshape([N, 5, H]).transpose([1, 0, 2]).reshape([5, N * H]);
    // [P, 5] · [5, N·H] → [P, N, H]: one matMul for every slot's first layer
    const h1 = tf.relu(
      tf.add(tf.matMul(this.features, A).reshape([P, N, H]), dense(z, mask.c).expandDims(0)),
    );
    const h2 = tf.relu(dense(h1.reshape([P * N, H]), mask.hidden));
    return dense(h2, mask.out).reshape([P, N]).transpose() as tf.Tensor2D;
  }

  /** Component decoder (spatial broadcast) for z [N, D] → means μ [N, P, 3] in (0, 1). */
  components(z: tf.Tensor2D): tf.Tensor3D {
    const N = z.shape[0], H = this.config.compHidden, P = this.P;
    // W_z z + W_φ φ(u, v) + b: the tiled latent and the pixel coordinates, per pixel
    const pre = tf.add(
      dense(z, this.comp.z).expandDims(1),
      tf.matMul(this.features, this.comp.uv).expandDims(0),
    );
    if (!this.comp.out) return tf.sigmoid(pre) as tf.Tensor3D; // compHidden 0: smooth colour fields only
    const h = tf.relu(pre).reshape([N * P, H]);
    return tf.sigmoid(dense(h, this.comp.out)).reshape([N, P, 3]) as tf.Tensor3D;
  }

  /** Component means μ [B, K, P, 3] of z_{1:K} (each [B, D]). */
  decode(z: tf.Tensor2D[]): tf.Tensor4D {
    const K = z.length, B = z[0].shape[0];
    return this.components(tf.concat(z, 0)).reshape([K, B, this.P, 3]).transpose([1, 0, 2, 3]) as tf.Tensor4D;
  }

  /** Guide, decoders and likelihood for images x [B, S, S, 3]; `rng` null uses the guide's means. */
  forward(x: tf.Tensor4D, rng: Rng | null): GenesisPass {
    const B = x.shape[0];
    const { logPi, z, kl } = this.infer(x, rng);
    const mu = this.decode(z);
    const logLik = gmmLogLik(x.reshape([B, this.P, 3]), mu, logPi, this.config.sigmaX);
    return { logPi, mu, kl, logLik };
  }

  dispose(): void {
    this.params.dispose();
    tf.dispose([this.features, ...this.evalNoise]);
  }
}
