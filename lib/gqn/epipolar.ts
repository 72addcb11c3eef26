/**
 * A geometric read of the context views along each query pixel's ray — the epipolar read of
 * geometry-aware GQNs (Tobin et al. 2019), with the cameras known as in the GQN data.
 *
 * A query pixel's ray q(t) = o + t f (orthographic: o = c + x r + y u) crosses the slab in which
 * objects stand, from `top` above the floor down to the floor y = `FLOOR_Y`. Take D points on it,
 * evenly spaced in height, the last on the floor:
 *
 *     P_d = q(t_d),   t_d = t_top + d/(D−1) · (t_floor − t_top),   d = 0..D−1
 *
 * and project each into every context view k (x_k = r_k·(P_d − c_k), y_k = u_k·(P_d − c_k)), reading
 * the context image there bilinearly. Where P_d lies on a surface that view k sees, x_k(P_d) shows
 * the surface's colour; where P_d is in free space, the views disagree. Per query pixel and depth,
 * over the views whose frame holds the projection:
 *
 *     μ_d = (1/n_d) Σ_k x_k(P_d)                          mean colour (3 channels)
 *     s_d = (1/3) Σ_channels (1/n_d) Σ_k (x_k(P_d) − μ_d)²  colour disagreement across views
 *     n_d / M                                            share of views whose frame holds P_d
 *     [P_d on the floor disc]                            1 inside x² + z² ≤ R², else 0
 *
 * so each pixel carries D × 6 numbers, a function of the context images and all the cameras alone:
 * no parameters, no gradient needed. The model (`model.ts`) learns what to make of them. With `foot`,
 * three more per depth: the mean colour the views show at P_d's foot F_d = (P_d,x, FLOOR_Y, P_d,z), the
 * floor point below it. Objects stand on the floor, so where P_d lies inside one its foot is hidden under
 * it and the views show the object there too; where P_d is free space in front of an object (which one
 * view cannot tell from inside it: both project onto the object) its foot is open floor.
 *
 * @example
 * ```ts
 * import { Rng } from "../core/random.ts";
 * import { sampleQueryBatch } from "../scenes/views.ts";
 * import { EPIPOLAR_FEATURES, epipolarRead } from "./epipolar.ts";
 * const batch = sampleQueryBatch(new Rng(0), { batch: 2, size: 16 });
 * const read = epipolarRead(batch, 8); // [2, 16, 16, 8 × 6]
 * read.length === 2 * 16 * 16 * 8 * EPIPOLAR_FEATURES;
 * ```
 * @module
 */
import { pixelCentres, VIEW_HALF_WIDTH } from "../scenes/primitives.ts";
import { cameraFrame } from "../scenes/render.ts";
import { FLOOR_RADIUS, FLOOR_Y, type QueryBatch } from "../scenes/views.ts";

/** Numbers per depth sample: mean colour (3), disagreement, in-frame share, on-floor-disc (then, with `foot`, the foot's colour). */
export const EPIPOLAR_FEATURES = 6;

/** Numbers per depth sample of a read with or without `foot`: 6, or 6 + the foot's colour (3). */
export function epipolarFeatures(foot: boolean): number {
  return foot ? EPIPOLAR_FEATURES + 3 : EPIPOLAR_FEATURES;
}

/** Height above the floor where the rays' samples start: above the tallest object (a cube's corner ≈ 0.8). */
export const EPIPOLAR_TOP = 0.9;

/** How far past the frame's edge pixel (in pixels) a projection still counts as in frame: rounding. */
const EDGE = 1e-6;

/**
 * The epipolar read of every query pixel: [B, S, S, D · 6] floats (D · 9 with `foot`), depth-major per
 * pixel (features of P_0, then P_1, …). Rows run top to bottom as in the images.
 */
export function epipolarRead(
  batch: QueryBatch,
  depths: number,
  top = EPIPOLAR_TOP,
  foot = false,
): Float32Array {
  if (!(Number.isInteger(depths) && depths >= 2 && depths <= 64)) {
    throw new RangeError(`depths must be an integer in 2..64, got ${depths}`);
  }
  if (!(top > 0)) throw new RangeError(`top must be > 0, got ${top}`);
  const { b: B, m: M, size: S } = batch, F = epipolarFeatures(foot), C = depths * F;
  const out = new Float32Array(B * S * S * C);
  const xs = pixelCentres(S), step = S > 1 ? xs[1] - xs[0] : 1;
  const sum = new Float64Array(3), sq = new Float64Array(3);
  for (let b = 0; b < B; b++) {
    const cams = batch.cameras[b];
    const q = cameraFrame(cams[M]);
    const ctx = cams.slice(0, M).map((cam) => cameraFrame(cam));
    for (let i = 0; i < S; i++) {
      const y = xs[S - 1 - i];
      for (let j = 0; j < S; j++) {
        const x = xs[j];
        const o = [
          q.c[0] + x * q.r[0] + y * q.u[0],
          q.c[1] + x * q.r[1] + y * q.u[1],
          q.c[2] + x * q.r[2] + y * q.u[2],
        ];
        const tTop = (FLOOR_Y + top - o[1]) / q.f[1], tFloor = (FLOOR_Y - o[1]) / q.f[1];
        const at = ((b * S + i) * S + j) * C;
        for (let d = 0; d < depths; d++) {
          const t = tTop + (d / (depths - 1)) * (tFloor - tTop);
          const p0 = o[0] + t * q.f[0], p1 = o[1] + t * q.f[1], p2 = o[2] + t * q.f[2];
          const n = readViews(batch, b, ctx, [p0, p1, p2], step, sum, sq);
          const o2 = at + d * F;
          if (n > 0) {
            let s = 0;
            for (let ch = 0; ch < 3; ch++) {
              const mu = sum[ch] / n;
              out[o2 + ch] = mu;
              s += Math.max(0, sq[ch] / n - mu * mu);
            }
            out[o2 + 3] = s / 3;
          }
          out[o2 + 4] = n / M;
          out[o2 + 5] = p0 * p0 + p2 * p2 <= FLOOR_RADIUS * FLOOR_RADIUS ? 1 : 0;
          if (foot) {
            // The floor point below P_d: where P_d lies inside an object standing on the floor, the
            // object hides it and the views show the object's colour there; free space has floor below.
            const m = readViews(batch, b, ctx, [p0, FLOOR_Y, p2], step, sum, sq);
            for (let ch = 0; ch < 3; ch++) out[o2 + 6 + ch] = m > 0 ? sum[ch] / m : 0;
          }
        }
      }
    }
  }
  return out;
}

/**
 * Reads world point `p` in every context view of scene `b` whose frame holds it (bilinearly): fills
 * `sum` and `sq` with the per-channel sums of the colours and of their squares, returns how many views.
 */
function readViews(
  batch: QueryBatch,
  b: number,
  ctx: ReturnType<typeof cameraFrame>[],
  p: [number, number, number],
  step: number,
  sum: Float64Array,
  sq: Float64Array,
): number {
  const { m: M, size: S } = batch, px = S * S * 3;
  sum.fill(0);
  sq.fill(0);
  let n = 0;
  for (let k = 0; k < M; k++) {
    const { c, r, u } = ctx[k];
    const d0 = p[0] - c[0], d1 = p[1] - c[1], d2 = p[2] - c[2];
    // Continuous pixel coordinates of p in view k (column from x, row from y, y up).
    let col = (d0 * r[0] + d1 * r[1] + d2 * r[2] + VIEW_HALF_WIDTH) / step;
    let row = S - 1 - (d0 * u[0] + d1 * u[1] + d2 * u[2] + VIEW_HALF_WIDTH) / step;
    if (!(col >= -EDGE && col <= S - 1 + EDGE && row >= -EDGE && row <= S - 1 + EDGE)) continue;
    col = Math.min(Math.max(col, 0), S - 1); // a frame-edge point, up to rounding
    row = Math.min(Math.max(row, 0), S - 1);
    const j0 = Math.min(Math.floor(col), S - 2), i0 = Math.min(Math.floor(row), S - 2);
    const a = col - j0, e = row - i0;
    const base = (b * M + k) * px + (i0 * S + j0) * 3;
    for (let ch = 0; ch < 3; ch++) {
      const v = (1 - e) * ((1 - a) * batch.context[base + ch] + a * batch.context[base + 3 + ch]) +
        e * ((1 - a) * batch.context[base + S * 3 + ch] + a * batch.context[base + S * 3 + 3 + ch]);
      sum[ch] += v;
      sq[ch] += v * v;
    }
    n++;
  }
  return n;
}
