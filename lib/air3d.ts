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
  /** Per-image slot predictions, computed in chunks. */
  predict(images: Float32Array, n: number): SlotPrediction[][];
}

const N_TYPES = PRIMITIVE_TYPES.length;

function denseApply(x: tf.Tensor2D, d: Dense): tf.Tensor2D {
  return tf.add(tf.matMul(x, d.w as tf.Tensor2D), d.b) as tf.Tensor2D;
}

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
    const h1 = tf.relu(denseApply(x, l1));
    const h2 = tf.relu(denseApply(h1, l2));
    const raw = denseApply(h2, out).reshape([n * K, per]);
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
   * z_what for the steps in `rows` (indices into the b·K steps): a glimpse centred at
   * `centres` (world x, y per row) goes through the glimpse CNN; returns per row the type
   * logits, the rotation and the position = centre + Δ. Only the rows asked for are glimpsed
   * (the matched steps in training, the present ones at test time). Glimpses are cut on the
   * host, so the sampling location carries no gradient.
   */
  function what(images: Float32Array, h: tf.Tensor2D, rows: Int32Array, centres: Float32Array) {
    const m = rows.length;
    const poses = new Float32Array(m * 3), source = new Int32Array(m);
    const pick = new Float32Array(m * h.shape[0]);
    for (let r = 0; r < m; r++) {
      source[r] = Math.floor(rows[r] / K);
      poses.set([GLIMPSE.halfWidth, centres[r * 2] * toImage, -centres[r * 2 + 1] * toImage], r * 3);
      pick[r * h.shape[0] + rows[r]] = 1;
    }
    // The rows' core states, selected by a one-hot product (gather has no wasm gradient).
    const hRows = tf.matMul(tf.tensor2d(pick, [m, h.shape[0]]), h);
    const gl = glimpseHost(images, size, source, poses, GLIMPSE.size);
    const gf = runCnn(tf.tensor4d(gl, [m, GLIMPSE.size, GLIMPSE.size, 1]), gcnn).reshape([m, gFlat]);
    const out = denseApply(tf.relu(denseApply(tf.concat([gf, hRows], 1) as tf.Tensor2D, gfc)), whatHead);
    const [type, rot6, dxy] = tf.split(out, [N_TYPES, 6, 2], 1);
    return {
      type: type as tf.Tensor2D,
      rot: rotationFrom6d(rot6) as tf.Tensor2D,
      xy: tf.add(tf.tensor2d(centres, [m, 2]), dxy),
    };
  }

  /** Test time: glimpse where the core says, at the steps it calls present. */
  function forward(images: Float32Array, b: number) {
    const w = where(images, b);
    const [pres, coarse, z] = tf.split(w.where, [1, 2, 1], 2);
    const presHost = pres.dataSync(), coarseHost = coarse.dataSync();
    const rows = Int32Array.from({ length: b * K }, (_, i) => i).filter((i) => presHost[i] > 0);
    const centres = new Float32Array(rows.length * 2);
    rows.forEach((i, r) => centres.set(coarseHost.subarray(i * 2, i * 2 + 2), r * 2));
    const type = new Float32Array(b * K * N_TYPES), rot = new Float32Array(b * K * 9);
    const xy = new Float32Array(coarseHost);
    for (let i = 0; i < b * K; i++) rot.set([1, 0, 0, 0, 1, 0, 0, 0, 1], i * 9); // absent steps
    if (rows.length) {
      const o = what(images, w.h, rows, centres);
      const [t, r, p] = [o.type, o.rot, o.xy].map((x) => x.dataSync());
      rows.forEach((i, k) => {
        type.set(t.subarray(k * N_TYPES, (k + 1) * N_TYPES), i * N_TYPES);
        rot.set(r.subarray(k * 9, (k + 1) * 9), i * 9);
        xy.set(p.subarray(k * 2, k * 2 + 2), i * 2);
      });
    }
    return {
      pres: pres.squeeze([2]) as tf.Tensor2D,
      type: tf.tensor3d(type, [b, K, N_TYPES]),
      pos: tf.concat([tf.tensor3d(xy, [b, K, 2]), z], 2) as tf.Tensor3D,
      rot: tf.tensor3d(rot, [b, K, 9]),
    };
  }

  /**
   * Symmetric rotation cost of each row's prediction against its object (`objects`: indices into
   * the batch's b·K slots): cube 3 − max_S ⟨R̂, R·S⟩ = min_S ½‖R̂ − R·S‖²; cylinder 1 − ⟨R̂e_y, Re_y⟩².
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
    const dots = tf.mul(rot.reshape([m, 1, 9]), tf.tensor3d(set, [m, 24, 9])).sum(2).max(1);
    const predAxis = rot.reshape([m, 3, 3]).slice([0, 0, 1], [-1, -1, 1]).reshape([m, 3]); // R̂e_y
    const cos = tf.mul(predAxis, tf.tensor2d(axes, [m, 3])).sum(1);
    return tf.add(
      tf.mul(tf.sub(3, dots), tf.tensor1d(isCube)),
      tf.mul(tf.sub(1, tf.square(cos)), tf.tensor1d(isCyl)),
    );
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
      const centres = new Float32Array(rows.length * 2);
      objects.forEach((j, r) => {
        for (let a = 0; a < 2; a++) {
          centres[r * 2 + a] = batch.position[j * 3 + a] + jitter.normal(0, GLIMPSE.jitter);
        }
      });
      const obj = Int32Array.from(objects);
      const o = what(batch.images, w.h, Int32Array.from(rows), centres);
      const ce = tf.losses.softmaxCrossEntropy(
        tf.oneHot(tf.tensor1d(Array.from(obj, (j) => batch.type[j]), "int32"), N_TYPES),
        o.type,
        undefined,
        0,
        tf.Reduction.NONE,
      ) as tf.Tensor1D;
      const txy = tf.tensor2d(
        Array.from(obj).flatMap((j) => [batch.position[j * 3], batch.position[j * 3 + 1]]),
        [
          obj.length,
          2,
        ],
      );
      const fineXY = tf.abs(tf.sub(o.xy, txy)).sum(1);
      const rot = rotationCost(o.rot, batch, obj);
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
    predict(images, n) {
      return predictSlots(images, n, { size, slots: K, chunk: 250, width: 9 }, forward, (rot) => {
        const rotation = Float64Array.from(rot);
        return { rotation, euler: eulerFromMatrix(rotation) };
      });
    },
  };
}

/** Builds a model of `kind`. */
export function buildModel(kind: ModelKind, rng: Rng, shape: ModelShape): SlotModel {
  if (kind === "mlp") return mlpModel(rng, shape);
  if (kind === "conv") return convModel(rng, shape);
  throw new RangeError(`model must be one of ${MODEL_KINDS.join(", ")}, got ${JSON.stringify(kind)}`);
}
