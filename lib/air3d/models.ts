/**
 * Slot inference for AIR's 3D-primitives task (AIR §3.2): from one image, recover how many
 * primitives there are and each one's type, position and rotation. Two models:
 *
 * - `mlp` — the numpy reproduction's baseline: the image mean-pooled 2×, a 3-layer MLP (hidden 128)
 *   that emits all slots at once, slots ordered by x, loss
 *   BCE(presence) + CE(type) + MSE(position) + MSE(Euler angles; masked for spheres).
 * - `conv` — the paper's ingredients: a convolutional encoder, a recurrent core (GRU) that emits one
 *   object's z_where (presence, position) per step as AIR does, a spatial-transformer glimpse there
 *   read by a second CNN for z_what (type, rotation, a fine position offset), and a
 *   permutation-invariant loss — each image's steps are matched to its objects by the assignment of
 *   least cost (Hungarian), so no x-order is imposed.
 *   Rotation is predicted as a matrix (the continuous 6-D parametrisation of Zhou et al. 2019,
 *   orthonormalised by Gram–Schmidt) and its loss is taken modulo the primitive's symmetry:
 *   cube: min over the 24 rotations S of ½‖R̂ − R·S‖²_F = 3 − max_S ⟨R̂, R·S⟩;
 *   cylinder: 1 − ⟨R̂e_y, Re_y⟩² (axis up to sign); sphere: none.
 *
 * @example
 * ```ts
 * import { initTf } from "../core/tf.ts";
 * import { buildModel } from "./models.ts";
 * import { Rng } from "../core/random.ts";
 * await initTf();
 * const model = buildModel("conv", new Rng(0), { imageSize: 64, maxSlots: 3 });
 * ```
 * @module
 */
import { tf } from "../core/tf.ts";
import { type Dense, dense } from "../nn/dense.ts";
import type { Rng } from "../core/random.ts";
import { Params } from "../nn/params.ts";
import type { SlotDataset } from "../scenes/scenes3d.ts";
import {
  assign,
  CUBE_SYMMETRIES,
  eulerFromMatrix,
  matMul3,
  type SlotPrediction,
} from "../metrics/metrics.ts";
import { eulerZYX, PRIMITIVE_TYPES, VIEW_HALF_WIDTH } from "../scenes/render.ts";
import { glimpseHost } from "../nn/spatial.ts";

export type ModelKind = "mlp" | "conv" | "grid";
export const MODEL_KINDS: readonly ModelKind[] = ["mlp", "conv", "grid"];

/** Shape options of a model. */
export interface ModelShape {
  imageSize: number;
  maxSlots: number;
  /** Hidden width (mlp: 128, the reproduction's; conv: GRU width). */
  hidden?: number;
  /** Mean-pooling factor of the mlp's input (the reproduction's 2). */
  inputPool?: number;
}

/** Loss value and its parts (for curves), named by the model's `partNames`. */
export interface LossParts {
  total: tf.Scalar;
  parts: tf.Tensor1D;
}

/** A slot model: parameters, a loss on a batch, and predictions. */
export interface SlotModel {
  kind: ModelKind;
  params: Params;
  /** Names of the loss parts, in order. */
  partNames: string[];
  /** Loss of a batch (inside a tidy/minimize). */
  loss(batch: SlotDataset): LossParts;
  /**
   * Per-image slot predictions, computed in chunks. The glimpse models read type and pose only
   * for slots whose presence exceeds `readFrom` (default ½; counting by re-rendering asks for the
   * doubtful ones too).
   */
  predict(images: Float32Array, n: number, readFrom?: number): SlotPrediction[][];
}

const N_TYPES = PRIMITIVE_TYPES.length;

/** Model outputs per slot, as tensors ([n, K] presence logits, [n, K, 3] types, [n, K, 3] positions, [n, K, r] rotations). */
interface SlotOutputs {
  pres: tf.Tensor;
  type: tf.Tensor;
  pos: tf.Tensor;
  rot: tf.Tensor;
}

/**
 * Per-image slot predictions of a model, in chunks of `chunk` images: reads the outputs of
 * `forward` back to the host; `orient` turns one slot's rotation output (`width` numbers) into
 * the rotation matrix and Euler angles the scores use.
 */
function predictSlots(
  images: Float32Array,
  n: number,
  options: { size: number; slots: number; chunk: number; width: number },
  forward: (images: Float32Array, count: number) => SlotOutputs,
  orient: (rot: Float32Array) => Pick<SlotPrediction, "rotation" | "euler">,
): SlotPrediction[][] {
  const { size, slots: K, chunk, width } = options;
  const out: SlotPrediction[][] = [];
  for (let start = 0; start < n; start += chunk) {
    const count = Math.min(chunk, n - start);
    const [pres, type, pos, rot] = tf.tidy(() => {
      const o = forward(images.subarray(start * size * size), count);
      return [tf.sigmoid(o.pres), tf.argMax(o.type, 2), o.pos, o.rot];
    }).map((t) => {
      const d = t.dataSync();
      t.dispose();
      return d;
    });
    for (let b = 0; b < count; b++) {
      out.push(Array.from({ length: K }, (_, k) => {
        const i = b * K + k;
        return {
          presence: pres[i],
          type: type[i],
          position: [pos[i * 3], pos[i * 3 + 1], pos[i * 3 + 2]] as [number, number, number],
          ...orient(Float32Array.from(rot.subarray(i * width, (i + 1) * width))),
        };
      }));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The reproduction's MLP

/** Mean-pools `n` square greyscale images of side `size` by `f` (non-overlapping f×f blocks). */
export function meanPool(images: Float32Array, n: number, size: number, f: number): Float32Array {
  if (f === 1) return images.subarray(0, n * size * size);
  const s = size / f, out = new Float32Array(n * s * s), inv = 1 / (f * f);
  for (let b = 0, o = 0; b < n; b++) {
    const src = b * size * size;
    for (let i = 0; i < s; i++) {
      for (let j = 0; j < s; j++, o++) {
        let acc = 0;
        for (let di = 0; di < f; di++) {
          const row = src + (i * f + di) * size + j * f;
          for (let dj = 0; dj < f; dj++) acc += images[row + dj];
        }
        out[o] = acc * inv;
      }
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
    const h1 = tf.relu(dense(x, l1));
    const h2 = tf.relu(dense(h1, l2));
    const raw = dense(h2, out).reshape([n * K, per]);
    const [pres, type, pos, rot] = tf.split(raw.reshape([n, K, per]), [1, N_TYPES, 3, 3], 2);
    return {
      raw,
      pres: pres.squeeze([2]) as tf.Tensor2D,
      type: type as tf.Tensor3D,
      pos: pos as tf.Tensor3D,
      rot,
    };
  }

  // Per-slot targets and loss weights packed on the host into [n·K, 8] columns:
  // presence (BCE) · type (CE) · x y z (squared error) · α β γ (squared error, spheres masked).
  // Column sums of weight ⊙ loss are then the four means the reproduction adds up.
  function packTargets(batch: SlotDataset) {
    const rows = batch.n * K;
    const target = new Float32Array(rows * 7), weight = new Float32Array(rows * 8);
    const onehot = new Float32Array(rows * N_TYPES);
    let present = 0, rotating = 0;
    for (let i = 0; i < rows; i++) {
      present += batch.presence[i];
      if (batch.presence[i] && batch.type[i] !== 0) rotating++;
    }
    for (let i = 0; i < rows; i++) {
      const p = batch.presence[i], rot = p && batch.type[i] !== 0 ? 1 : 0;
      target[i * 7] = p;
      target.set(batch.position.subarray(i * 3, i * 3 + 3), i * 7 + 1);
      target.set(batch.euler.subarray(i * 3, i * 3 + 3), i * 7 + 4);
      onehot[i * N_TYPES + batch.type[i]] = 1;
      weight[i * 8] = 1 / rows;
      weight[i * 8 + 1] = p / Math.max(1, present);
      for (let a = 0; a < 3; a++) {
        weight[i * 8 + 2 + a] = p / (3 * Math.max(1, present));
        weight[i * 8 + 5 + a] = rot / (3 * Math.max(1, rotating));
      }
    }
    return {
      target: tf.tensor2d(target, [rows, 7]),
      onehot: tf.tensor2d(onehot, [rows, N_TYPES]),
      weight: tf.tensor2d(weight, [rows, 8]),
    };
  }

  return {
    kind: "mlp",
    params,
    partNames: ["presence", "type", "position", "rotation"],
    loss(batch) {
      const { n } = batch;
      const o = forward(batch.images, n);
      const { target, onehot, weight } = packTargets(batch);
      const rows = n * K;
      const logit = o.raw.slice([0, 0], [rows, 1]), y = target.slice([0, 0], [rows, 1]);
      // BCE with logits: softplus(x) − x·y;  CE: −Σ onehot · log softmax;  then squared errors.
      const bce = tf.sub(tf.softplus(logit), tf.mul(logit, y));
      const ce = tf.neg(tf.mul(tf.logSoftmax(o.raw.slice([0, 1], [rows, N_TYPES])), onehot).sum(1, true));
      const sq = tf.squaredDifference(
        o.raw.slice([0, 1 + N_TYPES], [rows, 6]),
        target.slice([0, 1], [rows, 6]),
      );
      const cols = tf.mul(tf.concat([bce, ce, sq], 1), weight).sum(0); // [8]
      const parts = tf.stack([
        cols.slice(0, 1).sum(),
        cols.slice(1, 1).sum(),
        cols.slice(2, 3).sum(),
        cols.slice(5, 3).sum(),
      ]) as tf.Tensor1D;
      return { total: cols.sum() as tf.Scalar, parts };
    },
    predict(images, n) {
      return predictSlots(images, n, { size, slots: K, chunk: 500, width: 3 }, forward, (rot) => {
        const euler = [rot[0], rot[1], rot[2]] as [number, number, number];
        return { euler, rotation: eulerZYX(...euler) };
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

// World → normalised image coordinates: the view spans [−1.6, 1.6]; rows go down as y grows.
const TO_IMAGE = 1 / VIEW_HALF_WIDTH;
const toLogit = (p: number) => Math.log(p / (1 - p));
const he = (fanIn: number) => Math.sqrt(2 / fanIn);

/** relu(conv3×3(x)), bias-free (a bias gradient is a slow reduction on wasm). */
function reluConv(x: tf.Tensor4D, w: tf.Variable): tf.Tensor4D {
  return tf.relu(tf.conv2d(x, w as tf.Tensor4D, 1, "same")) as tf.Tensor4D;
}

/** relu(x·W) at every pixel: a 1×1 conv run as one matMul. */
function pixelwise(x: tf.Tensor4D, w: tf.Variable): tf.Tensor4D {
  const [b, h, wd, c] = x.shape;
  return tf.relu(tf.matMul(x.reshape([b * h * wd, c]), w as tf.Tensor2D)).reshape([
    b,
    h,
    wd,
    w.shape[1]!,
  ]) as tf.Tensor4D;
}

/**
 * The small CNN both models use: s2d → 3×3 (32) → s2d → 1×1 (64) → 3×3 (`out`), bias-free. A 1×1
 * conv after space-to-depth is a 2×2 stride-2 conv, run as a matMul. Also returns the first layer's
 * output space-to-depth'd to the last layer's map (the grid model's fine skip connection).
 */
function smallCnn(params: Params, name: string, out = 32) {
  const w = {
    c1: params.normal(`${name}1`, [3, 3, 4, 32], he(36)),
    c2: params.normal(`${name}2`, [128, 64], he(128)),
    c3: params.normal(`${name}3`, [3, 3, 64, out], he(576)),
  };
  return (x: tf.Tensor4D) => {
    const fine = spaceToDepth2(reluConv(spaceToDepth2(x), w.c1));
    return { fine, coarse: reluConv(pixelwise(fine, w.c2), w.c3) };
  };
}

/**
 * Rotation cost of each row's prediction against its object (`objects`: indices into the batch's
 * slots), modulo the object's symmetry; spheres cost nothing.
 */
function rotationCost(rot: tf.Tensor2D, batch: SlotDataset, objects: Int32Array): tf.Tensor1D {
  const m = objects.length;
  const set = new Float32Array(m * 24 * 9), axes = new Float32Array(m * 3);
  const isCube = new Float32Array(m), isCyl = new Float32Array(m);
  objects.forEach((j, r) => {
    const R = batch.rotation.subarray(j * 9, j * 9 + 9);
    axes.set([R[1], R[4], R[7]], r * 3);
    if (batch.type[j] === 1) {
      isCube[r] = 1;
      CUBE_SYMMETRIES.forEach((S, k) => set.set(matMul3(R, S), (r * 24 + k) * 9));
    } else if (batch.type[j] === 2) isCyl[r] = 1;
  });
  // Cube: 3 − max_S ⟨R̂, R·S⟩ = min_S ½‖R̂ − R·S‖²; cylinder: 1 − ⟨R̂e_y, Re_y⟩² (axis up to sign).
  const dots = tf.mul(rot.reshape([m, 1, 9]), tf.tensor3d(set, [m, 24, 9])).sum(2).max(1);
  const predAxis = rot.reshape([m, 3, 3]).slice([0, 0, 1], [-1, -1, 1]).reshape([m, 3]); // R̂e_y
  const cos = tf.mul(predAxis, tf.tensor2d(axes, [m, 3])).sum(1);
  return tf.add(
    tf.mul(tf.sub(3, dots), tf.tensor1d(isCube)),
    tf.mul(tf.sub(1, tf.square(cos)), tf.tensor1d(isCyl)),
  );
}

/**
 * z_what, shared by both AIR-style models: a glimpse centred at a place (world x, y) goes through
 * a small CNN; with a context vector per glimpse (the step's state) it gives the type logits, the
 * rotation and the position = centre + Δ. Glimpses are cut on the host, so the sampling location
 * carries no gradient.
 */
function glimpseReader(params: Params, size: number, ctxDim: number, hidden: number) {
  const cnn = smallCnn(params, "glimpse");
  const gFlat = (GLIMPSE.size / 4) ** 2 * 32;
  const fc = params.dense("glimpse_fc", gFlat + ctxDim, hidden);
  const head = params.dense("what", hidden, N_TYPES + 6 + 2, 1); // type, rotation, Δx, Δy

  /** Reads glimpse r from image `source[r]` at world `centres[2r..2r+1]`, with context row r. */
  function read(images: Float32Array, ctx: tf.Tensor2D, source: Int32Array, centres: Float32Array) {
    const m = source.length;
    const poses = new Float32Array(m * 3);
    for (let r = 0; r < m; r++) {
      poses.set([GLIMPSE.halfWidth, centres[r * 2] * TO_IMAGE, -centres[r * 2 + 1] * TO_IMAGE], r * 3);
    }
    const gl = glimpseHost(images, size, source, poses, GLIMPSE.size);
    const gf = cnn(tf.tensor4d(gl, [m, GLIMPSE.size, GLIMPSE.size, 1])).coarse.reshape([m, gFlat]);
    const out = dense(tf.relu(dense(tf.concat([gf, ctx], 1) as tf.Tensor2D, fc)), head);
    const [type, rot6, dxy] = tf.split(out, [N_TYPES, 6, 2], 1);
    return {
      type: type as tf.Tensor2D,
      rot: rotationFrom6d(rot6) as tf.Tensor2D,
      xy: tf.add(tf.tensor2d(centres, [m, 2]), dxy),
    };
  }

  /** Teacher-forced glimpse centres: each object's true x, y plus N(0, jitter²) (a coarse guess). */
  function jitteredCentres(batch: SlotDataset, objects: Int32Array, rng: Rng): Float32Array {
    const centres = new Float32Array(objects.length * 2);
    objects.forEach((j, r) => {
      for (let a = 0; a < 2; a++) {
        centres[r * 2 + a] = batch.position[j * 3 + a] + rng.normal(0, GLIMPSE.jitter);
      }
    });
    return centres;
  }

  /**
   * Training: each of `objects` (indices into the batch's slots) is glimpsed at its jittered true
   * centre with context row r of `ctx` (teacher forcing), and scored per row: CE, |Δxy|₁, rotation.
   */
  function teacherForced(batch: SlotDataset, ctx: tf.Tensor2D, objects: Int32Array, rng: Rng) {
    const source = objects.map((j) => Math.floor(j / batch.maxSlots));
    const o = read(batch.images, ctx, source, jitteredCentres(batch, objects, rng));
    const m = objects.length;
    const ce = tf.losses.softmaxCrossEntropy(
      tf.oneHot(tf.tensor1d(Array.from(objects, (j) => batch.type[j]), "int32"), N_TYPES),
      o.type,
      undefined,
      0,
      tf.Reduction.NONE,
    ) as tf.Tensor1D;
    const txy = new Float32Array(m * 2);
    objects.forEach((j, r) => txy.set(batch.position.subarray(j * 3, j * 3 + 2), r * 2));
    const fineXY = tf.abs(tf.sub(o.xy, tf.tensor2d(txy, [m, 2]))).sum(1) as tf.Tensor1D;
    return { ce, fineXY, rot: rotationCost(o.rot, batch, objects) };
  }

  /**
   * Test time: reads the glimpses of the `rows` (of b·K slots), each centred at its slot's x, y in
   * `xy`, and writes type logits, rotation and the refined x, y into host arrays laid out per slot
   * (absent slots keep an identity rotation).
   */
  function readSlots(
    images: Float32Array,
    ctx: tf.Tensor2D,
    rows: Int32Array,
    slots: number,
    xy: Float32Array,
  ) {
    const centres = new Float32Array(rows.length * 2);
    rows.forEach((i, r) => centres.set(xy.subarray(i * 2, i * 2 + 2), r * 2));
    const type = new Float32Array(xy.length / 2 * N_TYPES), rot = new Float32Array(xy.length / 2 * 9);
    for (let i = 0; i < xy.length / 2; i++) rot.set([1, 0, 0, 0, 1, 0, 0, 0, 1], i * 9);
    if (rows.length) {
      const o = read(images, ctx, rows.map((i) => Math.floor(i / slots)), centres);
      const [t, r, p] = [o.type, o.rot, o.xy].map((x) => x.dataSync());
      rows.forEach((i, k) => {
        type.set(t.subarray(k * N_TYPES, (k + 1) * N_TYPES), i * N_TYPES);
        rot.set(r.subarray(k * 9, (k + 1) * 9), i * 9);
        xy.set(p.subarray(k * 2, k * 2 + 2), i * 2);
      });
    }
    return { type, rot };
  }

  return { teacherForced, readSlots };
}

/** Picks rows of `x` ([R, C]) by a one-hot product (gather has no wasm gradient). */
function pickRows(x: tf.Tensor2D, rows: ArrayLike<number>): tf.Tensor2D {
  const m = rows.length, R = x.shape[0];
  const pick = new Float32Array(m * R);
  for (let r = 0; r < m; r++) pick[r * R + rows[r]] = 1;
  return tf.matMul(tf.tensor2d(pick, [m, R]), x);
}

/**
 * Per image b, the rows `at[b·k + s]` (s < k) of `x[b]` ([b, R, C] → [b·k, C]), by a batched
 * one-hot product: k·R·C work per image instead of a one-hot over all b·R rows.
 */
function pickPerImage(x: tf.Tensor3D, at: Int32Array, k: number): tf.Tensor2D {
  const [b, R, C] = x.shape;
  const pick = new Float32Array(b * k * R);
  for (let i = 0; i < b * k; i++) pick[i * R + at[i]] = 1;
  return tf.matMul(tf.tensor3d(pick, [b, k, R]), x).reshape([b * k, C]) as tf.Tensor2D;
}

const rotationOutputs = (rot: Float32Array) => {
  const rotation = Float64Array.from(rot);
  return { rotation, euler: eulerFromMatrix(rotation) };
};

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
  // The image CNN sees the image mean-pooled 2× (where things are needs no fine detail).
  const enc = smallCnn(params, "enc");
  const flat = (size / 8) ** 2 * 32;
  const fc = params.dense("enc_fc", flat, hidden);
  const reader = glimpseReader(params, size, hidden, hidden);
  // GRU core: input = [image features, previous step's z_where].
  const inDim = hidden + 4;
  const gz = params.dense("gru_z", inDim + hidden, hidden, 1);
  const gr = params.dense("gru_r", inDim + hidden, hidden, 1);
  const gn = params.dense("gru_n", inDim + hidden, hidden, 1);
  const whereHead = params.dense("where", hidden, 1 + 3, 1); // presence, x, y, z

  /** The core: one step per object, each emitting z_where = (presence logit, x, y, z). */
  function where(images: Float32Array, b: number) {
    const half = size / 2;
    const feat = tf.relu(dense(
      enc(tf.tensor4d(meanPool(images, b, size, 2), [b, half, half, 1])).coarse.reshape([b, flat]),
      fc,
    ));
    let h = tf.zeros([b, hidden]) as tf.Tensor2D;
    let prev = tf.zeros([b, 4]) as tf.Tensor2D;
    const hs: tf.Tensor2D[] = [], wheres: tf.Tensor2D[] = [];
    for (let t = 0; t < K; t++) {
      // GRU: z = σ(W_z[x,h]), r = σ(W_r[x,h]), n = tanh(W_n[x, r⊙h]), h' = (1 − z)⊙n + z⊙h
      const xin = tf.concat([feat, prev], 1) as tf.Tensor2D;
      const xh = tf.concat([xin, h], 1) as tf.Tensor2D;
      const z = tf.sigmoid(dense(xh, gz));
      const r = tf.sigmoid(dense(xh, gr));
      const n = tf.tanh(dense(tf.concat([xin, tf.mul(r, h)], 1) as tf.Tensor2D, gn));
      h = tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, h)) as tf.Tensor2D;
      const w = dense(h, whereHead);
      hs.push(h);
      wheres.push(w);
      prev = tf.concat([tf.sigmoid(w.slice([0, 0], [b, 1])), w.slice([0, 1], [b, 3])], 1) as tf.Tensor2D;
    }
    return {
      h: tf.stack(hs, 1).reshape([b * K, hidden]) as tf.Tensor2D, // rows (b, k)
      where: tf.stack(wheres, 1) as tf.Tensor3D, // [b, K, 4]
    };
  }

  /** Test time: glimpse where the core says, at the steps it calls present. */
  function forward(images: Float32Array, b: number, readFrom = 0.5) {
    const w = where(images, b);
    const [pres, coarse, z] = tf.split(w.where, [1, 2, 1], 2);
    const presHost = pres.dataSync(), coarseHost = coarse.dataSync();
    const from = toLogit(readFrom);
    const rows = Int32Array.from({ length: b * K }, (_, i) => i).filter((i) => presHost[i] > from);
    const xy = new Float32Array(coarseHost);
    const { type, rot } = reader.readSlots(images, pickRows(w.h, rows), rows, K, xy);
    return {
      pres: pres.squeeze([2]) as tf.Tensor2D,
      type: tf.tensor3d(type, [b, K, N_TYPES]),
      pos: tf.concat([tf.tensor3d(xy, [b, K, 2]), z], 2) as tf.Tensor3D,
      rot: tf.tensor3d(rot, [b, K, 9]),
    };
  }

  return {
    kind: "conv",
    params,
    partNames: ["presence", "type", "position", "coarse", "rotation"],
    loss(batch) {
      const { n } = batch;
      const wt = CONV_LOSS_WEIGHTS;
      const w = where(batch.images, n);
      const [presLogit, coarse, z] = tf.split(w.where, [1, 2, 1], 2);
      const pres = presLogit.squeeze([2]) as tf.Tensor2D;
      // 1. Match steps to objects on z_where: C[b, i, j] = w_xy·(|Δx|+|Δy|) + w_z·|Δz| (+ presence).
      const tpos = tf.tensor3d(batch.position, [n, K, 3]);
      const l1 = (pred: tf.Tensor, lo: number, count: number) =>
        tf.abs(tf.sub(pred.expandDims(2), tpos.slice([0, 0, lo], [-1, -1, count]).expandDims(1))).sum(3);
      const coarseXY = l1(coarse, 0, 2), dz = l1(z, 2, 1);
      const whereCost = tf.add(coarseXY.mul(wt.xy), dz.mul(wt.z));
      const gain = tf.sub(tf.logSigmoid(tf.neg(pres)), tf.logSigmoid(pres)); // −log p − (−log(1 − p))
      const [costHost, gainHost] = [whereCost, gain].map((t) => t.dataSync());
      const match = new Float32Array(n * K * K);
      const rows: number[] = [], objects: number[] = [];
      for (let b = 0; b < n; b++) {
        const count = batch.presence.subarray(b * K, (b + 1) * K).reduce((a, v) => a + v, 0);
        const table = Array.from(
          { length: count },
          (_, j) => Array.from({ length: K }, (_, i) => costHost[(b * K + i) * K + j] + gainHost[b * K + i]),
        );
        assign(table).forEach((i, j) => {
          match[(b * K + i) * K + j] = 1;
          rows.push(b * K + i);
          objects.push(b * K + j);
        });
      }
      const m = tf.tensor3d(match, [n, K, K]);
      // 2. Teacher forcing: each matched step glimpses at its object, jittered like a coarse guess.
      const obj = Int32Array.from(objects);
      const { ce, fineXY, rot } = reader.teacherForced(batch, pickRows(w.h, rows), obj, jitter);
      const perImage = (t: tf.Tensor) => t.sum().div(n) as tf.Scalar;
      const presence = tf.losses.sigmoidCrossEntropy(m.sum(2), pres) as tf.Scalar;
      const parts = tf.stack([
        presence,
        perImage(ce),
        perImage(tf.add(fineXY.sum(), tf.mul(dz, m).sum())),
        perImage(tf.mul(coarseXY, m)),
        perImage(rot),
      ]) as tf.Tensor1D;
      const total = tf.addN([
        presence.mul(K),
        perImage(tf.mul(whereCost, m)),
        perImage(tf.addN([ce.mul(wt.type), fineXY.mul(wt.xy), rot.mul(wt.rotation)])),
      ]) as tf.Scalar;
      return { total, parts };
    },
    predict(images, n, readFrom) {
      const read = (x: Float32Array, count: number) => forward(x, count, readFrom);
      return predictSlots(images, n, { size, slots: K, chunk: 250, width: 9 }, read, rotationOutputs);
    },
  };
}

/**
 * The grid model's settings: the cell side in pixels, the presence logit's initial offset (p ≈ 1 %
 * per cell), the slope of the presence logits {@link gridObjects} emits, and the loss weights of
 * presence and of the votes. (Presence ×4 with votes reached count 0.867 against 0.840 with
 * neither — 300 held-out scenes, 10 epochs, seed 0.)
 */
export const GRID = { cellPx: 4, priorLogit: -4.5, sharpness: 4, presenceWeight: 4, voteWeight: 1 };

/**
 * Where each object's centre falls on a G×G grid over the view: cell (row, col) and the offset
 * inside it, in cells (x grows along columns, y up means rows going down).
 */
export function cellOf(x: number, y: number, G: number) {
  const u = (x / VIEW_HALF_WIDTH + 1) / 2 * G, v = (1 - y / VIEW_HALF_WIDTH) / 2 * G;
  const col = Math.min(G - 1, Math.max(0, Math.floor(u))), row = Math.min(G - 1, Math.max(0, Math.floor(v)));
  return { row, col, du: u - col, dv: v - row };
}

/**
 * Peaks of a [G, G] score map: cells at least as high as their 8 neighbours (ties go to the
 * first in raster order), highest first, at most `k`.
 */
export function gridPeaks(score: ArrayLike<number>, G: number, k: number): number[] {
  const peaks: number[] = [];
  for (let r = 0; r < G; r++) {
    for (let c = 0; c < G; c++) {
      const s = score[r * G + c];
      let peak = true;
      for (let dr = -1; dr <= 1 && peak; dr++) {
        for (let dc = -1; dc <= 1; dc++) {
          const rr = r + dr, cc = c + dc;
          if ((dr || dc) && rr >= 0 && rr < G && cc >= 0 && cc < G) {
            const o = score[rr * G + cc], before = dr < 0 || (dr === 0 && dc < 0);
            if (o > s || (o === s && before)) {
              peak = false;
              break;
            }
          }
        }
      }
      if (peak) peaks.push(r * G + c);
    }
  }
  return peaks.sort((a, b) => score[b] - score[a] || a - b).slice(0, k);
}

/**
 * The objects a grid model's presence map holds, most certain first, at most `k`. Each peak of
 * p = σ(logit) (a cell at least as high as its 8 neighbours) heads a blob; the blob's mass — the
 * sum of p over the peak's 3×3 window — is how many centres it holds (two centres a cell apart
 * make one blob of mass ≈ 2). The blob's j-th object (j = 0, 1, …) sits at its j-th highest cell
 * and has presence logit `sharpness`·(mass − j − ½): it is present when the mass exceeds j + ½.
 */
export function gridObjects(
  logits: ArrayLike<number>,
  G: number,
  k: number,
  sharpness = GRID.sharpness,
): { cell: number; logit: number }[] {
  const p = Float64Array.from(logits as ArrayLike<number>, (l) => 1 / (1 + Math.exp(-l)));
  const found: { cell: number; logit: number }[] = [];
  for (const peak of gridPeaks(p, G, k)) {
    const r0 = Math.floor(peak / G), c0 = peak % G, window: number[] = [];
    let mass = 0;
    for (let r = Math.max(0, r0 - 1); r <= Math.min(G - 1, r0 + 1); r++) {
      for (let c = Math.max(0, c0 - 1); c <= Math.min(G - 1, c0 + 1); c++) {
        mass += p[r * G + c];
        window.push(r * G + c);
      }
    }
    window.sort((a, b) => p[b] - p[a] || a - b);
    for (let j = 0; j < Math.min(k, window.length); j++) {
      found.push({ cell: window[j], logit: sharpness * (mass - j - 0.5) });
    }
  }
  return found.sort((a, b) => b.logit - a.logit || a.cell - b.cell).slice(0, k);
}

/**
 * The grid (set) model — AIR's z_where read off a grid, as SPAIR does, and AIR's glimpse for
 * z_what. A fully convolutional encoder gives every cell of a (size/4)² grid (4-px cells) a
 * presence logit for "an object's centre is here", the centre's offset in the cell and its depth
 * (z_where). The objects are the blobs of the presence map ({@link gridObjects}); the decoder
 * emits them one per step, most certain first, and reads each through a glimpse (z_what) as the
 * conv model does. The loss is order-free by construction: each object owns the cell its centre
 * falls in, so no x-order and no matching is needed.
 *
 * Losses (per image): presence Σ_cells BCE(p, [a centre is here]) — so Σ p estimates the count;
 * z_where |Δoffset| and |Δz| at each object's cell; z_what as the conv model's. An auxiliary
 * dense target helps the encoder tell touching objects apart: every cell that shows an object
 * also regresses the vector to that object's centre (Hough-style votes, L1, mean over such cells).
 */
export function gridModel(rng: Rng, shape: ModelShape): SlotModel {
  const { imageSize: size, maxSlots: K, hidden = 256 } = shape;
  if (size % 16) throw new RangeError(`imageSize must be a multiple of 16 for the grid model, got ${size}`);
  const G = size / GRID.cellPx, g = size / 8, sub = G / g, cells = G * G, C = 64;
  const params = new Params(rng.child("weights"));
  const jitter = rng.child("jitter");
  // The encoder sees the image mean-pooled 2×. Its (size/8)² map, after a second 3×3 layer for
  // context, is fused with the first layer's features (space-to-depth'd to the same map); each
  // of its positions scores the sub × sub grid cells it covers (2 × 2 with 4-px cells).
  const enc = smallCnn(params, "enc", C);
  const c4 = params.normal("enc4", [3, 3, C, C], he(9 * C));
  const fuse = params.normal("fuse", [128 + C, C], he(128 + C));
  // Per cell: presence logit, Δu, Δv, z, and the vote (the offset from the cell to the centre of
  // the object seen there).
  const head = params.dense("cell", C, sub * sub * 6, 1);
  const reader = glimpseReader(params, size, C, hidden);

  /** Features [b, (size/8)², C] and per-cell outputs [b, G², 6]. */
  function cellsOf(images: Float32Array, b: number) {
    const half = size / 2;
    const { fine, coarse } = enc(tf.tensor4d(meanPool(images, b, size, 2), [b, half, half, 1]));
    const feat = pixelwise(tf.concat([fine, reluConv(coarse, c4)], 3) as tf.Tensor4D, fuse);
    const out = dense(feat.reshape([b * g * g, C]), head) // depth-to-space by `sub`
      .reshape([b, g, g, sub, sub, 6]).transpose([0, 1, 3, 2, 4, 5]).reshape([b, cells, 6]) as tf.Tensor3D;
    return { feat: feat.reshape([b, g * g, C]) as tf.Tensor3D, out };
  }

  /** Grid cell → index of the feature position covering it. */
  const featAt = (i: number) => Math.floor(Math.floor(i / G) / sub) * g + Math.floor((i % G) / sub);

  /** World x, y of cell `i` (in 0..G²−1) at offsets (du, dv). */
  const worldOf = (i: number, du: number, dv: number): [number, number] => [
    ((i % G + du) / G * 2 - 1) * VIEW_HALF_WIDTH,
    (1 - (Math.floor(i / G) + dv) / G * 2) * VIEW_HALF_WIDTH,
  ];

  /** Test time: the K highest peaks become the steps; each is glimpsed at its centre. */
  function forward(images: Float32Array, b: number, readFrom = 0.5) {
    const { feat, out } = cellsOf(images, b);
    const o = out.dataSync();
    const pres = new Float32Array(b * K).fill(-20),
      xy = new Float32Array(b * K * 2),
      z = new Float32Array(b * K);
    const rows: number[] = [], at = new Int32Array(b * K);
    const score = new Float32Array(cells), from = toLogit(readFrom);
    for (let n = 0; n < b; n++) {
      for (let i = 0; i < cells; i++) score[i] = o[(n * cells + i) * 6] + GRID.priorLogit;
      gridObjects(score, G, K).forEach(({ cell: i, logit }, k) => {
        const r = (n * cells + i) * 6, slot = n * K + k;
        pres[slot] = logit;
        xy.set(worldOf(i, o[r + 1], o[r + 2]), slot * 2);
        z[slot] = o[r + 3];
        at[slot] = featAt(i);
        if (pres[slot] > from) rows.push(slot);
      });
    }
    const slotRows = Int32Array.from(rows);
    const ctx = pickRows(pickPerImage(feat, at, K), slotRows);
    const { type, rot } = reader.readSlots(images, ctx, slotRows, K, xy);
    const pos = new Float32Array(b * K * 3);
    for (let i = 0; i < b * K; i++) pos.set([xy[i * 2], xy[i * 2 + 1], z[i]], i * 3);
    return {
      pres: tf.tensor2d(pres, [b, K]),
      type: tf.tensor3d(type, [b, K, N_TYPES]),
      pos: tf.tensor3d(pos, [b, K, 3]),
      rot: tf.tensor3d(rot, [b, K, 9]),
    };
  }

  return {
    kind: "grid",
    params,
    partNames: ["presence", "type", "position", "coarse", "rotation"],
    loss(batch) {
      const { n } = batch;
      const wt = CONV_LOSS_WEIGHTS;
      const { feat, out } = cellsOf(batch.images, n);
      // Host targets: which cell holds each object's centre, and per object its offset and depth.
      const isCentre = new Float32Array(n * cells);
      const vote = new Float32Array(n * cells * 2), seen = new Float32Array(n * cells);
      const cellPx = size / G;
      const objects: number[] = [], target: number[] = [];
      const cellOfSlot = new Int32Array(n * K), featOfSlot = new Int32Array(n * K);
      for (let b = 0; b < n; b++) {
        for (let k = 0; k < K; k++) {
          const j = b * K + k;
          if (!batch.presence[j]) continue;
          const p = batch.position.subarray(j * 3, j * 3 + 3);
          const { row, col, du, dv } = cellOf(p[0], p[1], G);
          isCentre[b * cells + row * G + col] = 1;
          objects.push(j);
          cellOfSlot[j] = row * G + col;
          featOfSlot[j] = featAt(row * G + col);
          target.push(du, dv, p[2]);
        }
        // Votes: each cell whose centre pixel shows object j points at j's centre (in cells).
        for (let r = 0; r < G; r++) {
          for (let c = 0; c < G; c++) {
            const id =
              batch.ids[b * size * size + (r * cellPx + cellPx / 2) * size + c * cellPx + cellPx / 2];
            if (id < 0) continue;
            const p = batch.position.subarray((b * K + id) * 3, (b * K + id) * 3 + 2);
            const u = (p[0] / VIEW_HALF_WIDTH + 1) / 2 * G, v = (1 - p[1] / VIEW_HALF_WIDTH) / 2 * G;
            const at = b * cells + r * G + c;
            seen[at] = 1;
            vote[at * 2] = u - (c + 0.5);
            vote[at * 2 + 1] = v - (r + 0.5);
          }
        }
      }
      // Presence: BCE of every cell against "a centre is here", summed per image, so Σ_cells p is
      // a calibrated estimate of the count.
      const logit = tf.add(out.slice([0, 0, 0], [-1, -1, 1]).reshape([n * cells]), GRID.priorLogit);
      const y = tf.tensor1d(isCentre);
      const presence = tf.sub(tf.softplus(logit), tf.mul(logit, y)).sum().div(n) as tf.Scalar;
      const m = objects.length;
      // z_where at each object's cell: offset (cells) and depth, L1.
      const obj = Int32Array.from(objects);
      const at = pickRows(pickPerImage(out, cellOfSlot, K), obj).slice([0, 1], [-1, 3]);
      const voteErr = tf.mul(
        tf.abs(
          tf.sub(
            out.slice([0, 0, 4], [-1, -1, 2]).reshape([n * cells, 2]),
            tf.tensor2d(vote, [n * cells, 2]),
          ),
        ).sum(1),
        tf.tensor1d(seen),
      ).sum().div(Math.max(1, seen.reduce((a, v) => a + v, 0))) as tf.Scalar;
      const err = tf.abs(tf.sub(at, tf.tensor2d(target, [m, 3])));
      const [dOff, dz] = tf.split(err, [2, 1], 1);
      const coarseXY = dOff.sum().mul(2 * VIEW_HALF_WIDTH / G); // in world units
      // z_what: teacher-forced glimpses at each object, jittered like a detection.
      const ctx = pickRows(pickPerImage(feat, featOfSlot, K), obj);
      const { ce, fineXY, rot } = reader.teacherForced(batch, ctx, obj, jitter);
      const perImage = (t: tf.Tensor) => t.sum().div(n) as tf.Scalar;
      const parts = tf.stack([
        presence,
        perImage(ce),
        perImage(tf.add(fineXY.sum(), dz.sum())),
        perImage(coarseXY),
        perImage(rot),
      ]) as tf.Tensor1D;
      const total = tf.addN([
        voteErr.mul(GRID.voteWeight),
        presence.mul(GRID.presenceWeight),
        perImage(tf.add(coarseXY.mul(wt.xy), dz.sum().mul(wt.z))),
        perImage(tf.addN([ce.mul(wt.type), fineXY.mul(wt.xy), rot.mul(wt.rotation)])),
      ]) as tf.Scalar;
      return { total, parts };
    },
    predict(images, n, readFrom) {
      const read = (x: Float32Array, count: number) => forward(x, count, readFrom);
      return predictSlots(images, n, { size, slots: K, chunk: 250, width: 9 }, read, rotationOutputs);
    },
  };
}

/** Builds a model of `kind`. */
export function buildModel(kind: ModelKind, rng: Rng, shape: ModelShape): SlotModel {
  if (kind === "mlp") return mlpModel(rng, shape);
  if (kind === "conv") return convModel(rng, shape);
  if (kind === "grid") return gridModel(rng, shape);
  throw new RangeError(`model must be one of ${MODEL_KINDS.join(", ")}, got ${JSON.stringify(kind)}`);
}
