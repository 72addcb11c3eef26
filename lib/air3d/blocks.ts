/**
 * Building blocks the AIR-3D models share: reading predictions back per slot, the 6-D rotation
 * (Zhou et al. 2019) and its cost modulo a primitive's symmetry, small bias-free CNNs, one-hot row
 * picks (gather has no wasm gradient), and the glimpse settings.
 *
 * Rotation cost, cube: min over the 24 rotations S of ½‖R̂ − R·S‖²_F = 3 − max_S ⟨R̂, R·S⟩;
 * cylinder: 1 − ⟨R̂e_y, Re_y⟩² (axis up to sign); sphere: none.
 *
 * @example
 * ```ts
 * import { rotationFrom6d } from "./blocks.ts";
 * import { tf } from "../core/tf.ts";
 * const R = rotationFrom6d(tf.tensor2d([[1, 0, 0, 0, 1, 0]])); // the identity, row-major [1, 9]
 * ```
 * @module
 */
import { tf } from "../core/tf.ts";
import { Params } from "../nn/params.ts";
import type { SlotDataset } from "../scenes/scenes3d.ts";
import { CUBE_SYMMETRIES, eulerFromMatrix, matMul3, type SlotPrediction } from "../metrics/slots.ts";
import { PRIMITIVE_TYPES, VIEW_HALF_WIDTH } from "../scenes/primitives.ts";

export const N_TYPES = PRIMITIVE_TYPES.length;

/** Model outputs per slot, as tensors ([n, K] presence logits, [n, K, 3] types, [n, K, 3] positions, [n, K, r] rotations). */
export interface SlotOutputs {
  pres: tf.Tensor;
  type: tf.Tensor;
  pos: tf.Tensor;
  rot: tf.Tensor;
}

/**
 * Per-image slot predictions of a model, in chunks of `chunk` images: reads the outputs of
 * `forward` (tensors the caller owns; a forward may read back midway, so it is async) to the host;
 * `orient` turns one slot's rotation output (`width` numbers) into the rotation matrix and Euler
 * angles the scores use.
 */
export async function predictSlots(
  images: Float32Array,
  n: number,
  options: { size: number; slots: number; chunk: number; width: number },
  forward: (images: Float32Array, count: number) => Promise<SlotOutputs>,
  orient: (rot: Float32Array) => Pick<SlotPrediction, "rotation" | "euler">,
): Promise<SlotPrediction[][]> {
  const { size, slots: K, chunk, width } = options;
  const out: SlotPrediction[][] = [];
  for (let start = 0; start < n; start += chunk) {
    const count = Math.min(chunk, n - start);
    const o = await forward(images.subarray(start * size * size), count);
    const kept = [...tf.tidy(() => [tf.sigmoid(o.pres), tf.argMax(o.type, 2)]), o.pos, o.rot];
    const [pres, type, pos, rot] = await Promise.all(kept.map((t) => t.data()));
    tf.dispose([...kept, o.pres, o.type]);
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
export const TO_IMAGE = 1 / VIEW_HALF_WIDTH;
export const toLogit = (p: number) => Math.log(p / (1 - p));
export const he = (fanIn: number) => Math.sqrt(2 / fanIn);

/** relu(conv3×3(x)), bias-free (a bias gradient is a slow reduction on wasm). */
export function reluConv(x: tf.Tensor4D, w: tf.Variable): tf.Tensor4D {
  return tf.relu(tf.conv2d(x, w as tf.Tensor4D, 1, "same")) as tf.Tensor4D;
}

/** relu(x·W) at every pixel: a 1×1 conv run as one matMul. */
export function pixelwise(x: tf.Tensor4D, w: tf.Variable): tf.Tensor4D {
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
export function smallCnn(params: Params, name: string, out = 32) {
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
export function rotationCost(rot: tf.Tensor2D, batch: SlotDataset, objects: Int32Array): tf.Tensor1D {
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
/** Picks rows of `x` ([R, C]) by a one-hot product (gather has no wasm gradient). */
export function pickRows(x: tf.Tensor2D, rows: ArrayLike<number>): tf.Tensor2D {
  const m = rows.length, R = x.shape[0];
  const pick = new Float32Array(m * R);
  for (let r = 0; r < m; r++) pick[r * R + rows[r]] = 1;
  return tf.matMul(tf.tensor2d(pick, [m, R]), x);
}

/**
 * Per image b, the rows `at[b·k + s]` (s < k) of `x[b]` ([b, R, C] → [b·k, C]), by a batched
 * one-hot product: k·R·C work per image instead of a one-hot over all b·R rows.
 */
export function pickPerImage(x: tf.Tensor3D, at: Int32Array, k: number): tf.Tensor2D {
  const [b, R, C] = x.shape;
  const pick = new Float32Array(b * k * R);
  for (let i = 0; i < b * k; i++) pick[i * R + at[i]] = 1;
  return tf.matMul(tf.tensor3d(pick, [b, k, R]), x).reshape([b * k, C]) as tf.Tensor2D;
}

export const rotationOutputs = (rot: Float32Array) => {
  const rotation = Float64Array.from(rot);
  return { rotation, euler: eulerFromMatrix(rotation) };
};
