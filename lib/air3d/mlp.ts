/**
 * The numpy reproduction's baseline for AIR's 3D-primitives task: the image mean-pooled 2×, a
 * 3-layer MLP (hidden 128) that emits all slots at once, slots ordered by x, loss
 * BCE(presence) + CE(type) + MSE(position) + MSE(Euler angles; masked for spheres).
 *
 * @example
 * ```ts
 * import { meanPool } from "./mlp.ts";
 * meanPool(new Float32Array(16).fill(1), 1, 4, 2); // 2×2 block means: [1, 1, 1, 1]
 * ```
 * @module
 */
import { tf } from "../core/tf.ts";
import { dense } from "../nn/dense.ts";
import type { Rng } from "../core/random.ts";
import { Params } from "../nn/params.ts";
import type { SlotDataset } from "../scenes/scenes3d.ts";
import { eulerZYX } from "../scenes/primitives.ts";
import { ModelShape, SlotModel } from "./model.ts";
import { N_TYPES, predictSlots } from "./blocks.ts";

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
      const read = (x: Float32Array, count: number) =>
        Promise.resolve(tf.tidy(() => {
          const { pres, type, pos, rot } = forward(x, count);
          return { pres, type, pos, rot };
        }));
      return predictSlots(images, n, { size, slots: K, chunk: 500, width: 3 }, read, (rot) => {
        const euler = [rot[0], rot[1], rot[2]] as [number, number, number];
        return { euler, rotation: eulerZYX(...euler) };
      });
    },
  };
}
