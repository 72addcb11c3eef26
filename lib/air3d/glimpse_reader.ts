/**
 * The glimpse reader the conv and grid models share: a spatial-transformer glimpse at each slot's
 * centre, read by a small CNN with the slot's context into type logits, rotation and a fine offset —
 * AIR's z_what read where z_where points.
 * @module
 */
import { tf } from "../core/tf.ts";
import { dense } from "../nn/dense.ts";
import type { Rng } from "../core/random.ts";
import { Params } from "../nn/params.ts";
import type { SlotDataset } from "../scenes/scenes3d.ts";
import { glimpseHost } from "../nn/spatial.ts";
import { GLIMPSE, N_TYPES, rotationCost, rotationFrom6d, smallCnn, TO_IMAGE } from "./blocks.ts";

/**
 * z_what, shared by both AIR-style models: a glimpse centred at a place (world x, y) goes through
 * a small CNN; with a context vector per glimpse (the step's state) it gives the type logits, the
 * rotation and the position = centre + Δ. Glimpses are cut on the host, so the sampling location
 * carries no gradient.
 */
export function glimpseReader(params: Params, size: number, ctxDim: number, hidden: number) {
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
   * (absent slots keep an identity rotation). `ctx` stays the caller's.
   */
  async function readSlots(
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
      const o = tf.tidy(() => {
        const { type, rot, xy } = read(images, ctx, rows.map((i) => Math.floor(i / slots)), centres);
        return [type, rot, xy];
      });
      const [t, r, p] = await Promise.all(o.map((x) => x.data()));
      tf.dispose(o);
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
