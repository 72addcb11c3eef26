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
 * with zeros outside the image, and gradients flow to both the image and the pose — tfjs has no
 * gradient for CropAndResize. `samplingMatrix` builds K (for reference and tests); `bilinear`
 * applies it as a sparse op (each output reads at most four pixels) with hand-written gradients,
 * which is ~20× faster on wasm than the dense batched products. On webgpu, which cannot read tensors
 * back in the middle of a pass, `bilinear` is the two dense products, differentiated by tfjs.
 *
 * @example
 * ```ts
 * import { tf } from "../core/tf.ts";
 * import { glimpse } from "./spatial.ts";
 * const images = tf.zeros([2, 64, 64]) as tf.Tensor3D;
 * const where = tf.tensor2d([[0.5, 0, 0], [0.25, -0.5, 0.5]]);   // (s, x, y) per image
 * const g = glimpse(images, where, 16);                             // [2, 16, 16]
 * ```
 * @module
 */
import { readsSync, tf } from "../core/tf.ts";

/**
 * Source coordinates [n, g] of g output samples for centres `c` [n] and half-widths `s` [n]
 * (normalised units) over a source of side `size`: u_i = (s·t_i + c + 1)(size − 1)/2,
 * t = linspace(−1, 1, g).
 */
function sourceCoords(s: tf.Tensor1D, c: tf.Tensor1D, g: number, size: number): tf.Tensor2D {
  if (!Number.isInteger(g) || g < 1) throw new RangeError(`glimpse size must be an integer ≥ 1, got ${g}`);
  const t = g === 1 ? tf.zeros([1, g]) : tf.linspace(-1, 1, g).reshape([1, g]);
  return tf.mul(
    tf.add(tf.add(tf.mul(s.reshape([-1, 1]), t), c.reshape([-1, 1])), 1),
    (size - 1) / 2,
  ) as tf.Tensor2D;
}

/**
 * Bilinear sampling matrices [n, g, S] for centres `c` [n] and half-widths `s` [n]
 * (normalised units).
 */
export function samplingMatrix(s: tf.Tensor1D, c: tf.Tensor1D, g: number, size: number): tf.Tensor3D {
  return tf.tidy(() => tentMatrix(sourceCoords(s, c, g, size), size));
}

/** K[b, i, r] = max(0, 1 − |u[b, i] − r|), r = 0..size − 1: bilinear weights [n, g, size] of coordinates u [n, g]. */
function tentMatrix(u: tf.Tensor2D, size: number): tf.Tensor3D {
  const r = tf.range(0, size).reshape([1, 1, size]);
  return tf.relu(tf.sub(1, tf.abs(tf.sub(u.expandDims(2), r)))) as tf.Tensor3D;
}

function checkWhere(where: tf.Tensor2D, n: number): void {
  if (where.shape[0] !== n || where.shape[1] !== 3) {
    throw new RangeError(`where must be [${n}, 3] (s, x, y), got [${where.shape}]`);
  }
}

/** `out`×`out` samples of `src` [n, R, R] on the grid of half-width s centred at (x, y). */
function sampleGrid(
  src: tf.Tensor3D,
  s: tf.Tensor1D,
  x: tf.Tensor1D,
  y: tf.Tensor1D,
  out: number,
): tf.Tensor3D {
  const R = src.shape[1];
  return bilinear(src, sourceCoords(s, y, out, R), sourceCoords(s, x, out, R));
}

/**
 * Glimpses [n, g, g] of `images` [n, S, S] at poses `where` [n, 3] = (s, x, y); x grows to the
 * right, y downwards (image rows), both in [−1, 1] across the image.
 */
export function glimpse(images: tf.Tensor3D, where: tf.Tensor2D, g: number): tf.Tensor3D {
  const [n, h, w] = images.shape;
  if (h !== w) throw new RangeError(`images must be square, got ${h}×${w}`);
  checkWhere(where, n);
  return tf.tidy(() => {
    const [s, x, y] = tf.unstack(where, 1) as tf.Tensor1D[];
    return sampleGrid(images, s, x, y, g);
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
  checkWhere(where, n);
  return tf.tidy(() => {
    const [s, x, y] = tf.unstack(where, 1) as tf.Tensor1D[];
    const inv = tf.reciprocal(s) as tf.Tensor1D;
    return sampleGrid(
      windows,
      inv,
      tf.neg(tf.mul(x, inv)) as tf.Tensor1D,
      tf.neg(tf.mul(y, inv)) as tf.Tensor1D,
      size,
    );
  });
}

/**
 * Separable bilinear sampling with zero padding, as one differentiable op computed on the host:
 * out[b, i, j] = Σ_r Σ_c tent(u[b, i] − r) · tent(v[b, j] − c) · src[b, r, c], tent(d) = max(0, 1 − |d|).
 * Exactly `K_u · src · K_vᵀ` with the sampling matrices above, but each output touches at most
 * four source pixels, so forward and backward are a few hundred thousand multiply-adds — where
 * tfjs's batched products of the dense matrices cost ~100 ms a step on wasm. Gradients: to the
 * source (the transposed scatter) and to the coordinates (the tent's slope, ±1). On a backend that
 * cannot read synchronously (webgpu) it is the dense form K_u · src · K_vᵀ, built from ops.
 */
export function bilinear(src: tf.Tensor3D, u: tf.Tensor2D, v: tf.Tensor2D): tf.Tensor3D {
  const [B, R, Rc] = src.shape;
  if (u.shape[0] !== B || v.shape[0] !== B) throw new RangeError(`coordinates must have ${B} rows`);
  const n = u.shape[1], m = v.shape[1];
  if (!readsSync()) {
    return tf.tidy(() => tf.matMul(tf.matMul(tentMatrix(u, R), src), tentMatrix(v, Rc), false, true));
  }
  const op = tf.customGrad(
    ((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [srcT, uT, vT] = args as tf.Tensor[];
      const save = args[3] as tf.GradSaveFunc;
      save([srcT, uT, vT]);
      const out = bilinearForward(
        srcT.dataSync() as Float32Array,
        B,
        R,
        Rc,
        uT.dataSync() as Float32Array,
        n,
        vT.dataSync() as Float32Array,
        m,
      );
      return {
        value: tf.tensor3d(out, [B, n, m]),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [sv, uv, vv] = saved.map((t) => t.dataSync() as Float32Array);
          const g = bilinearBackward(sv, B, R, Rc, uv, n, vv, m, dy.dataSync() as Float32Array);
          return [tf.tensor3d(g.dSrc, [B, R, Rc]), tf.tensor2d(g.du, [B, n]), tf.tensor2d(g.dv, [B, m])];
        },
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0],
  );
  return op(src, u, v) as tf.Tensor3D;
}

/** Tent-weight taps of a coordinate: rows (r0, r0 + 1) with weights (1 − f, f), out-of-range taps zeroed. */
function taps(coord: number, size: number): [number, number, number] {
  const r0 = Math.floor(coord), f = coord - r0;
  return [r0, r0 >= 0 && r0 < size ? 1 - f : 0, r0 + 1 >= 0 && r0 + 1 < size ? f : 0];
}

function bilinearForward(
  src: Float32Array,
  B: number,
  R: number,
  C: number,
  u: Float32Array,
  n: number,
  v: Float32Array,
  m: number,
): Float32Array {
  const out = new Float32Array(B * n * m);
  const c0 = new Int32Array(m), wc0 = new Float64Array(m), wc1 = new Float64Array(m);
  for (let b = 0; b < B; b++) {
    const base = b * R * C;
    for (let j = 0; j < m; j++) [c0[j], wc0[j], wc1[j]] = taps(v[b * m + j], C);
    for (let i = 0; i < n; i++) {
      const [r0, wr0, wr1] = taps(u[b * n + i], R);
      if (wr0 === 0 && wr1 === 0) continue;
      const o = (b * n + i) * m;
      for (let j = 0; j < m; j++) {
        const c = c0[j], a0 = wc0[j], a1 = wc1[j];
        if (a0 === 0 && a1 === 0) continue;
        let acc = 0;
        if (wr0 !== 0) {
          const row = base + r0 * C + c;
          if (a0 !== 0) acc += wr0 * a0 * src[row];
          if (a1 !== 0) acc += wr0 * a1 * src[row + 1];
        }
        if (wr1 !== 0) {
          const row = base + (r0 + 1) * C + c;
          if (a0 !== 0) acc += wr1 * a0 * src[row];
          if (a1 !== 0) acc += wr1 * a1 * src[row + 1];
        }
        out[o + j] = acc;
      }
    }
  }
  return out;
}

function bilinearBackward(
  src: Float32Array,
  B: number,
  R: number,
  C: number,
  u: Float32Array,
  n: number,
  v: Float32Array,
  m: number,
  dy: Float32Array,
): { dSrc: Float32Array; du: Float32Array; dv: Float32Array } {
  const dSrc = new Float32Array(B * R * C), du = new Float32Array(B * n), dv = new Float32Array(B * m);
  const c0 = new Int32Array(m), wc0 = new Float64Array(m), wc1 = new Float64Array(m);
  const dvAcc = new Float64Array(m);
  // Pixel value with zero padding.
  const at = (
    base: number,
    r: number,
    c: number,
  ) => (r >= 0 && r < R && c >= 0 && c < C ? src[base + r * C + c] : 0);
  for (let b = 0; b < B; b++) {
    const base = b * R * C;
    dvAcc.fill(0);
    for (let j = 0; j < m; j++) [c0[j], wc0[j], wc1[j]] = taps(v[b * m + j], C);
    for (let i = 0; i < n; i++) {
      const [r0, wr0, wr1] = taps(u[b * n + i], R);
      // The tent's slope in u: −1 on row r0, +1 on row r0 + 1 (where those rows exist).
      const sr0 = r0 >= 0 && r0 < R ? 1 : 0, sr1 = r0 + 1 >= 0 && r0 + 1 < R ? 1 : 0;
      let duAcc = 0;
      const o = (b * n + i) * m;
      for (let j = 0; j < m; j++) {
        const g = dy[o + j];
        if (g === 0) continue;
        const c = c0[j], a0 = wc0[j], a1 = wc1[j];
        const p00 = at(base, r0, c),
          p01 = at(base, r0, c + 1),
          p10 = at(base, r0 + 1, c),
          p11 = at(base, r0 + 1, c + 1);
        if (wr0 !== 0) {
          if (a0 !== 0) dSrc[base + r0 * C + c] += g * wr0 * a0;
          if (a1 !== 0) dSrc[base + r0 * C + c + 1] += g * wr0 * a1;
        }
        if (wr1 !== 0) {
          if (a0 !== 0) dSrc[base + (r0 + 1) * C + c] += g * wr1 * a0;
          if (a1 !== 0) dSrc[base + (r0 + 1) * C + c + 1] += g * wr1 * a1;
        }
        const sc0 = c >= 0 && c < C ? 1 : 0, sc1 = c + 1 >= 0 && c + 1 < C ? 1 : 0;
        duAcc += g * (a0 * (sr1 * p10 - sr0 * p00) + a1 * (sr1 * p11 - sr0 * p01));
        dvAcc[j] += g * (wr0 * (sc1 * p01 - sc0 * p00) + wr1 * (sc1 * p11 - sc0 * p10));
      }
      du[b * n + i] = duAcc;
    }
    for (let j = 0; j < m; j++) dv[b * m + j] = dvAcc[j];
  }
  return { dSrc, du, dv };
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
        // Tent weights max(0, 1 − |u − i|) on the (up to) four neighbours inside the image, in
        // the order (i0, j0), (i0, j0 + 1), (i0 + 1, j0), (i0 + 1, j0 + 1).
        let acc = 0;
        for (let a = 0; a < 2; a++) {
          const ii = i0 + a, wi = a === 0 ? 1 - fu : fu;
          if (ii < 0 || ii >= size || wi === 0) continue;
          for (let c = 0; c < 2; c++) {
            const jj = j0 + c, wj = c === 0 ? 1 - fv : fv;
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
