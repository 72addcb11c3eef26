/**
 * GENESIS-S (Engelcke et al. 2020, §3 and App. B.1, Fig. 5), small enough to train on a CPU.
 *
 * One latent z_k per component. The guide and the prior mirror each other:
 *
 *     guide   q(z_{1:K} | x) = Π_k q(z_k | x, z_{1:k−1})    e = Enc(x); h_k = LSTM([e, z_{k−1}], h_{k−1})
 *     prior   p(z_{1:K})     = Π_k p(z_k | z_{1:k−1})       g_k = LSTM(z_{k−1}, g_{k−1})
 *
 * both Gaussian, read out of the LSTM state by a linear layer. Two decoders turn z_k into the
 * scene (the paper found two separate decoders necessary for GENESIS-S to decompose):
 *
 * - **mask decoder** → a logit map a_k for k < K, then stick-breaking (Eq. 4, `stickBreaking`)
 *   gives the mixing probabilities π_k, the last slot taking the remainder. Ours is a spatial
 *   broadcast decoder whose first layer is predicted from z_k: unit j is
 *   relu(Σ_f A_k[f, j] φ_f(u, v) + c_k[j]) over the quadratic pixel features φ = (u, v, u², v², uv),
 *   so z_k places and shapes ellipses and half-planes that a shared per-pixel layer combines.
 * - **component decoder** → the component means μ_k, a spatial broadcast decoder (Watters et al.
 *   2019): z_k tiled over the image beside the pixel coordinates, then per-pixel layers (1×1
 *   convolutions), sigmoid output.
 *
 * The likelihood is the spatial Gaussian mixture of Eq. 3 (`gmmLogLik`) with a fixed σ_x, and
 * the objective is GECO's err + β·KL (`Geco`), with KL = Σ_k KL(q(z_k | x, z_{<k}) ‖ p(z_k | z_{<k}))
 * evaluated in closed form at the sampled history.
 *
 * @example
 * ```ts
 * import { initTf, tf } from "./tf.ts";
 * import { Rng } from "./random.ts";
 * import { defaultGenesisConfig, GenesisS } from "./genesis_model.ts";
 * await initTf();
 * const model = new GenesisS(defaultGenesisConfig({ size: 32 }), new Rng(0));
 * const x = tf.zeros([2, 32, 32, 3]) as tf.Tensor4D;
 * const pass = model.forward(x, new Rng(1)); // logPi [2, K, 1024], mu [2, K, 1024, 3], kl [2], logLik [2]
 * ```
 * @module
 */
import { tf } from "./tf.ts";
import type { Rng } from "./random.ts";
import { assignValues, type Dense, lstmCell, Params } from "./train.ts";
import { gmmLogLik, stickBreaking } from "./genesis.ts";
import { requireInt, requirePositive } from "./validate.ts";

/** Architecture of GENESIS-S. */
export interface GenesisConfig {
  /** Image side in pixels (images are size × size × 3). */
  size: number;
  /** K: number of components (the last is the stick-breaking remainder). */
  slots: number;
  /** Size of each z_k. */
  zDim: number;
  /** Output channels of the encoder's stride-2 3×3 convolutions. */
  encChannels: number[];
  /** Units of the encoder's dense layer (e). */
  encHidden: number;
  /** Units of the guide's and of the prior's LSTM. */
  lstm: number;
  /** Units of the mask decoder's two per-pixel layers. */
  maskHidden: number;
  /** Units of the component decoder's per-pixel hidden layer; 0: none (a quadratic colour field per slot). */
  compHidden: number;
  /** σ_x of the Gaussian mixture likelihood. */
  sigmaX: number;
}

export function defaultGenesisConfig(overrides: Partial<GenesisConfig> = {}): GenesisConfig {
  return {
    size: 32,
    slots: 5,
    zDim: 16,
    encChannels: [32, 32, 64],
    encHidden: 128,
    lstm: 64,
    maskHidden: 32,
    compHidden: 32,
    sigmaX: 0.1,
    ...overrides,
  };
}

/** Checks a config, naming the bad field. */
export function validateGenesisConfig(c: GenesisConfig): void {
  requireInt(c, "size", 8, 256);
  requireInt(c, "slots", 2, 16);
  requireInt(c, "zDim", 1, 512);
  requireInt(c, "encHidden", 1, 4096);
  requireInt(c, "lstm", 1, 4096);
  requireInt(c, "maskHidden", 1, 1024);
  requireInt(c, "compHidden", 0, 1024);
  requirePositive(c, "sigmaX");
  const ch = c.encChannels;
  if (!Array.isArray(ch) || ch.length < 1 || ch.some((v) => !(Number.isInteger(v) && v >= 1))) {
    throw new RangeError(`encChannels must list at least one positive integer, got [${ch}]`);
  }
  if (c.size % 2 ** ch.length !== 0) {
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
  /** Σ_k KL(q(z_k | x, z_{<k}) ‖ p(z_k | z_{<k})) per image [B]. */
  kl: tf.Tensor1D;
  /** log p(x | z) per image [B] (Eq. 3). */
  logLik: tf.Tensor1D;
}

interface Lstm {
  wx: tf.Variable;
  wh: tf.Variable;
  b: tf.Variable;
}

const dense = (x: tf.Tensor, l: Dense) => tf.add(tf.matMul(x as tf.Tensor2D, l.w), l.b) as tf.Tensor2D;

/** GENESIS-S with its parameters. */
export class GenesisS {
  readonly params: Params;
  readonly P: number;
  /** Quadratic pixel features φ(u, v) = (u, v, u², v², uv), [P, 5], u, v ∈ (−1, 1). */
  readonly features: tf.Tensor2D;
  private enc: { convs: Dense[]; fc: Dense };
  private guide: { core: Lstm; out: Dense };
  private prior: { core: Lstm; out: Dense };
  private mask: { a: Dense; c: Dense; hidden: Dense; out: Dense };
  private comp: { z: Dense; uv: tf.Variable; out: Dense | null };

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
    let cin = 3;
    const convs = c.encChannels.map((cout, l) => {
      const layer = p.conv(`enc.conv${l}`, 3, cin, cout);
      cin = cout;
      return layer;
    });
    const flat = cin * (c.size / 2 ** c.encChannels.length) ** 2;
    this.enc = { convs, fc: p.dense("enc.fc", flat, c.encHidden) };
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
    this.guide = {
      core: lstm("guide", c.encHidden + c.zDim),
      out: p.dense("guide.out", c.lstm, 2 * c.zDim, 1),
    };
    this.prior = { core: lstm("prior", c.zDim), out: p.dense("prior.out", c.lstm, 2 * c.zDim, 1) };
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
    const Hc = c.compHidden;
    this.comp = Hc === 0
      ? { z: p.dense("comp.z", c.zDim, 3, 1), uv: p.normal("comp.uv", [5, 3], 0.1), out: null }
      : {
        z: p.dense("comp.z", c.zDim, Hc),
        uv: p.normal("comp.uv", [5, Hc], 1),
        out: p.dense("comp.out", Hc, 3, 1),
      };
  }

  /** Encoder: stride-2 3×3 convolutions (ReLU), flatten, dense (ReLU): x [B, S, S, 3] → e [B, E]. */
  encode(x: tf.Tensor4D): tf.Tensor2D {
    let h: tf.Tensor4D = x;
    for (const l of this.enc.convs) h = tf.relu(tf.add(tf.conv2d(h, l.w as tf.Tensor4D, 2, "same"), l.b));
    return tf.relu(dense(h.reshape([x.shape[0], -1]), this.enc.fc));
  }

  /** z_{1:K} from the guide, with the per-image KL against the autoregressive prior. */
  infer(x: tf.Tensor4D, rng: Rng | null): { z: tf.Tensor2D[]; kl: tf.Tensor1D } {
    const c = this.config, B = x.shape[0], H = c.lstm, D = c.zDim;
    const e = this.encode(x);
    const eProj = tf.matMul(e, this.guide.core.wx.slice([0, 0], [c.encHidden, 4 * H]));
    const wzGuide = this.guide.core.wx.slice([c.encHidden, 0], [D, 4 * H]);
    const gaussian = (h: tf.Tensor2D, out: Dense) => {
      const [mu, raw] = tf.split(dense(h, out), 2, 1);
      return { mu, sigma: tf.add(tf.softplus(raw), 1e-4) };
    };
    let hq = tf.zeros([B, H]) as tf.Tensor2D, cq = hq, hp = hq, cp = hq;
    let zPrev = tf.zeros([B, D]) as tf.Tensor2D;
    const z: tf.Tensor2D[] = [];
    let kl = tf.zeros([B]) as tf.Tensor1D;
    for (let k = 0; k < c.slots; k++) {
      // guide: h_k = LSTM([e, z_{k−1}], h_{k−1});  q(z_k | x, z_{<k}) = N(μ_q, σ_q²)
      [hq, cq] = lstmCell(
        tf.add(
          tf.add(eProj, tf.matMul(zPrev, wzGuide)),
          tf.add(tf.matMul(hq, this.guide.core.wh), this.guide.core.b),
        ),
        cq,
      );
      const q = gaussian(hq, this.guide.out);
      // prior: g_k = LSTM(z_{k−1}, g_{k−1});  p(z_k | z_{<k}) = N(μ_p, σ_p²)
      [hp, cp] = lstmCell(
        tf.add(
          tf.add(tf.matMul(zPrev, this.prior.core.wx), tf.matMul(hp, this.prior.core.wh)),
          this.prior.core.b,
        ),
        cp,
      );
      const pr = gaussian(hp, this.prior.out);
      // z_k = μ_q + σ_q ε (the mean when rng is null)
      zPrev = (rng
        ? tf.add(q.mu, tf.mul(q.sigma, tf.tensor2d(rng.normalArray(B * D), [B, D])))
        : q.mu) as tf.Tensor2D;
      z.push(zPrev);
      // KL(N(μ_q, σ_q²) ‖ N(μ_p, σ_p²)) = log σ_p/σ_q + (σ_q² + (μ_q − μ_p)²) / 2σ_p² − ½, summed over dims
      const klk = tf.sum(
        tf.sub(
          tf.add(
            tf.log(tf.div(pr.sigma, q.sigma)),
            tf.div(
              tf.add(tf.square(q.sigma), tf.square(tf.sub(q.mu, pr.mu))),
              tf.mul(2, tf.square(pr.sigma)),
            ),
          ),
          0.5,
        ),
        1,
      ) as tf.Tensor1D;
      kl = tf.add(kl, klk) as tf.Tensor1D;
    }
    return { z, kl };
  }

  /**
   * Mask decoder for z [N, D] → logits a [N, P]:
   * a = w₂ · relu(W₁ · relu(φ A(z) + c(z)) + b₁) + b₂, with A(z) [5, H] and c(z) [H] linear in z.
   */
  maskLogits(z: tf.Tensor2D): tf.Tensor2D {
    const N = z.shape[0], H = this.config.maskHidden, P = this.P;
    const A = dense(z, this.mask.a).reshape([N, 5, H]).transpose([1, 0, 2]).reshape([5, N * H]);
    // [P, 5] · [5, N·H] → [P, N, H]: one matMul for every slot's first layer
    const h1 = tf.relu(
      tf.add(tf.matMul(this.features, A).reshape([P, N, H]), dense(z, this.mask.c).expandDims(0)),
    );
    const h2 = tf.relu(dense(h1.reshape([P * N, H]), this.mask.hidden));
    return dense(h2, this.mask.out).reshape([P, N]).transpose() as tf.Tensor2D;
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

  /** Decodes z_{1:K} → log π [B, K, P] (stick-breaking) and μ [B, K, P, 3]. */
  decode(z: tf.Tensor2D[]): { logPi: tf.Tensor3D; mu: tf.Tensor4D } {
    const K = this.config.slots, B = z[0].shape[0], P = this.P;
    // slot-major [K·B, D] → logits [K−1, B, P] → [B, K−1, P]
    const logits = this.maskLogits(tf.concat(z.slice(0, K - 1), 0)).reshape([K - 1, B, P]).transpose([
      1,
      0,
      2,
    ]);
    const logPi = stickBreaking(logits) as tf.Tensor3D;
    const mu = this.components(tf.concat(z, 0)).reshape([K, B, P, 3]).transpose([1, 0, 2, 3]) as tf.Tensor4D;
    return { logPi, mu };
  }

  /** Guide, decoders and likelihood for images x [B, S, S, 3]; `rng` null uses the guide's means. */
  forward(x: tf.Tensor4D, rng: Rng | null): GenesisPass {
    const B = x.shape[0];
    const { z, kl } = this.infer(x, rng);
    const { logPi, mu } = this.decode(z);
    const logLik = gmmLogLik(x.reshape([B, this.P, 3]), mu, logPi, this.config.sigmaX);
    return { logPi, mu, kl, logLik };
  }

  dispose(): void {
    this.params.dispose();
    this.features.dispose();
  }
}
