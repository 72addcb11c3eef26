/**
 * AIR-3D with no labels (paper §3.2, Fig. 6–7; App. I): an inference network
 * q(z | x) trained to maximise the ELBO of the generative model *through the renderer*,
 *
 *     ELBO(x) = E_q[ log p(x | z) ] − KL(q(type) ‖ p(type)) − KL(q(pos) ‖ p(pos)) − KL(q(R) ‖ p(R)),
 *
 * with p(x | z) the blurred Gaussian likelihood of `likelihood.ts`, type ~ Discrete(⅓, ⅓, ⅓),
 * position ~ N(0, diag(s²)) (App. I.3: z_where ~ N(0, Σ_where); s matches the scenes' spread), and
 * the rotation uniform on SO(3). The guide is
 *
 *     type ~ Cat(softmax(ℓ)),   (u, v, z) = μ + σ ⊙ ε,   R = exp([σ_R ε_R]×) · R̂_type,
 *
 * with ε, ε_R ~ N(0, I) and R̂_type the 6-D rotation (Zhou et al. 2019) the network picks among the
 * sampled type's K proposals ({@link ROTATION_PROPOSALS}). Its gradient has three parts:
 *
 * - **continuous latents, reparameterised**: ∂ log p / ∂(u, v, z, turn) by central finite
 *   differences through the renderer (`RenderLikelihood.gradient`), chained into the network by the
 *   surrogate g·(μ + σε) (g held constant) for the centre, and ⟨G, R̂⟩ with
 *   G = ½ Σ_a g_a [e_a]× R̂ for the rotation (its derivative along a turn [e_b]×R̂ is g_b) — given
 *   to each type's best-scoring proposal, whose index the pick logits learn (multiple-choice learning);
 * - **the discrete type, by the score function** (REINFORCE) with NVIL's variance reduction
 *   (Mnih & Gregor 2014, `lib/air/estimators.ts`): (ℓ − b(x) − c)/s · ∇ log q(type), ℓ = log p(x | z)
 *   and b(x) a learned, input-dependent baseline;
 * - **the KL terms, analytically** (categorical against uniform, Gaussian against Gaussian, and the
 *   rotation's spread: −3 log σ_R up to a constant).
 *
 * **Several objects (Fig. 7; App. I.3–I.4).** With `maxObjects` N > 1 the guide runs N steps of the
 * same network (one with z_pres's logit): step t draws z_pres ~ Bernoulli(σ(ω_pres)) and the object's
 * latents from what the objects drawn before it leave unexplained, max(x − render(z_<t), 0) — AIR's
 * recurrence R(x, z_<t), with the earlier latents reaching step t through the renderer instead of an
 * RNN state. The prior is z_pres ~ Bernoulli(α) per step (so n ~ Binomial(N, α)); each present
 * object's gradients are taken in the company of the others (its finite differences re-render the
 * whole scene), z_pres's by REINFORCE with the same NVIL signal as the type's.
 *
 * **The orbit camera (App. I).** With a camera guide (`cameraNet`, `camera_guide.ts`), each image first
 * draws z_cam ~ q(z_cam | x), the camera's angle on its orbit; the objects are read where that camera
 * shows them, as with the fixed camera, and rendered in the light it sees, l(θ) = (−sin θ, 0, cos θ)
 * (`orbit.ts`). z_cam's gradient is reparameterised like the centre's: ∂ log p / ∂θ by central
 * differences (the scene re-rendered at θ ± ε), through g_cam·(μ + σε), less its KL to N(0, s²). The
 * object steps read z_cam's sample as an input held constant (no gradient flows to the camera guide
 * through them).
 *
 * Nothing in a training step reads a ground-truth latent: {@link UnsupervisedGuide.step} takes
 * images only.
 *
 * The supervised baseline of Fig. 6c is the identical network trained on the true latents, with
 * the reproduction's Euler-angle regression for the rotation ({@link supervisedLoss}).
 *
 * @example
 * ```ts
 * import { initTf } from "../core/tf.ts";
 * import { Rng } from "../core/random.ts";
 * import { singleObjectNet, UnsupervisedGuide } from "./unsupervised.ts";
 * await initTf();
 * const net = singleObjectNet(new Rng(0), { size: 32, hidden: 32 });
 * const guide = new UnsupervisedGuide(net, new Rng(1), { size: 32, sigma: 0.2, blurPx: 1, lr: 1e-3 });
 * const stats = await guide.step(new Float32Array(4 * 32 * 32), 4); // images only
 * stats.elbo; // the batch's mean ELBO estimate
 * ```
 * @module
 */
import { readsSync, stopGradient, tf } from "../core/tf.ts";
import type { Rng } from "../core/random.ts";
import { Params } from "../nn/params.ts";
import { dense } from "../nn/dense.ts";
import { AdamW } from "../nn/adam.ts";
import { type Camera, eulerZYX, expRotation, POSITION_RANGE } from "../scenes/primitives.ts";
import { Rasteriser, unprojectAtZ } from "../scenes/render.ts";
import type { SlotDataset } from "../scenes/scenes3d.ts";
import { eulerFromMatrix, matMul3, type SlotPrediction } from "../metrics/slots.ts";
import { SignalNormalizer } from "../air/estimators.ts";
import { Baseline } from "../air/baseline.ts";
import { GLIMPSE, N_TYPES, rotationFrom6d, smallCnn, TO_IMAGE } from "./blocks.ts";
import { glimpse, glimpseHost } from "../nn/spatial.ts";
import { meanPool } from "./mlp.ts";
import { type FitObject, sceneOf } from "./fit.ts";
import { blurImage, RenderLikelihood } from "./likelihood.ts";
import { CAMERA_PRIOR_STD, cameraGradient, cameraKl, type CameraNet } from "./camera_guide.ts";
import { viewLight } from "./orbit.ts";

/** The prior's std of each centre coordinate: that of U(range), (hi − lo)/√12 (x, y ≈ 0.52, z ≈ 0.17). */
export const PRIOR_STD = POSITION_RANGE.map(([lo, hi]) => (hi - lo) / Math.sqrt(12));
/** The largest |μ| per centre coordinate the guide can output (a little beyond the scenes' ranges). */
const MU_REACH = [1.2, 1.2, 0.4];
/**
 * Rotation proposals per type. A cube's or a squat cylinder's likelihood has strong local maxima a
 * quarter turn from the truth (the same outline, other shading), which a gradient cannot leave; with
 * K proposals per type, the best one (by log p) takes each image's gradient, and the network learns
 * to pick it (multiple-choice learning, Guzmán-Rivera et al. 2012).
 */
export const ROTATION_PROPOSALS = 4;
/** log σ bounds of the guide's Gaussians (position and rotation spread). */
const LOG_STD = { min: -7, max: 0, start: -2 };

/** Outputs of {@link singleObjectNet} for n images. */
export interface SingleOutputs {
  /** [n, 3] type logits. */
  typeLogits: tf.Tensor2D;
  /** [n, 3] centre means (u, v, z: image plane and depth). */
  mu: tf.Tensor2D;
  /** [n, 3] log σ of the centre. */
  logStd: tf.Tensor2D;
  /** [n, 3·K, 9] the K rotations R̂ each type's head proposes (row-major; type-major). */
  rot: tf.Tensor3D;
  /** [n, 3, K] logits of which proposal the network picks, per type. */
  pick: tf.Tensor3D;
  /** [n, 1] log σ_R of the rotation's spread. */
  rotLogStd: tf.Tensor2D;
  /** [n, 3] Euler angles (the supervised baseline's rotation output). */
  euler: tf.Tensor2D;
  /** [n, 1] logit of z_pres (the networks built with `presence`: scenes of several objects). */
  presence?: tf.Tensor2D;
}

/**
 * The one-object network both learning rules train, AIR's two stages for one step: z_where from the
 * whole image (a small CNN on the image pooled 2×, one hidden layer: the centre's mean and spread),
 * then z_what from a glimpse cut at the centre's mean at full resolution (a small CNN with the first
 * stage's hidden state as context: the type logits, each type's rotation and its spread, and the
 * supervised baseline's Euler angles). The glimpse is cut on the host, so its place carries no
 * gradient (as in the supervised models' glimpse reader).
 */
export interface SingleObjectNet {
  params: Params;
  /** What it was built with (`singleObjectNet`'s options, all given): a copy built from it takes the same weights. */
  shape: SingleNetShape;
  size: number;
  /** Rotation proposals per type (K). */
  proposals: number;
  /** Whether it outputs z_pres's logit: one step of the recurrent guide for several objects. */
  presence: boolean;
  /** Whether its z_what stage reads the camera's angle (the orbit camera: `forward`'s `yaw`). */
  cameraInput: boolean;
  /** `yaw`: each image's sampled z_cam (radians), for a network built with `cameraInput`. */
  forward(images: Float32Array, n: number, yaw?: Float32Array): SingleOutputs;
  /** The first stage alone (z_where, z_pres): `forward`'s `mu`, `logStd`, `presence`, and its hidden state `h`. */
  where(images: Float32Array, n: number): WhereOutputs;
  /**
   * The second stage alone (z_what), for n images given their first stage's `h` and `mu` (rows in the
   * same order as `images`): `forward` is `what(images, where(images, n), n, yaw)` with `where`'s outputs.
   */
  what(
    images: Float32Array,
    where: Pick<WhereOutputs, "h" | "mu">,
    n: number,
    yaw?: Float32Array,
  ): WhatOutputs;
}

/** The first stage's outputs: {@link SingleOutputs}' `mu`, `logStd`, `presence`, and the hidden state `h` [n, hidden]. */
export type WhereOutputs = Pick<SingleOutputs, "mu" | "logStd" | "presence"> & { h: tf.Tensor2D };
/** The second stage's outputs: the rest of {@link SingleOutputs}. */
export type WhatOutputs = Omit<SingleOutputs, "mu" | "logStd" | "presence">;

/** {@link singleObjectNet}'s options. */
export interface SingleNetShape {
  size: number;
  hidden: number;
  proposals?: number;
  presence?: boolean;
  cameraInput?: boolean;
}

/**
 * Builds the network for `size`×`size` images (size a multiple of 16) with `hidden` units per stage;
 * with `presence`, also z_pres's logit from the first stage (its weights drawn after all the others,
 * so the rest start as without it).
 */
export function singleObjectNet(
  rng: Rng,
  options: SingleNetShape,
): SingleObjectNet {
  const { size, hidden, proposals: K = ROTATION_PROPOSALS, presence = false, cameraInput = false } = options;
  if (!Number.isInteger(K) || K < 1 || K > 16) {
    throw new RangeError(`proposals must be an integer in 1..16, got ${K}`);
  }
  if (!Number.isInteger(size) || size < 16 || size % 16) {
    throw new RangeError(`imageSize must be a multiple of 16, got ${size}`);
  }
  if (!Number.isInteger(hidden) || hidden < 1) {
    throw new RangeError(`hidden must be an integer ≥ 1, got ${hidden}`);
  }
  const params = new Params(rng);
  const enc = smallCnn(params, "where_cnn", 32);
  const flat = (size / 8) ** 2 * 32;
  const fc = params.dense("where_fc", flat, hidden);
  const whereHead = params.dense("where", hidden, 6, 0.1); // μ 3 · log σ 3
  const glimpseCnn = smallCnn(params, "what_cnn", 32);
  const gFlat = (GLIMPSE.size / 4) ** 2 * 32;
  // The camera's angle joins z_what's input as (sin θ, cos θ) (the orbit camera; App. I).
  const whatFc = params.dense("what_fc", gFlat + hidden + (cameraInput ? 2 : 0), hidden);
  // type 3 · K 6-D rotations per type · K pick logits per type · log σ_R 1 · Euler 3
  const whatHead = params.dense("what", hidden, 3 + 3 * K * 7 + 4, 0.1);
  const presenceHead = presence ? params.dense("presence", hidden, 1, 0.1) : null;
  const clampLog = (t: tf.Tensor) => tf.clipByValue(tf.add(t, LOG_STD.start), LOG_STD.min, LOG_STD.max);
  /**
   * Glimpses [n, g, g] of the images at pose (s, u, v) = (half-width, μ_u, −μ_v) in image units: cut on
   * the host from μ read back (wasm, cpu), or on the device with μ's gradient stopped (webgpu).
   */
  function glimpseAt(images: Float32Array, mu: tf.Tensor2D, n: number): tf.Tensor3D {
    if (!readsSync()) {
      const [u, v] = tf.split(stopGradient(mu), [1, 1, 1], 1);
      const where = tf.concat(
        [tf.fill([n, 1], GLIMPSE.halfWidth), tf.mul(u, TO_IMAGE), tf.mul(v, -TO_IMAGE)],
        1,
      );
      return glimpse(
        tf.tensor3d(images.subarray(0, n * size * size), [n, size, size]),
        where as tf.Tensor2D,
        GLIMPSE.size,
      );
    }
    const m = mu.dataSync(), poses = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) {
      poses.set([GLIMPSE.halfWidth, m[i * 3] * TO_IMAGE, -m[i * 3 + 1] * TO_IMAGE], i * 3);
    }
    const source = Int32Array.from({ length: n }, (_, i) => i);
    return tf.tensor3d(glimpseHost(images, size, source, poses, GLIMPSE.size), [
      n,
      GLIMPSE.size,
      GLIMPSE.size,
    ]);
  }

  /** z_where and z_pres from the whole image (pooled 2×). */
  function where(images: Float32Array, n: number): WhereOutputs {
    const half = size / 2;
    const x = tf.tensor4d(meanPool(images, n, size, 2), [n, half, half, 1]);
    const h = tf.relu(dense(enc(x).coarse.reshape([n, flat]) as tf.Tensor2D, fc));
    const [muRaw, logStd] = tf.split(dense(h, whereHead), [3, 3], 1);
    return {
      h,
      mu: tf.mul(tf.tanh(muRaw), tf.tensor1d(MU_REACH)) as tf.Tensor2D,
      logStd: clampLog(logStd) as tf.Tensor2D,
      ...(presenceHead ? { presence: dense(h, presenceHead) } : {}),
    };
  }

  /** z_what from a glimpse at each image's mean centre, with the first stage's h (and the camera's angle) as context. */
  function what(
    images: Float32Array,
    { h, mu }: Pick<WhereOutputs, "h" | "mu">,
    n: number,
    yaw?: Float32Array,
  ): WhatOutputs {
    checkYaw(cameraInput, yaw);
    // z_what: a glimpse at each image's mean centre (image-plane u, v); the place carries no gradient.
    const g = glimpseAt(images, mu, n).reshape([n, GLIMPSE.size, GLIMPSE.size, 1]) as tf.Tensor4D;
    const gf = glimpseCnn(g).coarse.reshape([n, gFlat]);
    const context = yaw
      ? [
        tf.tensor2d(
          Float32Array.from({ length: 2 * n }, (_, k) => (k % 2 ? Math.cos : Math.sin)(yaw[k >> 1])),
          [n, 2],
        ),
      ]
      : [];
    const hw = tf.relu(dense(tf.concat([gf, h, ...context], 1) as tf.Tensor2D, whatFc));
    const [typeLogits, rot6, pick, rotLogStd, euler] = tf.split(dense(hw, whatHead), [
      3,
      18 * K,
      3 * K,
      1,
      3,
    ], 1);
    return {
      typeLogits: typeLogits as tf.Tensor2D,
      rot: rotationFrom6d(rot6.reshape([n, N_TYPES * K, 6])) as tf.Tensor3D,
      pick: pick.reshape([n, N_TYPES, K]) as tf.Tensor3D,
      rotLogStd: clampLog(rotLogStd) as tf.Tensor2D,
      euler: euler as tf.Tensor2D,
    };
  }

  return {
    params,
    shape: { size, hidden, proposals: K, presence, cameraInput },
    size,
    proposals: K,
    presence,
    cameraInput,
    where,
    what,
    forward(images, n, yaw) {
      checkYaw(cameraInput, yaw);
      const { h, ...stage } = where(images, n);
      return { ...stage, ...what(images, { h, mu: stage.mu }, n, yaw) };
    },
  };
}

/** Throws unless `yaw` is given exactly when the network reads the camera (`cameraInput`). */
function checkYaw(cameraInput: boolean, yaw: Float32Array | undefined): void {
  if (cameraInput !== !!yaw) {
    throw new RangeError(
      cameraInput ? "this network reads the camera: give each image's yaw" : "this network takes no yaw",
    );
  }
}

/** [e_a]× for a = 0, 1, 2 (row-major): the generators of turns about the world axes. */
const GENERATORS = [
  Float64Array.of(0, 0, 0, 0, 0, -1, 0, 1, 0),
  Float64Array.of(0, 0, 1, 0, 0, 0, -1, 0, 0),
  Float64Array.of(0, -1, 0, 1, 0, 0, 0, 0, 0),
];

/** Settings of {@link UnsupervisedGuide}. */
export interface UnsupervisedOptions {
  size: number;
  camera?: Camera;
  /** σ of the likelihood (pixel values in [0, 1]). */
  sigma: number;
  /** σ of the likelihood's blur, pixels. */
  blurPx: number;
  lr: number;
  /**
   * The type's gradient: `"reinforce"` (the score function with NVIL, as the paper) or `"enumerate"`
   * (E_q over the three types summed out — exact, from the same three renders).
   */
  typeGradient?: "reinforce" | "enumerate";
  /**
   * z_pres's gradient (several objects): `"reinforce"` (the score function with NVIL: the scene's
   * ℓ − Σ KL less b(x)) or `"local"` (each step's z_pres summed out with the other steps' draws held:
   * q(1)·f(1) + q(0)·f(0), f the scene's log p with the step's object in or out, less its KL — one
   * extra render per step).
   */
  presenceGradient?: "reinforce" | "local";
  /** Steps of the guide, the most objects a scene holds (N; default 1). N > 1 needs a network with `presence`. */
  maxObjects?: number;
  /** α of the prior z_pres ~ Bernoulli(α) per step (App. I.3: n ~ Binomial(N, α)); default ½. */
  presencePrior?: number;
  /**
   * The orbit camera's guide q(z_cam | x) (`camera_guide.ts`): each image's scene is then drawn and
   * scored in the light of its sampled camera angle, which the object network reads (`cameraInput`).
   */
  cameraNet?: CameraNet;
}

/** Each image's z_cam drawn from q(z_cam | x): its mean, log σ, noise and sample (radians). */
export interface CameraDraw {
  mu: Float32Array;
  logStd: Float32Array;
  eps: Float32Array;
  yaw: Float32Array;
}

/** α of z_pres's prior when none is given. */
export const DEFAULT_PRESENCE_PRIOR = 0.5;

/** One step's draw for one image: whether an object is there (z_pres), and its latents. */
export interface SceneDraw {
  present: boolean;
  type: number;
  eps: number[];
  epsR: number[];
  turnNoise: Float64Array;
  object: FitObject;
}

/** What one training step measured: batch means of the ELBO, log p and the KL, and the renders it took. */
export interface StepStats {
  elbo: number;
  logLik: number;
  kl: number;
  /** Renders spent in the step. */
  renders: number;
}

/**
 * Trains a {@link SingleObjectNet} by the ELBO through the renderer; `step(images, n)` is one
 * update from a batch of images (the only input it has).
 */
export class UnsupervisedGuide {
  readonly lik: RenderLikelihood;
  readonly baseline: Baseline;
  readonly normalizer = new SignalNormalizer(0.9);
  /** z_pres's own normaliser: its signal is ℓ less the present objects' KL (several objects only). */
  readonly presenceNormalizer = new SignalNormalizer(0.9);
  readonly opt: AdamW;
  /** Running mean and std of ℓ = log p(x | z), the units the baseline regresses in. */
  #signal = { mean: 0, std: 1, started: false };
  /** The renderer of the guide's later steps' inputs (what the objects so far leave unexplained). */
  readonly #raster: Rasteriser;
  readonly #rendered: Float32Array;
  /**
   * While true, z_cam is held at the prior's mean, 0, and the camera guide takes no gradient (the
   * orbit camera's warm-up: until the objects are placed, ∂ log p / ∂θ mostly asks to dim objects drawn
   * in the wrong place — a light turned away either side — and drives μ_cam to the orbit's ends).
   */
  cameraFrozen = false;
  constructor(
    readonly net: SingleObjectNet,
    readonly rng: Rng,
    readonly options: UnsupervisedOptions,
  ) {
    const steps = options.maxObjects ?? 1, alpha = options.presencePrior ?? DEFAULT_PRESENCE_PRIOR;
    if (!Number.isInteger(steps) || steps < 1 || steps > 8) {
      throw new RangeError(`maxObjects must be an integer in 1..8, got ${steps}`);
    }
    if (steps > 1 && !net.presence) {
      throw new RangeError(`maxObjects ${steps} needs a network built with presence (z_pres's logit)`);
    }
    if (!(alpha > 0 && alpha < 1)) throw new RangeError(`presencePrior must be in (0, 1), got ${alpha}`);
    if (!!options.cameraNet !== net.cameraInput) {
      throw new RangeError(
        options.cameraNet
          ? "a camera guide needs an object network built with cameraInput"
          : "an object network built with cameraInput needs a camera guide (cameraNet)",
      );
    }
    this.#raster = new Rasteriser({
      size: options.size,
      ...(options.camera ? { camera: options.camera } : {}),
    });
    this.#rendered = new Float32Array(options.size * options.size);
    this.lik = new RenderLikelihood({
      size: options.size,
      sigma: options.sigma,
      blurPx: options.blurPx,
      ...(options.camera ? { camera: options.camera } : {}),
    });
    const pooled = (options.size / 2) ** 2;
    // b(x) regresses ℓ (the type's signal) and, with several objects, ℓ − Σ KL (z_pres's).
    this.baseline = new Baseline(rng.child("baseline"), pooled, steps > 1 ? 2 : 1, 64);
    const all = new Params(rng.child("all"));
    for (
      const p of [net.params, this.baseline.params, ...(options.cameraNet ? [options.cameraNet.params] : [])]
    ) {
      for (const [k, v] of p.vars) all.vars.set(k, v);
    }
    this.opt = new AdamW(all, { lr: options.lr });
  }

  /** The latents of a guide sample, drawn on the host from the network's outputs for image i. */
  sample(o: HostOutputs, i: number) {
    const logits = o.typeLogits.subarray(i * 3, i * 3 + 3);
    const m = Math.max(...logits), p = Array.from(logits, (l) => Math.exp(l - m)), s = p[0] + p[1] + p[2];
    let u = this.rng.uniform() * s, type = 0;
    while (type < 2 && (u -= p[type]) > 0) type++;
    const eps = [0, 1, 2].map(() => this.rng.normal(0, 1)), epsR = [0, 1, 2].map(() => this.rng.normal(0, 1));
    const pos = [0, 1, 2].map((a) => o.mu[i * 3 + a] + Math.exp(o.logStd[i * 3 + a]) * eps[a]);
    const sr = Math.exp(o.rotLogStd[i]), turnNoise = expRotation(epsR.map((e) => e * sr));
    const R = matMul3(turnNoise, proposal(o, i, type, picked(o, i, type)));
    const object: FitObject = { type, u: pos[0], v: pos[1], z: pos[2], R };
    return { type, eps, epsR, turnNoise, object };
  }

  /** One ELBO step on `n` images (size² values each): {@link surrogate}, then AdamW. */
  async step(images: Float32Array, n: number): Promise<StepStats> {
    const { loss, stats } = await this.surrogate(images, n);
    await this.opt.step(loss);
    return stats;
  }

  /**
   * The ELBO step's surrogate loss on `n` images (size² values each) and its stats, with the renders,
   * the sampling and the read-backs done. Per image: one guide sample of the scene ({@link sampleScenes});
   * for each object it holds, in the company of the others, log p(x | z) for every type at its best
   * proposal (1 + 2K renders), the finite-difference gradient of log p in the centre (4 renders, 6
   * under perspective) and, for the cube's and the cylinder's best proposal, in the rotation (12
   * renders); the type's REINFORCE term with the NVIL baseline (or the sum over types); z_pres's
   * REINFORCE term with the same signal (several objects); the pick logits' cross-entropy; and the
   * KL terms (an absent object's what and where take no part).
   */
  async surrogate(images: Float32Array, n: number): Promise<{ loss: () => tf.Scalar; stats: StepStats }> {
    const { size } = this.options, px = size * size, rendersBefore = this.lik.renders;
    const pooled = meanPool(images, n, size, 2);
    // A pass without gradients gives the host what it samples from and b(x); the gradient pass below
    // repeats it (the same numbers) with the host's results held constant.
    const { inputs, hosts, draws, cam } = await this.sampleScenes(images, n);
    const bHost = await readTensor(() => this.baseline.apply(tf.tensor2d(pooled, [n, (size / 2) ** 2])));
    const outs = bHost.length / n;
    // Host: log p and the finite-difference gradients, per step of the guide.
    const K = this.net.proposals;
    const perStep = draws.map(() => ({
      gPos: new Float32Array(n * 3),
      eps: new Float32Array(n * 3),
      pickTarget: new Float32Array(n * 3 * K),
      pickMask: new Float32Array(n * 3),
      G: new Float32Array(n * 3 * K * 9),
      gSigmaR: new Float32Array(n),
      typeOneHot: new Float32Array(n * 3),
      ellAll: new Float32Array(n * 3),
      present: new Float32Array(n),
      // f(z_pres = 1) − f(z_pres = 0) of the step, the others held (the local presence gradient).
      presenceDelta: new Float32Array(n),
    }));
    const local = this.options.presenceGradient === "local" && !!this.net.presence;
    const ell = new Float32Array(n), gCam = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      this.lik.setImage(images.subarray(i * px, (i + 1) * px));
      if (cam) this.lik.setLight(viewLight(cam.yaw[i]));
      const steps = draws.map((row, t) => [row[i], t] as const).filter(([d]) => d.present);
      const objects = steps.map(([d]) => d.object);
      for (let j = 0; j < objects.length; j++) {
        const [s, t] = steps[j], host = hosts[t], a = perStep[t];
        // ℓ_t = log p(x | this object as type t at its sampled centre, its best proposal; the others
        // as they are) for every type: the sampled one's is REINFORCE's signal, all three are the
        // enumeration's. A sphere has one pose.
        const asType = (type: number, k: number): FitObject => {
          const R = matMul3(s.turnNoise, proposal(host, i, type, k));
          return { ...s.object, type, R };
        };
        const within = (o: FitObject) => objects.map((q, m) => (m === j ? o : q));
        const best = [0, 0, 0];
        for (let type = 0; type < 3; type++) {
          let top = -Infinity;
          for (let k = 0; k < (type === 0 ? 1 : K); k++) {
            const l = this.lik.logLik(within(asType(type, k)));
            if (l > top) [top, best[type]] = [l, k];
          }
          a.ellAll[i * 3 + type] = top;
        }
        objects[j] = asType(s.type, best[s.type]);
        const g = this.lik.gradient(objects, j, "centre");
        a.gPos.set([g[0], g[1], g[2]], i * 3);
        a.eps.set(s.eps, i * 3);
        // Each type's best proposal learns from its own turn gradient at the sampled centre (the
        // conditional ELBO given the type), so a type the guide seldom samples still has a pose:
        // G = ½ Σ_a g_a [e_a]× R̂, whose inner product with a turn [e_b]× R̂ is g_b. The pick logits
        // learn which proposal was best.
        for (let type = 1; type < 3; type++) {
          const gt = this.lik.gradient(within(asType(type, best[type])), j, "turns");
          const Rhat = proposal(host, i, type, best[type]), at = ((i * 3 + type) * K + best[type]) * 9;
          for (let e = 0; e < 3; e++) {
            const m = matMul3(GENERATORS[e], Rhat);
            for (let q = 0; q < 9; q++) a.G[at + q] += 0.5 * gt[3 + e] * m[q];
          }
          // ∂ log p / ∂σ_R through R = exp([σ_R ε_R]×) R̂: the sampled type's turn gradient along ε_R.
          if (type === s.type) a.gSigmaR[i] = gt[3] * s.epsR[0] + gt[4] * s.epsR[1] + gt[5] * s.epsR[2];
          a.pickTarget[(i * 3 + type) * K + best[type]] = 1;
          a.pickMask[i * 3 + type] = 1;
        }
        a.typeOneHot[i * 3 + s.type] = 1;
        a.present[i] = 1;
      }
      // ℓ = log p(x | the scene, each object at its type's best proposal): one object's is its ℓ_type.
      ell[i] = objects.length === 1
        ? perStep[steps[0][1]].ellAll[i * 3 + steps[0][0].type]
        : this.lik.logLik(objects);
      if (local) {
        // Each step's object in and out, the other steps' objects as drawn: f(1) − f(0) =
        // log p(x | with) − KL(its what, where) − log p(x | without).
        draws.forEach((row, t) => {
          const j = steps.findIndex(([, u]) => u === t), kl = klOf(hosts[t], i);
          perStep[t].presenceDelta[i] = j >= 0
            ? ell[i] - kl - this.lik.logLik(objects.filter((_, m) => m !== j))
            : this.lik.logLik([...objects, row[i].object]) - kl - ell[i];
        });
      }
      if (cam && objects.length && !this.cameraFrozen) {
        // ∂ log p / ∂z_cam by central differences: the whole scene re-rendered in the light of θ ± ε.
        gCam[i] = cameraGradient(this.lik, objects, cam.yaw[i]);
      }
    }
    // NVIL: the baseline regresses ℓ in running units; the residual is centred and scaled again.
    const sig = this.#signal, mean = ell.reduce((a, v) => a + v, 0) / n;
    const std = Math.sqrt(ell.reduce((a, v) => a + (v - mean) ** 2, 0) / n) || 1;
    if (!sig.started) Object.assign(sig, { mean, std, started: true });
    else sig.mean = 0.9 * sig.mean + 0.1 * mean, sig.std = 0.9 * sig.std + 0.1 * std;
    const target = ell.map((v) => (v - sig.mean) / sig.std);
    const advantage = this.normalizer.normalize(target.map((t, i) => t - bHost[i * outs]));
    // z_pres decides whether an object's what and where are drawn at all, so its signal is the part of
    // the ELBO a draw changes: ℓ − Σ_present KL(q(what, where) ‖ p), in the same units (z_pres's own KL is
    // analytic, below). With ℓ alone, an object would cost its presence nothing but z_pres's KL.
    const presenceTarget = new Float32Array(n);
    let klMean = 0;
    for (let i = 0; i < n; i++) {
      const objectsKl = draws.reduce((k, row, t) => k + (row[i].present ? klOf(hosts[t], i) : 0), 0);
      presenceTarget[i] = target[i] - objectsKl / sig.std;
      klMean += this.sceneKl(hosts, draws, i, cam) / n;
    }
    const presenceAdvantage = outs > 1
      ? this.presenceNormalizer.normalize(presenceTarget.map((t, i) => t - bHost[i * outs + 1]))
      : advantage;
    const stats = {
      elbo: mean - klMean,
      logLik: mean,
      kl: klMean,
      renders: this.lik.renders - rendersBefore,
    };

    const presence = this.net.presence, alpha = this.options.presencePrior ?? DEFAULT_PRESENCE_PRIOR;
    const loss = () => {
      const b = this.baseline.apply(tf.tensor2d(pooled, [n, (size / 2) ** 2]));
      const perImage: tf.Tensor[] = [], picks: tf.Tensor[] = [];
      let picked = 0;
      if (cam && !this.cameraFrozen) {
        // z_cam, reparameterised: g_cam·(μ + σε) (g_cam held constant) less KL(N(μ, σ²) ‖ N(0, s²)).
        const c = this.options.cameraNet!.forward(images, n), s = CAMERA_PRIOR_STD;
        const sample = tf.add(c.mu, tf.mul(tf.exp(c.logStd), tf.tensor1d(cam.eps)));
        const klCam = tf.add(
          tf.sub(Math.log(s), c.logStd),
          tf.sub(tf.div(tf.add(tf.exp(tf.mul(c.logStd, 2)), tf.square(c.mu)), 2 * s * s), 0.5),
        );
        perImage.push(tf.sub(tf.mul(sample, tf.tensor1d(gCam)), klCam));
      }
      draws.forEach((row, t) => {
        const out = this.net.forward(inputs[t], n, cam?.yaw), a = perStep[t];
        const { typeLogits, mu, logStd, rot, rotLogStd, pick } = out;
        // An absent object's what and where take no part (with one object, every step is present).
        const mask = (x: tf.Tensor) => presence ? tf.mul(x, tf.tensor1d(a.present)) : x;
        const logQ = tf.logSoftmax(typeLogits);
        const q = tf.exp(logQ);
        const oneHot = tf.tensor2d(a.typeOneHot, [n, 3]);
        // KL(q(type) ‖ U) = Σ q log q + log 3.
        const klType = tf.add(tf.sum(tf.mul(q, logQ), 1), Math.log(N_TYPES));
        // KL(N(μ, σ²) ‖ N(0, s²)) per coordinate = log(s/σ) + (σ² + μ²)/(2s²) − ½.
        const s2 = tf.tensor1d(PRIOR_STD.map((s) => s * s));
        const klPos = tf.sum(
          tf.add(
            tf.sub(tf.log(tf.tensor1d(PRIOR_STD)), logStd),
            tf.sub(tf.div(tf.add(tf.exp(tf.mul(logStd, 2)), tf.square(mu)), tf.mul(s2, 2)), 0.5),
          ),
          1,
        );
        // The rotation's spread: KL to the uniform density on SO(3), −3 log σ_R + const (small σ_R).
        const klRot = tf.mul(rotLogStd.reshape([n]), -3);
        // Reparameterised log p: g·(μ + σε) + ⟨G, R̂_type⟩ + σ_R·(g_R·ε_R), g and G held constant.
        const posSample = tf.add(mu, tf.mul(tf.exp(logStd), tf.tensor2d(a.eps, [n, 3])));
        const likSurrogate = tf.addN([
          tf.sum(tf.mul(posSample, tf.tensor2d(a.gPos, [n, 3])), 1),
          tf.sum(tf.mul(rot.reshape([n, 27 * K]), tf.tensor2d(a.G, [n, 27 * K])), 1),
          tf.mul(tf.exp(rotLogStd.reshape([n])), tf.tensor1d(a.gSigmaR)),
        ]);
        // The type: REINFORCE, advantage · log q(type), or the expectation Σ_t q_t ℓ_t enumerated.
        const score = this.options.typeGradient === "enumerate"
          ? tf.sum(tf.mul(q, tf.tensor2d(a.ellAll.map((v) => v - mean), [n, 3])), 1)
          : tf.mul(tf.sum(tf.mul(logQ, oneHot), 1), tf.tensor1d(advantage));
        const kl = tf.addN([klType, klPos, klRot]);
        perImage.push(mask(tf.sub(tf.add(likSurrogate, score), kl)));
        if (out.presence) {
          // z_pres: REINFORCE with its own advantage (ℓ − Σ KL, less b(x)), advantage · log q(z_pres), and its KL to
          // Bernoulli(α): q log(q/α) + (1 − q) log((1 − q)/(1 − α)).
          const logit = out.presence.reshape([n]), z = tf.tensor1d(row.map((d) => (d.present ? 1 : 0)));
          const logQ1 = logSigmoid(logit), logQ0 = logSigmoid(tf.neg(logit)), q1 = tf.sigmoid(logit);
          const logQz = tf.add(tf.mul(z, logQ1), tf.mul(tf.sub(1, z), logQ0));
          const klPres = tf.add(
            tf.mul(q1, tf.sub(logQ1, Math.log(alpha))),
            tf.mul(tf.sub(1, q1), tf.sub(logQ0, Math.log(1 - alpha))),
          );
          // Local: ∂/∂ω of q(1)·f(1) + q(0)·f(0) = q(1)·(f(1) − f(0)) + const, f held constant.
          const presenceTerm = local
            ? tf.mul(q1, tf.tensor1d(a.presenceDelta))
            : tf.mul(logQz, tf.tensor1d(presenceAdvantage));
          perImage.push(tf.sub(presenceTerm, klPres));
        }
        // The pick: cross-entropy of each type's pick logits against the proposal that scored best.
        picks.push(tf.neg(tf.sum(tf.mul(tf.logSoftmax(pick), tf.tensor3d(a.pickTarget, [n, 3, K])))));
        picked += a.pickMask.reduce((s, v) => s + v, 0);
      });
      const targets = outs > 1
        ? tf.stack([tf.tensor1d(target), tf.tensor1d(presenceTarget)], 1)
        : tf.tensor2d(target, [n, 1]);
      const baselineLoss = tf.mul(tf.mean(tf.square(tf.sub(b, targets))), outs);
      const pickLoss = tf.div(picks.length === 1 ? picks[0] : tf.addN(picks), Math.max(1, picked));
      return tf.addN([
        tf.neg(tf.mean(perImage.length === 1 ? perImage[0] : tf.addN(perImage))),
        baselineLoss,
        pickLoss,
      ]) as tf.Scalar;
    };
    return { loss, stats };
  }

  /**
   * One guide sample of each image's scene, step by step (AIR's recurrence, App. I.4): step t reads
   * what the objects drawn so far leave unexplained — the image less their rendering, clipped at 0
   * (the image itself at t = 0) — and draws z_pres (several objects) and the object's latents. Its
   * dependence on the earlier steps' latents goes through the renderer. With the orbit camera's
   * guide, z_cam is drawn first and every step reads it and renders in its light. Returns each step's
   * input, the network's outputs read back, the draws, and z_cam's draw (`cam`).
   */
  async sampleScenes(images: Float32Array, n: number) {
    const steps = this.options.maxObjects ?? 1;
    const cam = this.options.cameraNet ? await this.sampleCamera(images, n) : undefined;
    const inputs: Float32Array[] = [], hosts: HostOutputs[] = [], draws: SceneDraw[][] = [];
    const scenes: FitObject[][] = Array.from({ length: n }, () => []);
    for (let t = 0; t < steps; t++) {
      const input = t === 0
        ? images
        : unexplained(images, scenes, this.#raster, this.options.camera, this.#rendered, cam?.yaw);
      const host = await readForward(this.net, input, n, cam?.yaw);
      const row: SceneDraw[] = [];
      for (let i = 0; i < n; i++) {
        const present = host.presence ? this.rng.uniform() < 1 / (1 + Math.exp(-host.presence[i])) : true;
        const s = this.sample(host, i);
        row.push({ ...s, present });
        if (present) scenes[i].push(s.object);
      }
      inputs.push(input), hosts.push(host), draws.push(row);
    }
    return { inputs, hosts, draws, scenes, cam };
  }

  /** z_cam ~ q(z_cam | x) for n images (the orbit camera's guide). */
  async sampleCamera(images: Float32Array, n: number): Promise<CameraDraw> {
    const net = this.options.cameraNet;
    if (!net) throw new RangeError("sampleCamera needs a camera guide (cameraNet)");
    const [mu, logStd] = await readPair(() => {
      const o = net.forward(images, n);
      return [o.mu, o.logStd];
    });
    const eps = Float32Array.from({ length: n }, () => this.rng.normal(0, 1));
    if (this.cameraFrozen) return { mu, logStd, eps, yaw: new Float32Array(n) };
    const yaw = Float32Array.from(mu, (m, i) => m + Math.exp(logStd[i]) * eps[i]);
    return { mu, logStd, eps, yaw };
  }

  /** The KL of image i's sampled scene (nats): each present object's, each step's z_pres against Bernoulli(α), and z_cam's. */
  sceneKl(hosts: HostOutputs[], draws: SceneDraw[][], i: number, cam?: CameraDraw): number {
    const alpha = this.options.presencePrior ?? DEFAULT_PRESENCE_PRIOR;
    let kl = cam && !this.cameraFrozen ? cameraKl(cam.mu[i], cam.logStd[i]) : 0;
    draws.forEach((row, t) => {
      if (row[i].present) kl += klOf(hosts[t], i);
      const p = hosts[t].presence;
      if (p) {
        const q = 1 / (1 + Math.exp(-p[i]));
        kl += (q > 0 ? q * Math.log(q / alpha) : 0) + (q < 1 ? (1 - q) * Math.log((1 - q) / (1 - alpha)) : 0);
      }
    });
    return kl;
  }

  /** b(x) in nats for n images: the baseline's estimate of ℓ (its first output), from its running units. */
  async baselineNats(images: Float32Array, n: number): Promise<Float32Array> {
    const pooled = meanPool(images, n, this.options.size, 2), sig = this.#signal;
    const b = await readTensor(() =>
      this.baseline.apply(tf.tensor2d(pooled, [n, (this.options.size / 2) ** 2]))
    );
    const outs = b.length / n;
    return Float32Array.from({ length: n }, (_, i) => sig.mean + sig.std * b[i * outs]);
  }

  /**
   * The spread of the type's gradient (∂ELBO/∂ type logits of n images, App. A's measure): `draws`
   * estimates with fresh guide samples, the same samples for every estimator — REINFORCE alone,
   * REINFORCE less the NVIL baseline b(x), and the enumeration. Σ Var over the n·3 logits, the squared
   * norm of the mean, and their ratio (noise per unit of signal; lower is better).
   */
  async estimatorVariance(images: Float32Array, n: number, draws = 16) {
    if ((this.options.maxObjects ?? 1) !== 1) {
      throw new RangeError(
        `estimatorVariance measures the one-object guide (maxObjects 1), got ${this.options.maxObjects}`,
      );
    }
    if (!Number.isInteger(draws) || draws < 2) {
      throw new RangeError(`draws must be an integer ≥ 2, got ${draws}`);
    }
    const px = this.options.size * this.options.size;
    // The orbit camera: each image in the light of its camera's mean angle.
    const yaw = this.options.cameraNet ? (await this.sampleCamera(images, n)).mu : undefined;
    const host = await readForward(this.net, images, n, yaw);
    const b = await this.baselineNats(images, n);
    const names = ["reinforce", "reinforce_nvil", "enumerate"] as const;
    const sums = names.map(() => [new Float64Array(n * 3), new Float64Array(n * 3)]);
    for (let d = 0; d < draws; d++) {
      for (let i = 0; i < n; i++) {
        const s = this.sample(host, i), q = softmax3(host.typeLogits, i);
        this.lik.setImage(images.subarray(i * px, (i + 1) * px));
        if (yaw) this.lik.setLight(viewLight(yaw[i]));
        const ell = [0, 1, 2].map((t) =>
          this.lik.logLik([{
            ...s.object,
            type: t,
            R: matMul3(s.turnNoise, proposal(host, i, t, picked(host, i, t))),
          }])
        );
        const expected = q[0] * ell[0] + q[1] * ell[1] + q[2] * ell[2];
        for (let j = 0; j < 3; j++) {
          const score = (j === s.type ? 1 : 0) - q[j]; // ∂ log q(type) / ∂ logit j
          const g = [ell[s.type] * score, (ell[s.type] - b[i]) * score, q[j] * (ell[j] - expected)];
          g.forEach((v, e) => {
            sums[e][0][i * 3 + j] += v / n;
            sums[e][1][i * 3 + j] += (v / n) ** 2;
          });
        }
      }
    }
    return Object.fromEntries(names.map((name, e) => {
      let variance = 0, meanNorm2 = 0;
      for (let k = 0; k < n * 3; k++) {
        const m = sums[e][0][k] / draws;
        meanNorm2 += m * m;
        variance += Math.max(0, sums[e][1][k] / draws - m * m) * draws / (draws - 1);
      }
      return [name, { variance, meanNorm2, ratio: variance / Math.max(meanNorm2, 1e-30) }];
    }));
  }

  /** The mean ELBO of n images, one guide sample of the scene each (nats). */
  async meanElbo(images: Float32Array, n: number): Promise<number> {
    const px = this.options.size * this.options.size;
    let total = 0;
    for (let start = 0; start < n; start += 250) {
      const m = Math.min(250, n - start), batch = images.subarray(start * px, (start + m) * px);
      const { hosts, draws, scenes, cam } = await this.sampleScenes(batch, m);
      for (let i = 0; i < m; i++) {
        this.lik.setImage(batch.subarray(i * px, (i + 1) * px));
        if (cam) this.lik.setLight(viewLight(cam.yaw[i]));
        total += this.lik.logLik(scenes[i]) - this.sceneKl(hosts, draws, i, cam);
      }
    }
    return total / n;
  }

  dispose(): void {
    this.opt.dispose();
    this.baseline.params.dispose();
  }
}

/**
 * The input of the guide's later steps: what the objects drawn so far leave unexplained, per image
 * max(x − render(scenes[i]), 0), as a new batch (`rendered`: a size² scratch image; `yaw`: each
 * image's camera angle on the orbit, which sets its light).
 */
function unexplained(
  images: Float32Array,
  scenes: readonly FitObject[][],
  raster: Rasteriser,
  camera: Camera | undefined,
  rendered: Float32Array,
  yaw?: Float32Array,
): Float32Array {
  const px = rendered.length, out = new Float32Array(scenes.length * px);
  scenes.forEach((scene, i) => {
    if (yaw) raster.setLight(viewLight(yaw[i]));
    raster.draw(sceneOf(scene, camera), rendered, scene.map((o) => o.R));
    for (let p = 0; p < px; p++) out[i * px + p] = Math.max(0, images[i * px + p] - rendered[p]);
  });
  return out;
}

/** log σ(x) = min(x, 0) − log(1 + e^−|x|), stable for large |x| (from ops every backend differentiates). */
function logSigmoid(x: tf.Tensor): tf.Tensor {
  return tf.sub(tf.minimum(x, 0), tf.log1p(tf.exp(tf.neg(tf.abs(x)))));
}

/** softmax of image i's three type logits. */
function softmax3(logits: Float32Array, i: number): number[] {
  const l = logits.subarray(i * 3, i * 3 + 3), m = Math.max(l[0], l[1], l[2]);
  const e = Array.from(l, (v) => Math.exp(v - m)), s = e[0] + e[1] + e[2];
  return e.map((v) => v / s);
}

/**
 * The KL terms of image i (nats), as the step's tensors compute them: categorical against uniform,
 * each centre coordinate's Gaussian against the prior's, and −3 log σ_R + log 8π² − (3/2) log 2πe
 * for the rotation's spread against the uniform density on SO(3) (small σ_R).
 */
export function klOf(o: HostOutputs, i: number): number {
  const q = softmax3(o.typeLogits, i);
  let kl = Math.log(N_TYPES) + q.reduce((a, p) => a + (p > 0 ? p * Math.log(p) : 0), 0);
  for (let a = 0; a < 3; a++) {
    const ls = o.logStd[i * 3 + a], mu = o.mu[i * 3 + a], s = PRIOR_STD[a];
    kl += Math.log(s) - ls + (Math.exp(2 * ls) + mu * mu) / (2 * s * s) - 0.5;
  }
  return kl - 3 * o.rotLogStd[i] + Math.log(8 * Math.PI ** 2) - 1.5 * Math.log(2 * Math.PI * Math.E);
}

/** Proposal k of type t for image i (row-major 3×3). */
export function proposal(o: HostOutputs, i: number, t: number, k: number): Float32Array {
  const at = ((i * 3 + t) * o.proposals + k) * 9;
  return o.rot.subarray(at, at + 9);
}

/** The proposal the network picks for type t of image i (its highest pick logit). */
export function picked(o: HostOutputs, i: number, t: number): number {
  const K = o.proposals, l = o.pick.subarray((i * 3 + t) * K, (i * 3 + t + 1) * K);
  let best = 0;
  for (let k = 1; k < K; k++) if (l[k] > l[best]) best = k;
  return best;
}

/** The network's outputs read back to the host. */
export interface HostOutputs {
  /** [n, 3, K] pick logits. */
  pick: Float32Array;
  proposals: number;
  typeLogits: Float32Array;
  mu: Float32Array;
  logStd: Float32Array;
  rot: Float32Array;
  rotLogStd: Float32Array;
  euler: Float32Array;
  /** z_pres's logits (networks built with `presence`). */
  presence?: Float32Array;
}

/** The network's outputs for n images, read back asynchronously (no tensor outlives the call). */
export async function readForward(
  net: SingleObjectNet,
  images: Float32Array,
  n: number,
  yaw?: Float32Array,
): Promise<HostOutputs> {
  const names = ["typeLogits", "mu", "logStd", "rot", "pick", "rotLogStd", "euler", "presence"] as const;
  const out = tf.tidy(() => {
    const o = net.forward(images, n, yaw);
    return names.filter((k) => o[k]).map((k) => o[k]!);
  });
  const values = await Promise.all(out.map((t) => t.data() as Promise<Float32Array>));
  const proposals = out[names.indexOf("pick")].shape[2]!;
  tf.dispose(out);
  return { ...Object.fromEntries(names.map((k, i) => [k, values[i]])), proposals } as HostOutputs;
}

/**
 * One step of the guide as AIR reads at test time, for n images: the first stage (z_where, z_pres)
 * for all of them, the second (z_what) only for those whose z_pres logit is above 0 (all of them, for
 * a network without z_pres). Those rows hold {@link readForward}'s values; the others' z_what outputs
 * are left 0.
 */
export async function readPresent(
  net: SingleObjectNet,
  images: Float32Array,
  n: number,
  yaw?: Float32Array,
): Promise<HostOutputs> {
  checkYaw(net.cameraInput, yaw); // before the first stage, which does not read it
  const stage = tf.tidy(() => net.where(images, n));
  const [mu, logStd, presence] = await Promise.all(
    [stage.mu, stage.logStd, stage.presence].map((t) => t?.data() as Promise<Float32Array> | undefined),
  );
  const rows = Int32Array.from({ length: n }, (_, i) => i).filter((i) => !presence || presence[i] > 0);
  const K = net.proposals, px = net.size * net.size;
  // Per image: type logits 3, proposals 3·K·9, pick logits 3·K, log σ_R 1, Euler angles 3.
  const widths = [3, 27 * K, 3 * K, 1, 3];
  const what = widths.map((w) => new Float32Array(n * w));
  if (rows.length) {
    const all = rows.length === n;
    const out = tf.tidy(() => {
      const o = net.what(
        all ? images : rowsOf(images, rows, px),
        all ? stage : { h: tf.gather(stage.h, rows), mu: tf.gather(stage.mu, rows) },
        rows.length,
        yaw && (all ? yaw : rowsOf(yaw, rows, 1)),
      );
      return [o.typeLogits, o.rot, o.pick, o.rotLogStd, o.euler];
    });
    const values = await Promise.all(out.map((t) => t.data() as Promise<Float32Array>));
    tf.dispose(out);
    values.forEach((v, k) => {
      const w = widths[k];
      rows.forEach((i, r) => what[k].set(v.subarray(r * w, (r + 1) * w), i * w));
    });
  }
  tf.dispose(stage);
  const [typeLogits, rot, pick, rotLogStd, euler] = what;
  return {
    typeLogits,
    mu: mu!,
    logStd: logStd!,
    rot,
    pick,
    rotLogStd,
    euler,
    ...(presence ? { presence } : {}),
    proposals: K,
  };
}

/** Rows `rows` of x (rows of `width` values), in that order. */
function rowsOf(x: Float32Array, rows: ArrayLike<number>, width: number): Float32Array {
  const out = new Float32Array(rows.length * width);
  for (let r = 0; r < rows.length; r++) {
    out.set(x.subarray(rows[r] * width, (rows[r] + 1) * width), r * width);
  }
  return out;
}

/** The values of the two tensors `make` builds (inside a tidy), read back asynchronously. */
async function readPair(make: () => [tf.Tensor, tf.Tensor]): Promise<[Float32Array, Float32Array]> {
  const ts = tf.tidy(make);
  const v = await Promise.all(ts.map((t) => t.data() as Promise<Float32Array>));
  tf.dispose(ts);
  return [v[0], v[1]];
}

/**
 * The camera guide's reading of n images: each image's mean camera angle μ_cam (radians), in chunks.
 */
export async function predictCamera(
  net: CameraNet,
  images: Float32Array,
  n: number,
  chunk = 250,
): Promise<Float32Array> {
  const px = net.size * net.size, out = new Float32Array(n);
  for (let start = 0; start < n; start += chunk) {
    const m = Math.min(chunk, n - start);
    const [mu] = await readPair(() => {
      const o = net.forward(images.subarray(start * px, (start + m) * px), m);
      return [o.mu, o.logStd];
    });
    out.set(mu, start);
  }
  return out;
}

/** The values of the tensor `make` builds (inside a tidy), read back asynchronously. */
async function readTensor(make: () => tf.Tensor): Promise<Float32Array> {
  const t = tf.tidy(make);
  const v = await t.data() as Float32Array;
  t.dispose();
  return v;
}

/**
 * The supervised baseline's loss (Fig. 6c; the reproduction's regression): type cross-entropy, the
 * centre's squared error (image-plane u, v and depth z, as `asSeen` gives them) and the Euler
 * angles' squared error (spheres left out: their angles mean nothing).
 */
export function supervisedLoss(net: SingleObjectNet, batch: SlotDataset): tf.Scalar {
  const { n } = batch;
  const o = net.forward(batch.images, n);
  const onehot = tf.oneHot(tf.tensor1d(Array.from(batch.type.subarray(0, n)), "int32"), N_TYPES);
  const ce = tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(o.typeLogits), onehot), 1)));
  const pos = tf.mean(
    tf.sum(tf.squaredDifference(o.mu, tf.tensor2d(batch.position.subarray(0, n * 3), [n, 3])), 1),
  );
  const rotating = Float32Array.from(batch.type.subarray(0, n), (t) => (t === 0 ? 0 : 1));
  const eul = tf.div(
    tf.sum(
      tf.mul(
        tf.sum(tf.squaredDifference(o.euler, tf.tensor2d(batch.euler.subarray(0, n * 3), [n, 3])), 1),
        tf.tensor1d(rotating),
      ),
    ),
    Math.max(1, rotating.reduce((a, v) => a + v, 0)),
  );
  return tf.addN([ce, pos, eul]) as tf.Scalar;
}

/** How {@link predictSingle} reads: batch size, steps of the guide, the orbit camera's angles, and scoring. */
export interface ReadOptions {
  /** Images per network pass (250). */
  chunk?: number;
  /** Steps of the guide, the most objects read (1). */
  steps?: number;
  /** Each image's camera angle (the orbit camera's, from {@link predictCamera}). */
  yaw?: Float32Array;
  /**
   * The model's likelihood (`RenderLikelihood` of the guide's σ, blur and camera): with it, each
   * step's object takes, of the types and the rotations the network proposes, the one under which
   * the image is likeliest with the objects before it (1 + 2K renders per step), and, once all steps
   * are read, an object whose removal raises log p by more than its KL is dropped (the local ELBO
   * choice of its z_pres), one at a time.
   */
  scoring?: RenderLikelihood;
}

/**
 * The network's reading of each image as slot predictions (world positions), step by step as the
 * guide samples (step t reads what the objects before it leave unexplained): per step, the object if
 * z_pres's logit is above 0 (always, for a network without it), with the most likely type, the
 * centre's mean, and the rotation — the type's picked R̂ (`"6d"`, the unsupervised guide) or the
 * Euler head (`"euler"`, the supervised baseline). As AIR reads, an image's reading stops at the
 * first step that finds nothing (presence 0, no z_what: type −1); its later slots repeat that one,
 * which is what those steps would read from the same input. `yaw`: each
 * image's camera angle, which the network reads and the later steps' renders are lit by. With
 * `scoring`, the type and the rotation are chosen among the network's proposals by the likelihood,
 * and objects that do not pay their KL are dropped ({@link ReadOptions.scoring}); a step that finds
 * nothing is read too (its proposals become the refined reading's candidates).
 */
export async function predictSingle(
  net: SingleObjectNet,
  images: Float32Array,
  n: number,
  camera: Camera | undefined,
  rotation: "6d" | "euler",
  options: ReadOptions = {},
): Promise<SlotPrediction[][]> {
  const { chunk = 250, steps = 1, yaw, scoring } = options;
  if (scoring && rotation !== "6d") {
    throw new RangeError('scoring chooses among 6-D proposals: rotation must be "6d"');
  }
  const out: SlotPrediction[][] = [];
  const px = net.size * net.size;
  const raster = steps > 1 ? new Rasteriser({ size: net.size, ...(camera ? { camera } : {}) }) : null;
  const rendered = new Float32Array(px);
  for (let start = 0; start < n; start += chunk) {
    const m = Math.min(chunk, n - start), batch = images.subarray(start * px, (start + m) * px);
    const yawOf = yaw?.subarray(start, start + m);
    const found: FitObject[][] = Array.from({ length: m }, () => []);
    const kls: number[][] = Array.from({ length: m }, () => []);
    const slots: SlotPrediction[][] = Array.from({ length: m }, () => []);
    // Each image blurred once for the scoring's likelihood.
    const blurred = scoring ? blurBatch(batch, m, net.size, scoring.kernel) : null;
    // The images still read. A step that finds nothing leaves the next step the same input, and so the
    // same answer: AIR's reading stops there (its later slots are copies of that absent one).
    let live = Int32Array.from({ length: m }, (_, i) => i);
    for (let t = 0; t < steps && live.length; t++) {
      const yawLive = yawOf && (t === 0 ? yawOf : rowsOf(yawOf, live, 1));
      const input = t === 0 ? batch : unexplained(
        rowsOf(batch, live, px),
        Array.from(live, (i) => found[i]),
        raster!,
        camera,
        rendered,
        yawLive,
      );
      // With scoring, a step that finds nothing is read too: its proposals are the refined reading's candidates.
      const host = await (scoring ? readForward : readPresent)(net, input, live.length, yawLive);
      const isPresent = (r: number) => !host.presence || host.presence[r] > 0;
      live.forEach((i, r) => {
        const present = isPresent(r);
        const [u, v, z] = host.mu.subarray(r * 3, r * 3 + 3);
        const [x, y] = camera ? unprojectAtZ(u, v, z, camera) : [u, v];
        if (!present && !scoring) {
          // z_pres = 0: no object, so no z_what (type −1, the identity's rotation).
          slots[i].push({
            presence: 0,
            type: -1,
            position: [x, y, z],
            rotation: identity3(),
            euler: [0, 0, 0],
          });
          return;
        }
        const l = host.typeLogits.subarray(r * 3, r * 3 + 3);
        let type = l[0] >= l[1] && l[0] >= l[2] ? 0 : l[1] >= l[2] ? 1 : 2;
        let R: Float64Array, euler: [number, number, number];
        if (rotation === "6d") {
          R = Float64Array.from(proposal(host, r, type, picked(host, r, type)));
          if (scoring) {
            setScoredImage(scoring, blurred!, i, px, yawOf);
            scoring.setBase(found[i]);
            let top = -Infinity;
            for (let ty = 0; ty < N_TYPES; ty++) {
              for (let k = 0; k < (ty === 0 ? 1 : host.proposals); k++) {
                const Rk = Float64Array.from(proposal(host, r, ty, k));
                const lp = scoring.logLikFromBase([...found[i], { type: ty, u, v, z, R: Rk }]);
                if (lp > top) [top, type, R] = [lp, ty, Rk];
              }
            }
          }
          euler = eulerFromMatrix(R);
        } else {
          euler = [host.euler[r * 3], host.euler[r * 3 + 1], host.euler[r * 3 + 2]];
          R = eulerZYX(...euler);
        }
        slots[i].push({ presence: present ? 1 : 0, type, position: [x, y, z], rotation: R, euler });
        if (present) found[i].push({ type, u, v, z, R }), kls[i].push(scoring ? klOf(host, r) : 0);
      });
      live = live.filter((_, r) => isPresent(r));
    }
    for (const s of slots) {
      const last = s[s.length - 1];
      while (s.length < steps) {
        s.push({
          ...last,
          position: [...last.position],
          rotation: Float64Array.from(last.rotation),
          euler: [...last.euler],
        });
      }
    }
    if (scoring && steps > 1) {
      for (let i = 0; i < m; i++) {
        const kept = slots[i].filter((q) => q.presence > 0);
        setScoredImage(scoring, blurred!, i, px, yawOf);
        // Drop the object whose removal gains most, log p(without) − log p(with) + KL > 0, until none does.
        while (found[i].length > 1) {
          scoring.setBase(found[i]);
          const all = scoring.logLikFromBase(found[i]);
          let drop = -1, gain = 0;
          for (let j = 0; j < found[i].length; j++) {
            const g = scoring.logLikFromBase(found[i].filter((_, q) => q !== j)) + kls[i][j] - all;
            if (g > gain) [gain, drop] = [g, j];
          }
          if (drop < 0) break;
          kept[drop].presence = 0;
          for (const list of [found[i], kls[i], kept]) list.splice(drop, 1);
        }
      }
    }
    out.push(...slots);
  }
  return out;
}

/** The 3×3 identity, row-major (an absent slot's rotation). */
const identity3 = () => Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1);

/** `scoring`'s image (already blurred) and light for image i of a batch. */
function setScoredImage(
  scoring: RenderLikelihood,
  blurred: Float32Array,
  i: number,
  px: number,
  yaw: Float32Array | undefined,
): void {
  scoring.setBlurredImage(blurred.subarray(i * px, (i + 1) * px));
  if (yaw) scoring.setLight(viewLight(yaw[i]));
}

/** m size×size images, each blurred by `kernel` ({@link blurImage}). */
function blurBatch(batch: Float32Array, m: number, size: number, kernel: Float32Array): Float32Array {
  const px = size * size, out = new Float32Array(m * px), scratch = new Float32Array(px);
  for (let i = 0; i < m; i++) {
    blurImage(
      batch.subarray(i * px, (i + 1) * px),
      size,
      kernel,
      out.subarray(i * px, (i + 1) * px),
      scratch,
    );
  }
  return out;
}
