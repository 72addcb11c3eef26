/**
 * Slot inference for AIR's 3D-primitives task (AIR §3.2): from one image, recover how many
 * primitives there are and each one's type, position and rotation. Two models:
 *
 * - `mlp` — the numpy reproduction's baseline: the image mean-pooled 2×, a 3-layer MLP (hidden 128)
 *   that emits all slots at once, slots ordered by x, loss
 *   BCE(presence) + CE(type) + MSE(position) + MSE(Euler angles; masked for spheres).
 * - `conv` — the paper's ingredients: a convolutional encoder, a recurrent core (GRU) that emits one
 *   object per step as AIR does, and a permutation-invariant loss — each image's steps are matched
 *   to its objects by the assignment of least cost (Hungarian), so no x-order is imposed.
 *   Rotation is predicted as a matrix (the continuous 6-D parametrisation of Zhou et al. 2019,
 *   orthonormalised by Gram–Schmidt) and its loss is taken modulo the primitive's symmetry:
 *   cube: min over the 24 rotations S of ½‖R̂ − R·S‖²_F = 3 − max_S ⟨R̂, R·S⟩;
 *   cylinder: 1 − ⟨R̂e_y, Re_y⟩² (axis up to sign); sphere: none.
 *
 * @example
 * ```ts
 * import { initTf } from "./tf.ts";
 * import { buildModel } from "./air3d.ts";
 * import { Rng } from "./random.ts";
 * await initTf();
 * const model = buildModel("conv", new Rng(0), { imageSize: 64, maxSlots: 3 });
 * ```
 * @module
 */
import { tf } from "./tf.ts";
import type { Rng } from "./random.ts";
import { type Dense, Params } from "./train.ts";
import type { SlotDataset } from "./scenes3d.ts";
import { assign, CUBE_SYMMETRIES, eulerFromMatrix, matMul3, type SlotPrediction } from "./metrics.ts";
import { eulerZYX, PRIMITIVE_TYPES, VIEW_HALF_WIDTH } from "./render.ts";
import { glimpseHost } from "./spatial.ts";

export type ModelKind = "mlp" | "conv";
export const MODEL_KINDS: readonly ModelKind[] = ["mlp", "conv"];

/** Shape options of a model. */
export interface ModelShape {
  imageSize: number;
  maxSlots: number;
  /** Hidden width (mlp: 128, the reproduction's; conv: GRU width). */
  hidden?: number;
  /** Mean-pooling factor of the mlp's input (the reproduction's 2). */
  inputPool?: number;
}

/** Loss value and its parts (for curves). */
export interface LossParts {
  total: tf.Scalar;
  parts: Record<string, tf.Scalar>;
}

/** A slot model: parameters, a loss on a batch, and predictions. */
export interface SlotModel {
  kind: ModelKind;
  params: Params;
  /** Loss of a batch (inside a tidy/minimize). */
  loss(batch: SlotDataset): LossParts;
  /** Per-image slot predictions, computed in chunks. */
  predict(images: Float32Array, n: number): SlotPrediction[][];
}

const N_TYPES = PRIMITIVE_TYPES.length;

function denseApply(x: tf.Tensor2D, d: Dense): tf.Tensor2D {
  return tf.add(tf.matMul(x, d.w as tf.Tensor2D), d.b) as tf.Tensor2D;
}

/** Runs `fn` on chunks of `chunk` images and concatenates the per-image results. */
function chunked<T>(n: number, chunk: number, fn: (start: number, count: number) => T[]): T[] {
  const out: T[] = [];
  for (let s = 0; s < n; s += chunk) out.push(...fn(s, Math.min(chunk, n - s)));
  return out;
}

// ---------------------------------------------------------------------------------------------
// The reproduction's MLP

/** Mean-pools `n` square greyscale images of side `size` by `f` (non-overlapping f×f blocks). */
export function meanPool(images: Float32Array, n: number, size: number, f: number): Float32Array {
  if (f === 1) return images.subarray(0, n * size * size);
  const s = size / f, out = new Float32Array(n * s * s), inv = 1 / (f * f);
  for (let b = 0; b < n; b++) {
    const src = b * size * size, dst = b * s * s;
    for (let i = 0; i < size; i++) {
      const row = dst + Math.floor(i / f) * s;
      for (let j = 0; j < size; j++) out[row + Math.floor(j / f)] += images[src + i * size + j] * inv;
    }
  }
  return out;
}

/** The reproduction's MLP: pool → 128 → 128 → K·(1 + 3 + 3 + 3) outputs. */
export function mlpModel(rng: Rng, shape: ModelShape): SlotModel {
  const { imageSize: size, maxSlots: K, hidden = 128, inputPool = 2 } = shape;
  if (size % inputPool) {
    throw new RangeError(`imageSize (${size}) must be divisible by inputPool (${inputPool})`);
  }
  const inDim = (size / inputPool) ** 2;
  const per = 1 + N_TYPES + 3 + 3;
  const params = new Params(rng);
  const l1 = params.dense("fc1", inDim, hidden), l2 = params.dense("fc2", hidden, hidden);
  const out = params.dense("out", hidden, K * per, 1);

  // The input is mean-pooled on the host (one pass over the pixels; cheaper than a wasm AvgPool).
  function forward(images: Float32Array, n: number) {
    const x = tf.tensor2d(meanPool(images, n, size, inputPool), [n, inDim]);
    const h1 = tf.relu(denseApply(x, l1));
    const h2 = tf.relu(denseApply(h1, l2));
    const o = denseApply(h2, out).reshape([n, K, per]);
    const [pres, type, pos, rot] = tf.split(o, [1, N_TYPES, 3, 3], 2);
    return {
      pres: pres.squeeze([2]) as tf.Tensor2D,
      type: type as tf.Tensor3D,
      pos: pos as tf.Tensor3D,
      rot,
    };
  }

  return {
    kind: "mlp",
    params,
    loss(batch) {
      const { n } = batch;
      const o = forward(batch.images, n);
      const pres = tf.tensor2d(batch.presence, [n, K]);
      const isRotating = tf.tensor2d(batch.type.map((t, i) => batch.presence[i] && t !== 0 ? 1 : 0), [n, K]);
      const present = tf.maximum(pres.sum(), 1);
      const presence = tf.losses.sigmoidCrossEntropy(pres, o.pres) as tf.Scalar;
      const ce = tf.losses.softmaxCrossEntropy(
        tf.oneHot(tf.tensor2d(batch.type, [n, K], "int32"), N_TYPES),
        o.type,
        undefined,
        0,
        tf.Reduction.NONE,
      ) as tf.Tensor2D;
      const type = ce.mul(pres).sum().div(present) as tf.Scalar;
      const sq = (pred: tf.Tensor, target: Float32Array, mask: tf.Tensor2D) =>
        tf.squaredDifference(pred, tf.tensor3d(target, [n, K, 3])).sum(2).mul(mask).sum()
          .div(tf.maximum(mask.sum(), 1).mul(3)) as tf.Scalar;
      const position = sq(o.pos, batch.position, pres);
      const rotation = sq(o.rot, batch.euler, isRotating);
      const total = presence.add(type).add(position).add(rotation) as tf.Scalar;
      return { total, parts: { presence, type, position, rotation } };
    },
    predict(images, n) {
      return chunked(n, 500, (start, count) => {
        const [pres, type, pos, rot] = tf.tidy(() => {
          const o = forward(images.subarray(start * size * size), count);
          return [tf.sigmoid(o.pres), tf.argMax(o.type, 2), o.pos, o.rot];
        }).map((t) => {
          const d = t.dataSync();
          t.dispose();
          return d;
        });
        return Array.from({ length: count }, (_, b) =>
          Array.from({ length: K }, (_, k) => {
            const i = b * K + k;
            const euler = [rot[i * 3], rot[i * 3 + 1], rot[i * 3 + 2]] as [number, number, number];
            return {
              presence: pres[i],
              type: type[i],
              position: [pos[i * 3], pos[i * 3 + 1], pos[i * 3 + 2]] as [number, number, number],
              euler,
              rotation: eulerZYX(...euler),
            };
          }));
      });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The convolutional, recurrent, order-free model

/** Space-to-depth by 2: [B, H, W, C] → [B, H/2, W/2, 4C] (a stride-2 patchify without a conv). */
export function spaceToDepth2(x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  return x.reshape([b, h / 2, 2, w / 2, 2, c]).transpose([0, 1, 3, 2, 4, 5]).reshape([
    b,
    h / 2,
    w / 2,
    4 * c,
  ]);
}

/** Gram–Schmidt of two 3-vectors (the 6-D rotation parametrisation) → row-major R = [b1 b2 b3]. */
export function rotationFrom6d(a: tf.Tensor): tf.Tensor {
  const shape = a.shape.slice(0, -1);
  const [a1, a2] = tf.split(a, 2, -1);
  const b1 = tf.div(a1, tf.norm(a1, "euclidean", -1, true).add(1e-6));
  const proj = tf.sum(tf.mul(b1, a2), -1, true);
  const u2 = tf.sub(a2, tf.mul(proj, b1));
  const b2 = tf.div(u2, tf.norm(u2, "euclidean", -1, true).add(1e-6));
  const [x1, y1, z1] = tf.split(b1, 3, -1), [x2, y2, z2] = tf.split(b2, 3, -1);
  const b3 = [
    tf.sub(tf.mul(y1, z2), tf.mul(z1, y2)),
    tf.sub(tf.mul(z1, x2), tf.mul(x1, z2)),
    tf.sub(
      tf.mul(x1, y2),
      tf.mul(y1, x2),
    ),
  ];
  // Columns b1, b2, b3 → rows [x1 x2 x3; y1 y2 y3; z1 z2 z3].
  return tf.concat([x1, x2, b3[0], y1, y2, b3[1], z1, z2, b3[2]], -1).reshape([...shape, 9]);
}

/** Loss weights of the matching cost (type CE, |Δx|+|Δy|, |Δz|, rotation). */
export const CONV_LOSS_WEIGHTS = { type: 1, xy: 4, z: 1, rotation: 1 };

/**
 * Glimpse side in pixels, its half-width in normalised image units (1:1 with a 64-px image), and
 * the std (world units) of the jitter on teacher-forced glimpse centres during training.
 */
export const GLIMPSE = { size: 32, halfWidth: 0.5, jitter: 0.08 };

/**
 * The AIR-style model. A convolutional encoder summarises the image; a GRU core takes one step
 * per object and says where it is (presence, x, y, z) — z_where; a spatial-transformer glimpse
 * at that place goes through a second small CNN that says what it is (type, rotation, and a
 * fine offset to x, y) — z_what.
 */
export function convModel(rng: Rng, shape: ModelShape): SlotModel {
  const { imageSize: size, maxSlots: K, hidden = 256 } = shape;
  if (size % 16) throw new RangeError(`imageSize must be a multiple of 16 for the conv model, got ${size}`);
  const params = new Params(rng.child("weights"));
  const jitter = rng.child("jitter");
  const he = (fanIn: number) => Math.sqrt(2 / fanIn);
  // Both CNNs: s2d → 3×3 (32) → s2d → 1×1 (64) → 3×3 (32), bias-free (a bias gradient is a slow
  // reduction on wasm). A 1×1 conv after space-to-depth is a 2×2 stride-2 conv, run as a matMul.
  // The image CNN sees the image mean-pooled 2× (where things are needs no fine detail).
  const cnn = (name: string) => ({
    c1: params.normal(`${name}1`, [3, 3, 4, 32], he(36)),
    c2: params.normal(`${name}2`, [128, 64], he(128)),
    c3: params.normal(`${name}3`, [3, 3, 64, 32], he(576)),
  });
  const enc = cnn("enc"), gcnn = cnn("glimpse");
  const flat = (size / 8) ** 2 * 32;
  const fc = params.dense("enc_fc", flat, hidden);
  const gFlat = (GLIMPSE.size / 4) ** 2 * 32;
  const gfc = params.dense("glimpse_fc", gFlat + hidden, hidden);
  // GRU core: input = [image features, previous step's z_where].
  const inDim = hidden + 4;
  const gz = params.dense("gru_z", inDim + hidden, hidden, 1);
  const gr = params.dense("gru_r", inDim + hidden, hidden, 1);
  const gn = params.dense("gru_n", inDim + hidden, hidden, 1);
  const whereHead = params.dense("where", hidden, 1 + 3, 1); // presence, x, y, z
  const whatHead = params.dense("what", hidden, N_TYPES + 6 + 2, 1); // type, rotation, Δx, Δy

  const conv = (x: tf.Tensor4D, w: tf.Variable) =>
    tf.relu(tf.conv2d(x, w as tf.Tensor4D, 1, "same")) as tf.Tensor4D;
  const pixelwise = (x: tf.Tensor4D, w: tf.Variable) => {
    const [b, h, wd, c] = x.shape;
    return tf.relu(tf.matMul(x.reshape([b * h * wd, c]), w as tf.Tensor2D)).reshape([
      b,
      h,
      wd,
      w.shape[1]!,
    ]) as tf.Tensor4D;
  };
  const runCnn = (x: tf.Tensor4D, w: ReturnType<typeof cnn>) =>
    conv(pixelwise(spaceToDepth2(conv(spaceToDepth2(x), w.c1)), w.c2), w.c3);
  // World → normalised image coordinates: the view spans [−1.6, 1.6]; rows go down as y grows.
  const toImage = 1 / VIEW_HALF_WIDTH;

  /** The core: one step per object, each emitting z_where = (presence logit, x, y, z). */
  function where(images: Float32Array, b: number) {
    const half = size / 2;
    const feat = tf.relu(denseApply(
      runCnn(tf.tensor4d(meanPool(images, b, size, 2), [b, half, half, 1]), enc).reshape([b, flat]),
      fc,
    ));
    let h = tf.zeros([b, hidden]) as tf.Tensor2D;
    let prev = tf.zeros([b, 4]) as tf.Tensor2D;
    const hs: tf.Tensor2D[] = [], wheres: tf.Tensor2D[] = [];
    for (let t = 0; t < K; t++) {
      // GRU: z = σ(W_z[x,h]), r = σ(W_r[x,h]), n = tanh(W_n[x, r⊙h]), h' = (1 − z)⊙n + z⊙h
      const xin = tf.concat([feat, prev], 1) as tf.Tensor2D;
      const xh = tf.concat([xin, h], 1) as tf.Tensor2D;
      const z = tf.sigmoid(denseApply(xh, gz));
      const r = tf.sigmoid(denseApply(xh, gr));
      const n = tf.tanh(denseApply(tf.concat([xin, tf.mul(r, h)], 1) as tf.Tensor2D, gn));
      h = tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, h)) as tf.Tensor2D;
      const w = denseApply(h, whereHead);
      hs.push(h);
      wheres.push(w);
      prev = tf.concat([tf.sigmoid(w.slice([0, 0], [b, 1])), w.slice([0, 1], [b, 3])], 1) as tf.Tensor2D;
    }
    return {
      h: tf.stack(hs, 1).reshape([b * K, hidden]) as tf.Tensor2D, // rows (b, k)
      where: tf.stack(wheres, 1) as tf.Tensor3D, // [b, K, 4]
    };
  }

  /**
   * z_what: a glimpse centred at `centres` (world x, y per step, [b·K·2]) goes through the glimpse
   * CNN; returns type logits, rotation and the object's position = centre + Δ. Glimpses are cut
   * on the host: the sampling location carries no gradient.
   */
  function what(images: Float32Array, b: number, h: tf.Tensor2D, centres: Float32Array) {
    const poses = new Float32Array(b * K * 3), source = new Int32Array(b * K);
    for (let i = 0; i < b * K; i++) {
      source[i] = Math.floor(i / K);
      poses.set([GLIMPSE.halfWidth, centres[i * 2] * toImage, -centres[i * 2 + 1] * toImage], i * 3);
    }
    const gl = glimpseHost(images, size, source, poses, GLIMPSE.size);
    const gf = runCnn(tf.tensor4d(gl, [b * K, GLIMPSE.size, GLIMPSE.size, 1]), gcnn).reshape([b * K, gFlat]);
    const out = denseApply(tf.relu(denseApply(tf.concat([gf, h], 1) as tf.Tensor2D, gfc)), whatHead);
    const [type, rot6, dxy] = tf.split(out, [N_TYPES, 6, 2], 1);
    return {
      type: type.reshape([b, K, N_TYPES]) as tf.Tensor3D,
      rot: rotationFrom6d(rot6).reshape([b, K, 9]) as tf.Tensor3D,
      xy: tf.add(tf.tensor2d(centres, [b * K, 2]), dxy).reshape([b, K, 2]) as tf.Tensor3D,
    };
  }

  /** Test time: glimpse where the core says. */
  function forward(images: Float32Array, b: number) {
    const w = where(images, b);
    const [pres, coarse, z] = tf.split(w.where, [1, 2, 1], 2);
    const o = what(images, b, w.h, coarse.dataSync() as Float32Array);
    return {
      pres: pres.squeeze([2]) as tf.Tensor2D,
      type: o.type,
      pos: tf.concat([o.xy, z], 2) as tf.Tensor3D,
      rot: o.rot,
    };
  }

  /** ½‖·‖-style symmetric rotation cost per (step, object) pair, [b, K, K]. */
  function rotationCost(rot: tf.Tensor3D, batch: SlotDataset): tf.Tensor3D {
    const n = batch.n;
    // cube: 3 − max_S ⟨R̂_i, R_j S⟩; cylinder: 1 − ⟨R̂_i e_y, R_j e_y⟩².
    const { cubeSet, axes, isCube, isCyl } = rotationTargets(batch);
    const dots = tf.matMul(rot, tf.tensor3d(cubeSet, [n, K * 24, 9]), false, true).reshape([n, K, K, 24]).max(
      3,
    );
    const predAxis = rot.reshape([n, K, 3, 3]).slice([0, 0, 0, 1], [-1, -1, -1, 1]).reshape([n, K, 3]); // R̂e_y
    const cosAxis = tf.matMul(predAxis, tf.tensor3d(axes, [n, K, 3]), false, true);
    return tf.add(
      tf.mul(tf.sub(3, dots), tf.tensor3d(isCube, [n, 1, K])),
      tf.mul(tf.sub(1, tf.square(cosAxis)), tf.tensor3d(isCyl, [n, 1, K])),
    ) as tf.Tensor3D;
  }

  return {
    kind: "conv",
    params,
    loss(batch) {
      const { n } = batch;
      const wt = CONV_LOSS_WEIGHTS;
      const w = where(batch.images, n);
      const [presLogit, coarse, z] = tf.split(w.where, [1, 2, 1], 2);
      const pres = presLogit.squeeze([2]) as tf.Tensor2D;
      // 1. Match steps to objects on z_where: C[b, i, j] = w_xy·|Δx|+|Δy| + w_z·|Δz| (+ presence).
      const tpos = tf.tensor3d(batch.position, [n, K, 3]);
      const l1 = (pred: tf.Tensor, lo: number, count: number) =>
        tf.abs(tf.sub(pred.expandDims(2), tpos.slice([0, 0, lo], [-1, -1, count]).expandDims(1))).sum(3);
      const coarseXY = l1(coarse, 0, 2), dz = l1(z, 2, 1);
      const whereCost = tf.add(coarseXY.mul(wt.xy), dz.mul(wt.z));
      const gain = tf.sub(tf.logSigmoid(tf.neg(pres)), tf.logSigmoid(pres)); // −log p − (−log(1 − p))
      const [costHost, gainHost] = [whereCost, gain].map((t) => t.dataSync());
      const match = new Float32Array(n * K * K);
      const centres = new Float32Array(coarse.dataSync()); // unmatched steps look where they point
      for (let b = 0; b < n; b++) {
        const count = batch.presence.subarray(b * K, (b + 1) * K).reduce((a, v) => a + v, 0);
        const table = Array.from(
          { length: count },
          (_, j) => Array.from({ length: K }, (_, i) => costHost[(b * K + i) * K + j] + gainHost[b * K + i]),
        );
        assign(table).forEach((i, j) => {
          match[(b * K + i) * K + j] = 1;
          // 2. Teacher forcing: a matched step glimpses at its object, jittered like a coarse guess.
          for (let a = 0; a < 2; a++) {
            centres[(b * K + i) * 2 + a] = batch.position[(b * K + j) * 3 + a] +
              jitter.normal(0, GLIMPSE.jitter);
          }
        });
      }
      const m = tf.tensor3d(match, [n, K, K]);
      const o = what(batch.images, n, w.h, centres);
      const logp = tf.logSoftmax(o.type, 2);
      const typeOneHot = tf.oneHot(tf.tensor2d(batch.type, [n, K], "int32"), N_TYPES).toFloat();
      const ce = tf.neg(tf.matMul(logp, typeOneHot, false, true)); // [B, Ki, Kj]
      const fineXY = l1(o.xy, 0, 2);
      const rot = rotationCost(o.rot, batch);
      const perObject = (t: tf.Tensor) => tf.mul(t, m).sum().div(n) as tf.Scalar;
      const presence = tf.losses.sigmoidCrossEntropy(m.sum(2), pres) as tf.Scalar;
      const parts = {
        presence,
        type: perObject(ce),
        position: perObject(tf.add(fineXY, dz)),
        coarse: perObject(coarseXY),
        rotation: perObject(rot),
      };
      const total = tf.addN([
        presence.mul(K),
        perObject(whereCost),
        perObject(tf.addN([ce.mul(wt.type), fineXY.mul(wt.xy), rot.mul(wt.rotation)])),
      ]) as tf.Scalar;
      return { total, parts };
    },
    predict(images, n) {
      return chunked(n, 250, (start, count) => {
        const [pres, type, pos, rot] = tf.tidy(() => {
          const o = forward(images.subarray(start * size * size), count);
          return [tf.sigmoid(o.pres), tf.argMax(o.type, 2), o.pos, o.rot];
        }).map((t) => {
          const d = t.dataSync();
          t.dispose();
          return d;
        });
        return Array.from({ length: count }, (_, b) =>
          Array.from({ length: K }, (_, k) => {
            const i = b * K + k;
            const rotation = Float64Array.from(rot.subarray(i * 9, i * 9 + 9));
            return {
              presence: pres[i],
              type: type[i],
              position: [pos[i * 3], pos[i * 3 + 1], pos[i * 3 + 2]] as [number, number, number],
              rotation,
              euler: eulerFromMatrix(rotation),
            };
          }));
      });
    },
  };
}

/** Per true object: its rotation times each cube symmetry, its axis, and type masks. */
function rotationTargets(batch: SlotDataset) {
  const { n, maxSlots: K } = batch;
  const cubeSet = new Float32Array(n * K * 24 * 9);
  const axes = new Float32Array(n * K * 3);
  const isCube = new Float32Array(n * K), isCyl = new Float32Array(n * K);
  for (let i = 0; i < n * K; i++) {
    if (!batch.presence[i]) continue;
    const r = batch.rotation.subarray(i * 9, i * 9 + 9);
    axes.set([r[1], r[4], r[7]], i * 3);
    if (batch.type[i] === 1) {
      isCube[i] = 1;
      CUBE_SYMMETRIES.forEach((s, k) => cubeSet.set(matMul3(r, s), (i * 24 + k) * 9));
    } else if (batch.type[i] === 2) isCyl[i] = 1;
  }
  return { cubeSet, axes, isCube, isCyl };
}

/** Builds a model of `kind`. */
export function buildModel(kind: ModelKind, rng: Rng, shape: ModelShape): SlotModel {
  if (kind === "mlp") return mlpModel(rng, shape);
  if (kind === "conv") return convModel(rng, shape);
  throw new RangeError(`model must be one of ${MODEL_KINDS.join(", ")}, got ${JSON.stringify(kind)}`);
}
