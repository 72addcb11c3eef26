/**
 * The spatial transformer of AIR (§2, "attention window") for a pose z_where = (s, x, y) with no
 * rotation: a g×g glimpse of an S×S image, sampled bilinearly on a grid of half-width s
 * (normalised units, image = [−1, 1]²) centred at (x, y) — `glimpse` reads, `writeWindow` writes
 * a window back onto the canvas (the inverse pose).
 *
 * Without rotation the sampling grid is separable, so bilinear sampling is two matrix products:
 *
 *     glimpse = K_y · X · K_xᵀ,    K[i, j] = max(0, 1 − |u_i − j|),
 *     u_i = ((s·t_i + c) + 1) / 2 · (S − 1),  t = linspace(−1, 1, g)
 *
 * (c = x for columns, y for rows, rows counted downwards). This is exact bilinear interpolation
 * with zeros outside the image, and autodiff flows to both the image and the pose — tfjs has no
 * gradient for CropAndResize, so this is how AIR's attention is trained here.
 *
 * @example
 * ```ts
 * import { tf } from "./tf.ts";
 * import { glimpse } from "./spatial.ts";
 * const images = tf.zeros([2, 64, 64]) as tf.Tensor3D;
 * const where = tf.tensor2d([[0.5, 0, 0], [0.25, -0.5, 0.5]]);   // (s, x, y) per image
 * const g = glimpse(images, where, 16);                             // [2, 16, 16]
 * ```
 * @module
 */
import { tf } from "./tf.ts";

/**
 * Bilinear sampling matrices [n, g, S] for centres `c` [n] and half-widths `s` [n]
 * (normalised units).
 */
export function samplingMatrix(s: tf.Tensor1D, c: tf.Tensor1D, g: number, size: number): tf.Tensor3D {
  if (!Number.isInteger(g) || g < 1) throw new RangeError(`glimpse size must be an integer ≥ 1, got ${g}`);
  return tf.tidy(() => {
    const t = g === 1 ? tf.zeros([1, g]) : tf.linspace(-1, 1, g).reshape([1, g]);
    const u = tf.mul(tf.add(tf.add(tf.mul(s.reshape([-1, 1]), t), c.reshape([-1, 1])), 1), (size - 1) / 2);
    const j = tf.range(0, size).reshape([1, 1, size]);
    return tf.relu(tf.sub(1, tf.abs(tf.sub(u.expandDims(2), j)))) as tf.Tensor3D;
  });
}

/**
 * Glimpses [n, g, g] of `images` [n, S, S] at poses `where` [n, 3] = (s, x, y); x grows to the
 * right, y downwards (image rows), both in [−1, 1] across the image.
 */
export function glimpse(images: tf.Tensor3D, where: tf.Tensor2D, g: number): tf.Tensor3D {
  const [n, h, w] = images.shape;
  if (h !== w) throw new RangeError(`images must be square, got ${h}×${w}`);
  if (where.shape[0] !== n || where.shape[1] !== 3) {
    throw new RangeError(`where must be [${n}, 3] (s, x, y), got [${where.shape}]`);
  }
  return tf.tidy(() => {
    const [s, x, y] = tf.unstack(where, 1) as tf.Tensor1D[];
    const ky = samplingMatrix(s, y, g, h), kx = samplingMatrix(s, x, g, w);
    // Flag-free products (fast on wasm): (K_y · X) · K_xᵀ.
    return tf.matMul(tf.matMul(ky, images), tf.transpose(kx, [0, 2, 1])) as tf.Tensor3D;
  });
}

/**
 * The inverse transform: writes windows [n, g, g] onto an S×S canvas at poses `where` [n, 3] =
 * (s, x, y), so that `glimpse(writeWindow(w, where, S), where, g)` ≈ w. Canvas pixel p (normalised)
 * samples the window at t = (p − c) / s — the same separable bilinear form with the inverse pose
 * (half-width 1/s, centre −c/s), zero outside the window:
 *
 *     canvas = L_y · W · L_xᵀ,    L = samplingMatrix(1/s, −c/s, S, g)
 */
export function writeWindow(windows: tf.Tensor3D, where: tf.Tensor2D, size: number): tf.Tensor3D {
  const [n, g, g2] = windows.shape;
  if (g !== g2) throw new RangeError(`windows must be square, got ${g}×${g2}`);
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`canvas size must be an integer ≥ 1, got ${size}`);
  }
  if (where.shape[0] !== n || where.shape[1] !== 3) {
    throw new RangeError(`where must be [${n}, 3] (s, x, y), got [${where.shape}]`);
  }
  return tf.tidy(() => {
    const [s, x, y] = tf.unstack(where, 1) as tf.Tensor1D[];
    const inv = tf.reciprocal(s) as tf.Tensor1D;
    const ly = samplingMatrix(inv, tf.neg(tf.mul(y, inv)) as tf.Tensor1D, size, g);
    const lx = samplingMatrix(inv, tf.neg(tf.mul(x, inv)) as tf.Tensor1D, size, g);
    return tf.matMul(tf.matMul(ly, windows), tf.transpose(lx, [0, 2, 1])) as tf.Tensor3D;
  });
}

/**
 * The same glimpses computed on the host, for poses that need no gradient (e.g. AIR-3D's
 * glimpse at a detached position). `images` holds square images of side `size`; glimpse k is
 * taken from image `source[k]` at pose `where[3k..3k+2]` = (s, x, y). Returns [n, g, g].
 */
export function glimpseHost(
  images: Float32Array,
  size: number,
  source: ArrayLike<number>,
  where: ArrayLike<number>,
  g: number,
): Float32Array {
  const n = source.length;
  if (where.length !== 3 * n) {
    throw new RangeError(`where must hold 3 numbers per glimpse (${3 * n}), got ${where.length}`);
  }
  const out = new Float32Array(n * g * g);
  const rows = new Float64Array(g), cols = new Float64Array(g);
  const half = (size - 1) / 2;
  for (let k = 0; k < n; k++) {
    const s = where[3 * k], x = where[3 * k + 1], y = where[3 * k + 2];
    for (let i = 0; i < g; i++) {
      const t = g === 1 ? 0 : -1 + 2 * i / (g - 1);
      rows[i] = (s * t + y + 1) * half;
      cols[i] = (s * t + x + 1) * half;
    }
    const base = source[k] * size * size;
    for (let i = 0; i < g; i++) {
      const u = rows[i], i0 = Math.floor(u), fu = u - i0;
      for (let j = 0; j < g; j++) {
        const v = cols[j], j0 = Math.floor(v), fv = v - j0;
        let acc = 0;
        // Tent weights max(0, 1 − |u − i|) on the (up to) four neighbours inside the image.
        for (const [ii, wi] of [[i0, 1 - fu], [i0 + 1, fu]]) {
          if (ii < 0 || ii >= size || wi === 0) continue;
          for (const [jj, wj] of [[j0, 1 - fv], [j0 + 1, fv]]) {
            if (jj < 0 || jj >= size || wj === 0) continue;
            acc += wi * wj * images[base + ii * size + jj];
          }
        }
        out[(k * g + i) * g + j] = acc;
      }
    }
  }
  return out;
}
