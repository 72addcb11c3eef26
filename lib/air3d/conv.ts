/**
 * AIR's ingredients on the 3D-primitives task: a convolutional encoder, a recurrent core (GRU) that
 * emits one object's z_where (presence, position) per step as AIR does, a spatial-transformer
 * glimpse there read by a second CNN for z_what (type, rotation, a fine position offset), and a
 * permutation-invariant loss — each image's steps are matched to its objects by the assignment of
 * least cost (Hungarian), so no x-order is imposed. Rotation is predicted as a matrix (the 6-D
 * parametrisation, `blocks.ts`) and its loss is taken modulo the primitive's symmetry.
 * @module
 */
import { readsSync, tf } from "../core/tf.ts";
import { dense } from "../nn/dense.ts";
import type { Rng } from "../core/random.ts";
import { Params } from "../nn/params.ts";
import { assign } from "../metrics/slots.ts";
import { ModelShape, SlotModel } from "./model.ts";
import type { SlotDataset } from "../scenes/scenes3d.ts";
import {
  CONV_LOSS_WEIGHTS,
  N_TYPES,
  pickRows,
  predictSlots,
  rotationOutputs,
  type SlotOutputs,
  smallCnn,
  toLogit,
} from "./blocks.ts";

/** The conv model's matching of steps to objects: one-hot [n·K·K] and the matched pairs' slot indices. */
interface StepMatch {
  match: Float32Array;
  rows: number[];
  objects: number[];
}
import { glimpseReader } from "./glimpse_reader.ts";
import { meanPool } from "./mlp.ts";

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
  async function forward(images: Float32Array, b: number, readFrom = 0.5): Promise<SlotOutputs> {
    const [h, pres, coarse, z] = tf.tidy(() => {
      const w = where(images, b);
      return [w.h, ...tf.split(w.where, [1, 2, 1], 2)];
    });
    const [presHost, coarseHost] = await Promise.all([pres.data(), coarse.data() as Promise<Float32Array>]);
    const from = toLogit(readFrom);
    const rows = Int32Array.from({ length: b * K }, (_, i) => i).filter((i) => presHost[i] > from);
    const xy = new Float32Array(coarseHost);
    const ctx = tf.tidy(() => pickRows(h as tf.Tensor2D, rows));
    const { type, rot } = await reader.readSlots(images, ctx, rows, K, xy).finally(() => ctx.dispose());
    const out = tf.tidy(() => ({
      pres: pres.squeeze([2]) as tf.Tensor2D,
      type: tf.tensor3d(type, [b, K, N_TYPES]),
      pos: tf.concat([tf.tensor3d(xy, [b, K, 2]), z], 2) as tf.Tensor3D,
      rot: tf.tensor3d(rot, [b, K, 9]),
    }));
    tf.dispose([h, pres, coarse, z]);
    return out;
  }

  /**
   * Matches each image's steps to its objects (Hungarian on the host) from the steps' z_where
   * costs `cost` [n·K·K] (step i, object j) and presence gains `gain` [n·K]: a one-hot
   * match [n·K·K] and, per matched pair, the step's and the object's slot index.
   */
  function matchSteps(batch: SlotDataset, cost: ArrayLike<number>, gain: ArrayLike<number>): StepMatch {
    const { n } = batch;
    const match = new Float32Array(n * K * K);
    const rows: number[] = [], objects: number[] = [];
    for (let b = 0; b < n; b++) {
      const count = batch.presence.subarray(b * K, (b + 1) * K).reduce((a, v) => a + v, 0);
      const table = Array.from(
        { length: count },
        (_, j) => Array.from({ length: K }, (_, i) => cost[(b * K + i) * K + j] + gain[b * K + i]),
      );
      assign(table).forEach((i, j) => {
        match[(b * K + i) * K + j] = 1;
        rows.push(b * K + i);
        objects.push(b * K + j);
      });
    }
    return { match, rows, objects };
  }

  /** The matching costs of a batch: C[b, i, j] = w_xy·(|Δx|+|Δy|) + w_z·|Δz|, presence gain, and the pieces. */
  function whereCosts(batch: SlotDataset) {
    const wt = CONV_LOSS_WEIGHTS, n = batch.n;
    const w = where(batch.images, n);
    const [presLogit, coarse, z] = tf.split(w.where, [1, 2, 1], 2);
    const pres = presLogit.squeeze([2]) as tf.Tensor2D;
    const tpos = tf.tensor3d(batch.position, [n, K, 3]);
    const l1 = (pred: tf.Tensor, lo: number, count: number) =>
      tf.abs(tf.sub(pred.expandDims(2), tpos.slice([0, 0, lo], [-1, -1, count]).expandDims(1))).sum(3);
    const coarseXY = l1(coarse, 0, 2), dz = l1(z, 2, 1);
    const whereCost = tf.add(coarseXY.mul(wt.xy), dz.mul(wt.z));
    const gain = tf.sub(tf.logSigmoid(tf.neg(pres)), tf.logSigmoid(pres)); // −log p − (−log(1 − p))
    return { h: w.h, pres, coarseXY, dz, whereCost, gain };
  }

  return {
    kind: "conv",
    params,
    partNames: ["presence", "type", "position", "coarse", "rotation"],
    async plan(batch) {
      const kept = tf.tidy(() => {
        const { whereCost, gain } = whereCosts(batch);
        return [whereCost, gain];
      });
      const [cost, gain] = await Promise.all(kept.map((t) => t.data()));
      tf.dispose(kept);
      return matchSteps(batch, cost, gain);
    },
    loss(batch, plan) {
      const { n } = batch;
      const wt = CONV_LOSS_WEIGHTS;
      // 1. Match steps to objects on z_where: C[b, i, j] = w_xy·(|Δx|+|Δy|) + w_z·|Δz| (+ presence).
      const { h, pres, coarseXY, dz, whereCost, gain } = whereCosts(batch);
      if (!plan && !readsSync()) {
        throw new Error(`conv loss: on ${tf.getBackend()} pass the plan from plan()`);
      }
      const { match, rows, objects } = (plan as StepMatch | undefined) ??
        matchSteps(batch, whereCost.dataSync(), gain.dataSync());
      const m = tf.tensor3d(match, [n, K, K]);
      // 2. Teacher forcing: each matched step glimpses at its object, jittered like a coarse guess.
      const obj = Int32Array.from(objects);
      const { ce, fineXY, rot } = reader.teacherForced(batch, pickRows(h, rows), obj, jitter);
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
