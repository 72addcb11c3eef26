/**
 * The Generative Query Network (Eslami et al., Science 2018; Algorithms S2 and S3), small enough
 * to train on a CPU.
 *
 * **Representation** ψ — a conv "tower" over each context image, the viewpoint broadcast in at the
 * G×G stage (G = S/4):
 *
 *     x [S,S,3] → conv2×2/2 → (+ conv3×3) → conv2×2/2 → ⊕ v → conv3×3 → conv1×1 → r_k [G,G,R]
 *
 * ("pool" averages r_k over the G×G positions and broadcasts it back, so r no longer carries the
 * context camera's image frame). The scene representation is the sum over views, r = Σ_k r_k.
 *
 * **Generator** — L layers of a conv-DRAW recurrence with one shared ConvLSTM core per side at
 * G×G, a canvas u at full resolution, and a latent map z_l [G,G,Z] per layer. For l = 0..L−1:
 *
 *     π_l = N(η^π(h^g_l))                                     prior factor
 *     (c^e, h^e)_{l+1} = C^e(x^q, v^q, r, c^e_l, h^e_l, h^g_l)   inference core (x^q read by a conv4×4/4)
 *     q_l = N(η^e(h^e_{l+1})),   z_l ~ q_l                     posterior factor
 *     (c^g, h^g)_{l+1} = C^g(v^q, r, z_l, c^g_l, h^g_l)          generator core
 *     u_{l+1} = u_l + Δ(h^g_{l+1})                              canvas: a 4×4, stride-4 transposed conv
 *
 *     ELBO = log N(x^q | μ = η^g(u_L), σ_t) − Σ_l KL(q_l ‖ π_l)
 *
 * η^π and η^e are 3×3 convs giving a mean and a log-std per latent; η^g is a 1×1 conv and a sigmoid
 * (pixels live in [0, 1]). The inference core sees the canvas through h^g (u is a fixed function of
 * the h^g history), and pixel coordinates are broadcast in beside r, so a "pool" r can place things.
 * Generation (Algorithm S3) runs the same recurrence with z_l drawn from π_l and returns the mean
 * image η^g(u_L) (the pixel noise of σ_t is not added to what is shown).
 *
 * The inputs that stay fixed over the L layers (v^q, r, coordinates, the read of x^q) enter each
 * core's gate convolution linearly, so their share of it is computed once per pass, not per layer.
 *
 * **Epipolar read** (`epipolarDepths` D > 0; the geometry-aware GQN of Tobin et al. 2019) — what the
 * context views show at D points along each query pixel's ray (`epipolar.ts`: mean colour μ_d,
 * disagreement, in-frame share, on-floor flag). Per pixel, at S×S:
 *
 *     e = relu(W₀ · read),   ĉ₀ = Σ_d softmax_d(W_α e)_d μ_d,   e' = relu(conv3×3([e, ĉ₀]))
 *
 * relu(conv4×4/4(e')) joins both cores' fixed inputs beside r, and the image is drawn from the canvas
 * and the read together:
 *
 *     η^g(u_L) = sigmoid(W_o relu(W_h [u_L, e', ĉ₀]))
 *
 * The defaults turn on all four options below (foot read, surface cue, composite pick, copy gate): together
 * they drew the objects best and gave samples that differ most where no view saw (`docs/results/gqn.md`);
 * each can be turned off, and `depthPick` "attend" is the softmax above.
 *
 * With `footRead` the read also holds, per depth, the colour the views show at the floor point below
 * P_d (inside an object standing on the floor, the object hides that point; in free space it is floor).
 * With `surfaceRead` it holds the surface cue too: per view, δ = D̂ − z(P_d), how far past P_d the view
 * sees, with D̂ the depth its image alone tells (`depthFromFloorContact`: exact on the floor, an object's
 * foot elsewhere); δ > 0 says P_d is free space.
 * With `depthPick` "composite" the colour is picked as volume rendering composites a ray, front to
 * back: each depth gets an occupancy from its own features (one small MLP shared over depths, a bias per
 * depth) plus the pixel's joint logit W_α e, and the first occupied depth takes the weight
 * (`compositeWeights`); the weights join e' beside ĉ₀:
 *
 *     a_d = (W_α e)_d + w₂ relu(W₁ read_d + b_d),   w_d = σ(a_d) Π_{d'<d} (1 − σ(a_{d'})),   ĉ₀ = Σ_d w_d μ_d
 *
 * With `copyGate` a gate made from the read alone — no latent reaches it — copies the read's colour
 * where the read is sure, so the latents only draw where it is not:
 *
 *     γ = σ(W_γ e'),   image = γ ĉ₀ + (1 − γ) η^g(u_L)
 *
 * @example
 * ```ts
 * import { initTf, tf } from "../core/tf.ts";
 * import { Rng } from "../core/random.ts";
 * import { defaultGqnConfig, Gqn } from "./model.ts";
 * import { sampleQueryBatch } from "../scenes/views.ts";
 * await initTf();
 * const model = new Gqn(defaultGqnConfig(), new Rng(0));
 * const batch = sampleQueryBatch(new Rng(1), { batch: 4, size: 32 });
 * const inputs = model.tensors(batch);
 * const meanElbo = tf.tidy(() => model.elbo(inputs, 2.0, new Rng(2)).elbo.mean().dataSync()[0]); // nats per scene
 * ```
 * @module
 */
import { tf } from "../core/tf.ts";
import { gaussianKl } from "../nn/gaussian.ts";
import type { Rng } from "../core/random.ts";
import type { Dense } from "../nn/dense.ts";
import { lstmCell } from "../nn/lstm.ts";
import { Params } from "../nn/params.ts";
import { requireInt, requireKnownKeys } from "../core/validate.ts";
import { type QueryBatch, VIEW_DIM } from "../scenes/views.ts";
import { epipolarFeatures, epipolarRead } from "./epipolar.ts";

/** Architecture of the GQN. */
export interface GqnConfig {
  /** Image side S (multiple of 4); the cores run at S/4 × S/4. */
  size: number;
  /** "tower": r keeps its G×G map; "pool": r_k is averaged over positions (a vector per view). */
  representation: "tower" | "pool";
  /** Channels of the tower's two halves. */
  towerChannels: [number, number];
  /** R: channels of r. */
  rChannels: number;
  /** Channels of each ConvLSTM core's state. */
  hidden: number;
  /** Z: channels of each layer's latent map. */
  zChannels: number;
  /** L: number of latent layers. */
  layers: number;
  /** Channels of the canvas u. */
  canvasChannels: number;
  /** Channels of the inference core's read of x^q. */
  readChannels: number;
  /** D: depth samples per query ray of the epipolar read (`epipolar.ts`); 0 turns the read off. */
  epipolarDepths: number;
  /** Channels of the features made from the epipolar read. */
  epipolarChannels: number;
  /** The read also gives, per depth, the colour the views show at the floor point below P_d. */
  footRead: boolean;
  /** The image copies the read's colour where a gate made from the read alone says so. */
  copyGate: boolean;
  /**
   * The read also gives, per depth, the surface cue: how far past P_d each view sees, by the depth its
   * image alone tells (the floor's, or an object's foot on the floor; `depthFromFloorContact`).
   */
  surfaceRead: boolean;
  /**
   * How the read's colour ĉ₀ is picked among the D depths: "attend", a softmax over the depths' joint
   * features; "composite", front-to-back compositing of a per-depth occupancy (the first surface wins).
   */
  depthPick: "attend" | "composite";
}

export function defaultGqnConfig(overrides: Partial<GqnConfig> = {}): GqnConfig {
  return {
    size: 32,
    representation: "tower",
    towerChannels: [32, 64],
    rChannels: 32,
    hidden: 32,
    zChannels: 4,
    layers: 4,
    canvasChannels: 16,
    readChannels: 16,
    epipolarDepths: 8,
    epipolarChannels: 32,
    footRead: true,
    copyGate: true,
    surfaceRead: true,
    depthPick: "composite",
    ...overrides,
  };
}

/** Checks a config, naming the bad field. */
export function validateGqnConfig(c: GqnConfig): void {
  requireKnownKeys(c, Object.keys(defaultGqnConfig()), "GQN config key");
  requireInt(c, "size", 8, 256);
  if (c.size % 4 !== 0) throw new RangeError(`size must be a multiple of 4, got ${c.size}`);
  if (c.representation !== "tower" && c.representation !== "pool") {
    throw new RangeError(`representation must be "tower" or "pool", got ${JSON.stringify(c.representation)}`);
  }
  const t = c.towerChannels;
  if (!Array.isArray(t) || t.length !== 2 || t.some((v) => !(Number.isInteger(v) && v >= 1 && v <= 1024))) {
    throw new RangeError(`towerChannels must be two integers in 1..1024, got ${JSON.stringify(t)}`);
  }
  requireInt(c, "rChannels", 1, 1024);
  requireInt(c, "hidden", 1, 1024);
  requireInt(c, "zChannels", 1, 256);
  requireInt(c, "layers", 1, 64);
  requireInt(c, "canvasChannels", 1, 256);
  requireInt(c, "readChannels", 1, 256);
  if (c.epipolarDepths !== 0) requireInt(c, "epipolarDepths", 2, 64);
  requireInt(c, "epipolarChannels", 1, 256);
  if (c.depthPick !== "attend" && c.depthPick !== "composite") {
    throw new RangeError(`depthPick must be "attend" or "composite", got ${JSON.stringify(c.depthPick)}`);
  }
  for (const k of ["footRead", "copyGate", "surfaceRead"] as const) {
    if (typeof c[k] !== "boolean") {
      throw new RangeError(`${k} must be true or false, got ${JSON.stringify(c[k])}`);
    }
  }
}

/** A batch as tensors: contexts flattened over views. */
export interface GqnInputs {
  b: number;
  m: number;
  /** [B·M, S, S, 3] */
  context: tf.Tensor4D;
  /** [B·M, 7] */
  contextV: tf.Tensor2D;
  /** [B, S, S, 3] */
  query: tf.Tensor4D;
  /** [B, 7] */
  queryV: tf.Tensor2D;
  /** The epipolar read [B, S, S, D·6] (`epipolar.ts`), when the model uses one. */
  epipolar?: tf.Tensor4D;
  /** Its mean colours μ_d alone, [B·S·S, D, 3]. */
  epipolarColour?: tf.Tensor3D;
}

/** What Algorithm S2 produces for a batch. */
export interface GqnPass {
  /** ELBO per scene [B], nats. */
  elbo: tf.Tensor1D;
  /** Σ_l KL(q_l ‖ π_l) per scene [B]. */
  kl: tf.Tensor1D;
  /** KL per layer, batch mean [L]. */
  klLayers: tf.Tensor1D;
  /** The reconstruction η^g(u_L) [B, S, S, 3] from the posterior sample. */
  mean: tf.Tensor4D;
}

interface Core {
  /** Gate conv over the per-layer inputs (z or h^g, and h). */
  w: tf.Variable;
  /** Gate conv over the fixed inputs, and the gate bias. */
  fixed: Dense;
}

const LOG_2PI = Math.log(2 * Math.PI);

const conv = (x: tf.Tensor4D, l: Dense, stride = 1, pad: "same" | "valid" = "same") =>
  tf.add(tf.conv2d(x, l.w as tf.Tensor4D, stride, pad), l.b) as tf.Tensor4D;

/** Broadcasts [N, D] to [N, G, G, D]. */
const broadcastMap = (v: tf.Tensor2D, g: number) =>
  tf.tile(tf.reshape(v, [v.shape[0], 1, 1, v.shape[1]]), [1, g, g, 1]) as tf.Tensor4D;

/** What the model makes of the epipolar read (`readEpipolar`). */
interface EpipolarFeatures {
  /** [e', ĉ₀] at S×S. */
  full: tf.Tensor4D;
  /** The copy gate γ = σ(W_γ e') [B, S, S, 1] and ĉ₀ (with `copyGate`). */
  gate?: { gamma: tf.Tensor4D; picked: tf.Tensor4D };
  /** relu(conv4×4/4(e')) at G×G. */
  grid: tf.Tensor4D;
}

/** ĉ = Σ_d w_d μ_d for weights w [B, S, S, D] that sum to 1 over d: [B, S, S, 3]. */
function pickColour(w: tf.Tensor4D, mu: tf.Tensor3D): tf.Tensor4D {
  const [b, S, , D] = w.shape;
  return tf.reshape(tf.matMul(tf.reshape(w, [b * S * S, 1, D]), mu), [b, S, S, 3]) as tf.Tensor4D;
}

/**
 * Front-to-back compositing along each ray, as volume rendering does: with occupancies o_d = σ(a_d),
 *
 *     w_d = o_d Π_{d' < d} (1 − o_{d'}),   the last depth (the floor) opaque,
 *
 * so the weights sum to 1 and the first occupied depth takes them. In logs for stability:
 * log o = −softplus(−a), log(1 − o) = −softplus(a). `a` is [B, S, S, D]; returns w, the same shape.
 */
export function compositeWeights(a: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const D = a.shape[3];
    const before = new Float32Array(D * D), opaqueLast = new Float32Array(D).fill(1);
    for (let d = 0; d < D; d++) for (let e = d + 1; e < D; e++) before[d * D + e] = 1; // [d' < d]
    opaqueLast[D - 1] = 0;
    const flat = tf.reshape(a, [-1, D]) as tf.Tensor2D;
    const logFree = tf.neg(tf.softplus(flat)) as tf.Tensor2D; // log(1 − o_d)
    const logHit = tf.mul(tf.neg(tf.softplus(tf.neg(flat))), tf.tensor1d(opaqueLast)); // log o_d; o_{D−1} = 1
    const logPass = tf.matMul(logFree, tf.tensor2d(before, [D, D])); // Σ_{d'<d} log(1 − o_{d'})
    return tf.reshape(tf.exp(tf.add(logHit, logPass)), a.shape) as tf.Tensor4D;
  });
}

/** The GQN with its parameters. */
export class Gqn {
  readonly params: Params;
  /** G: the cores' spatial size. */
  readonly g: number;
  /** Pixel coordinates in (−1, 1) at G×G, [1, G, G, 2]. */
  readonly coords: tf.Tensor4D;
  private tower: Dense[];
  private gen: Core;
  private inf: Core;
  private read: Dense;
  private prior: Dense;
  private post: Dense;
  private delta: Dense;
  private out: Dense;
  private epi: Dense[] = [];
  /** With `depthPick` "composite": the per-depth occupancy MLP (shared over depths, a bias per depth). */
  private occupancy?: { perDepth: Dense; depth: tf.Variable; out: Dense };
  /** Numbers per depth in the epipolar read. */
  get readFeatures(): number {
    return epipolarFeatures(this.config.footRead, this.config.surfaceRead);
  }

  constructor(readonly config: GqnConfig, rng: Rng) {
    validateGqnConfig(config);
    const c = config, p = this.params = new Params(rng);
    const G = this.g = c.size / 4, [c1, c2] = c.towerChannels, R = c.rChannels, H = c.hidden, Z = c.zChannels;
    const xy = new Float32Array(G * G * 2);
    for (let i = 0; i < G; i++) {
      for (let j = 0; j < G; j++) {
        xy[(i * G + j) * 2] = (2 * (j + 0.5)) / G - 1;
        xy[(i * G + j) * 2 + 1] = (2 * (i + 0.5)) / G - 1;
      }
    }
    this.coords = tf.tensor4d(xy, [1, G, G, 2]);
    this.tower = [
      p.conv("tower.0", 2, 3, c1),
      p.conv("tower.1", 3, c1, c1),
      p.conv("tower.2", 2, c1, c2),
      p.conv("tower.3", 3, c2 + VIEW_DIM, c2),
      p.conv("tower.4", 1, c2, R),
    ];
    const D = c.epipolarDepths, E = c.epipolarChannels;
    const fixedIn = VIEW_DIM + R + 2 + (D > 0 ? R : 0);
    const core = (name: string, varIn: number, fixed: number): Core => ({
      w: p.normal(`${name}.w`, [3, 3, varIn + H, 4 * H], 1 / Math.sqrt(9 * (varIn + H + fixed))),
      fixed: {
        w: p.normal(`${name}.fixed.w`, [1, 1, fixed, 4 * H], 1 / Math.sqrt(varIn + H + fixed)),
        b: p.zeros(`${name}.b`, [4 * H]),
      },
    });
    this.gen = core("gen", Z, fixedIn);
    this.inf = core("inf", H, fixedIn + c.readChannels);
    this.read = p.conv("read", 4, 3, c.readChannels);
    this.prior = { w: p.normal("prior.w", [3, 3, H, 2 * Z], 0.01), b: p.zeros("prior.b", [2 * Z]) };
    this.post = { w: p.normal("post.w", [3, 3, H, 2 * Z], 0.01), b: p.zeros("post.b", [2 * Z]) };
    this.delta = p.dense("delta", H, 16 * c.canvasChannels, 1);
    if (D > 0) {
      this.epi = [
        p.conv("epi.0", 1, D * this.readFeatures, E),
        p.conv("epi.attend", 1, E, D),
        p.conv("epi.1", 3, E + 3 + (c.depthPick === "composite" ? D : 0), E),
        p.conv("epi.down", 4, E, R),
        p.conv("epi.out", 1, c.canvasChannels + E + 3, E),
        ...(c.copyGate ? [p.conv("epi.gate", 1, E, 1)] : []),
      ];
      if (c.depthPick === "composite") {
        const F = this.readFeatures, Hc = 16;
        this.occupancy = {
          perDepth: p.dense("occ.0", F, Hc),
          depth: p.normal("occ.depth", [D, Hc], 0.1),
          out: p.dense("occ.1", Hc, 1, 1),
        };
      }
      this.out = p.conv("out", 1, E, 3);
    } else this.out = p.conv("out", 1, c.canvasChannels, 3);
  }

  /** Copies a {@link QueryBatch} into tensors (dispose them, or build inside a tidy). */
  tensors(batch: QueryBatch): GqnInputs {
    const S = this.config.size;
    if (batch.size !== S) {
      throw new RangeError(`batch images are ${batch.size}×${batch.size}; the model takes ${S}×${S}`);
    }
    const { b, m } = batch;
    return {
      b,
      m,
      context: tf.tensor4d(batch.context, [b * m, S, S, 3]),
      contextV: tf.tensor2d(batch.contextV, [b * m, VIEW_DIM]),
      query: tf.tensor4d(batch.query, [b, S, S, 3]),
      queryV: tf.tensor2d(batch.queryV, [b, VIEW_DIM]),
      ...(this.config.epipolarDepths > 0 ? this.epipolarTensors(batch) : {}),
    };
  }

  /** The epipolar read as a tensor, and its mean colours apart (slicing them per pass is slow on wasm). */
  private epipolarTensors(batch: QueryBatch): { epipolar: tf.Tensor4D; epipolarColour: tf.Tensor3D } {
    const D = this.config.epipolarDepths, S = this.config.size, n = batch.b * S * S, F = this.readFeatures;
    const read = epipolarRead(batch, D, undefined, this.config.footRead, this.config.surfaceRead),
      colour = new Float32Array(n * D * 3);
    for (let i = 0; i < n * D; i++) {
      for (let ch = 0; ch < 3; ch++) colour[i * 3 + ch] = read[i * F + ch];
    }
    return {
      epipolar: tf.tensor4d(read, [batch.b, S, S, D * F]),
      epipolarColour: tf.tensor3d(colour, [n, D, 3]),
    };
  }

  /**
   * What the model makes of the epipolar read, per query pixel: features e = relu(W₀ · read), weights
   * over the D depths — the attention α = softmax_d(W_α e), or with `depthPick` "composite" the
   * compositing weights w (`compositeWeights`) — and the colour they pick, ĉ = Σ_d w_d μ_d; then
   * e' = relu(conv3×3([e, ĉ (, w)])). Returns [e', ĉ] at S×S (for the image) and relu(conv4×4/4(e'))
   * at G×G (for both cores, beside r).
   */
  private readEpipolar(read: tf.Tensor4D, mu: tf.Tensor3D): EpipolarFeatures {
    const [e0, attend, e1, down] = this.epi;
    const e = tf.relu(conv(read, e0)) as tf.Tensor4D;
    const logits = conv(e, attend); // W_α e
    const occ = this.occupancy;
    let w: tf.Tensor4D, extra: tf.Tensor4D[];
    if (occ) {
      // a_d = W_α e + w₂ relu(W₁ read_d + b_d): each depth's own features, and the pixel's joint ones.
      const [b, S] = read.shape, F = this.readFeatures, D = this.config.epipolarDepths;
      const h = tf.add(tf.matMul(tf.reshape(read, [b * S * S * D, F]), occ.perDepth.w), occ.perDepth.b);
      const hd = tf.relu(tf.add(tf.reshape(h, [b * S * S, D, -1]), occ.depth));
      const own = tf.add(tf.matMul(tf.reshape(hd, [b * S * S * D, -1]), occ.out.w), occ.out.b);
      w = compositeWeights(tf.add(logits, tf.reshape(own, [b, S, S, D])) as tf.Tensor4D);
      extra = [w]; // how sharp the pick is joins e'
    } else {
      w = tf.softmax(logits) as tf.Tensor4D; // α = softmax_d(W_α e)
      extra = [];
    }
    const picked = pickColour(w, mu); // ĉ = Σ_d w_d μ_d
    const e2 = tf.relu(conv(tf.concat([e, picked, ...extra], 3) as tf.Tensor4D, e1)) as tf.Tensor4D;
    return {
      full: tf.concat([e2, picked], 3) as tf.Tensor4D,
      grid: tf.relu(conv(e2, down, 4, "valid")) as tf.Tensor4D,
      ...(this.config.copyGate
        ? { gate: { gamma: tf.sigmoid(conv(e2, this.epi[5])) as tf.Tensor4D, picked } }
        : {}),
    };
  }

  /** ψ(x_k, v_k) for every context view: [B·M, G, G, R] (tower) or [B·M, 1, 1, R] (pool). */
  representViews(context: tf.Tensor4D, contextV: tf.Tensor2D): tf.Tensor4D {
    const t = this.tower;
    let h = tf.relu(conv(context, t[0], 2, "valid"));
    h = tf.relu(tf.add(h, conv(h, t[1]))); // residual
    h = tf.relu(conv(h, t[2], 2, "valid"));
    h = tf.relu(conv(tf.concat([h, broadcastMap(contextV, this.g)], 3), t[3]));
    h = tf.relu(conv(h, t[4], 1));
    return this.config.representation === "pool" ? tf.mean(h, [1, 2], true) as tf.Tensor4D : h;
  }

  /** r = Σ_k ψ(x_k, v_k), broadcast to [B, G, G, R]. */
  represent(inputs: GqnInputs): tf.Tensor4D {
    const rk = this.representViews(inputs.context, inputs.contextV);
    const [, h, w, R] = rk.shape;
    const r = tf.sum(tf.reshape(rk, [inputs.b, inputs.m, h, w, R]), 1) as tf.Tensor4D;
    return h === this.g ? r : tf.tile(r, [1, this.g, this.g, 1]) as tf.Tensor4D;
  }

  /** The per-pass inputs shared by both cores: [v^q, r, coordinates (, the epipolar grid)] at G×G. */
  private fixedInputs(r: tf.Tensor4D, queryV: tf.Tensor2D, grid?: tf.Tensor4D): tf.Tensor4D {
    const b = r.shape[0];
    const parts = [broadcastMap(queryV, this.g), r, tf.tile(this.coords, [b, 1, 1, 1])];
    return tf.concat(grid ? [...parts, grid] : parts, 3) as tf.Tensor4D;
  }

  /** The epipolar features for a pass (none when the model has no epipolar read). */
  private epipolarOf(inputs: GqnInputs): EpipolarFeatures | undefined {
    if (this.config.epipolarDepths === 0) return undefined;
    if (!inputs.epipolar || !inputs.epipolarColour) {
      throw new Error("this model reads the context along query rays: build inputs with tensors()");
    }
    return this.readEpipolar(inputs.epipolar, inputs.epipolarColour);
  }

  private step(core: Core, fixed: tf.Tensor4D, input: tf.Tensor4D, h: tf.Tensor4D, c: tf.Tensor4D) {
    const gates = tf.add(
      fixed,
      tf.conv2d(tf.concat([input, h], 3), core.w as tf.Tensor4D, 1, "same"),
    ) as tf.Tensor4D;
    return lstmCell(gates, c); // a ConvLSTM step
  }

  private gaussian(l: Dense, h: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] {
    const [m, s] = tf.split(conv(h, l), 2, 3) as [tf.Tensor4D, tf.Tensor4D];
    return [m, tf.clipByValue(s, -6, 3) as tf.Tensor4D];
  }

  /** Canvas increment Δ(h): a transposed 4×4 stride-4 conv (per-cell dense layer, then depth-to-space). */
  private write(h: tf.Tensor4D): tf.Tensor4D {
    const [b, G] = h.shape, H = this.config.hidden, C = this.config.canvasChannels;
    const flat = tf.add(tf.matMul(tf.reshape(h, [b * G * G, H]), this.delta.w), this.delta.b);
    const cells = tf.reshape(flat, [b, G, G, 4, 4, C]);
    return tf.reshape(tf.transpose(cells, [0, 1, 3, 2, 4, 5]), [b, 4 * G, 4 * G, C]) as tf.Tensor4D;
  }

  /**
   * Mean image η^g(u) = sigmoid(conv1×1(u)); with the epipolar read, η^g(u, e) =
   * sigmoid(conv1×1(relu(conv1×1([u, e', ĉ])))).
   */
  private render(u: tf.Tensor4D, epi?: EpipolarFeatures): tf.Tensor4D {
    if (!epi) return tf.sigmoid(conv(u, this.out)) as tf.Tensor4D;
    const h = tf.relu(conv(tf.concat([u, epi.full], 3) as tf.Tensor4D, this.epi[4])) as tf.Tensor4D;
    const drawn = tf.sigmoid(conv(h, this.out)) as tf.Tensor4D;
    if (!epi.gate) return drawn;
    const { gamma, picked } = epi.gate; // γ ĉ₀ + (1 − γ) · drawn
    return tf.add(tf.mul(gamma, picked), tf.mul(tf.sub(1, gamma), drawn)) as tf.Tensor4D;
  }

  private noise(rng: Rng, b: number): tf.Tensor4D {
    const G = this.g, Z = this.config.zChannels;
    return tf.tensor4d(rng.normalArray(b * G * G * Z), [b, G, G, Z]);
  }

  /** Algorithm S2: the posterior pass and the ELBO at pixel standard deviation `sigma`. */
  elbo(inputs: GqnInputs, sigma: number, rng: Rng): GqnPass {
    if (!(sigma > 0)) throw new RangeError(`sigma must be > 0, got ${sigma}`);
    const { b } = inputs, G = this.g, H = this.config.hidden, S = this.config.size;
    const r = this.represent(inputs);
    const epi = this.epipolarOf(inputs);
    const fixed = this.fixedInputs(r, inputs.queryV, epi?.grid);
    const read = tf.relu(conv(inputs.query, this.read, 4, "valid"));
    const fixedG = conv(fixed, this.gen.fixed);
    const fixedE = conv(tf.concat([fixed, read], 3) as tf.Tensor4D, this.inf.fixed);
    const zeros = () => tf.zeros([b, G, G, H]) as tf.Tensor4D;
    let hg = zeros(), cg = zeros(), he = zeros(), ce = zeros();
    let u = tf.zeros([b, S, S, this.config.canvasChannels]) as tf.Tensor4D;
    const kls: tf.Tensor1D[] = [];
    for (let l = 0; l < this.config.layers; l++) {
      const [mp, lp] = this.gaussian(this.prior, hg);
      [he, ce] = this.step(this.inf, fixedE, hg, he, ce);
      const [mq, lq] = this.gaussian(this.post, he);
      const z = tf.add(mq, tf.mul(tf.exp(lq), this.noise(rng, b))) as tf.Tensor4D;
      [hg, cg] = this.step(this.gen, fixedG, z, hg, cg);
      u = tf.add(u, this.write(hg)) as tf.Tensor4D;
      kls.push(tf.sum(gaussianKl(mq, tf.exp(lq), mp, tf.exp(lp)), [1, 2, 3]) as tf.Tensor1D); // KL(q ‖ π) per image
    }
    const mean = this.render(u, epi);
    const d = S * S * 3;
    const sq = tf.sum(tf.square(tf.sub(inputs.query, mean)), [1, 2, 3]);
    const logLik = tf.sub(tf.mul(sq, -0.5 / (sigma * sigma)), d * (Math.log(sigma) + 0.5 * LOG_2PI));
    const klPer = tf.stack(kls, 1) as tf.Tensor2D; // [B, L]
    const kl = tf.sum(klPer, 1) as tf.Tensor1D;
    return { elbo: tf.sub(logLik, kl) as tf.Tensor1D, kl, klLayers: tf.mean(klPer, 0) as tf.Tensor1D, mean };
  }

  /** Algorithm S3: mean images [B, S, S, 3] at the query viewpoints, z_l drawn from the prior. */
  generate(inputs: GqnInputs, rng: Rng): tf.Tensor4D {
    return this.generateLayers(inputs, rng, false)[0];
  }

  /**
   * Algorithm S3 keeping what the canvas shows after each layer: η^g(u_1), …, η^g(u_L)
   * (with `everyLayer` false, only η^g(u_L)).
   */
  generateLayers(inputs: GqnInputs, rng: Rng, everyLayer = true): tf.Tensor4D[] {
    const { b } = inputs, G = this.g, H = this.config.hidden, S = this.config.size;
    const epi = this.epipolarOf(inputs);
    const fixedG = conv(this.fixedInputs(this.represent(inputs), inputs.queryV, epi?.grid), this.gen.fixed);
    let hg = tf.zeros([b, G, G, H]) as tf.Tensor4D, cg = hg;
    let u = tf.zeros([b, S, S, this.config.canvasChannels]) as tf.Tensor4D;
    const shown: tf.Tensor4D[] = [];
    for (let l = 0; l < this.config.layers; l++) {
      const [mp, lp] = this.gaussian(this.prior, hg);
      const z = tf.add(mp, tf.mul(tf.exp(lp), this.noise(rng, b))) as tf.Tensor4D;
      [hg, cg] = this.step(this.gen, fixedG, z, hg, cg);
      u = tf.add(u, this.write(hg)) as tf.Tensor4D;
      if (everyLayer || l === this.config.layers - 1) shown.push(this.render(u, epi));
    }
    return shown;
  }

  dispose(): void {
    this.params.dispose();
    this.coords.dispose();
  }
}
