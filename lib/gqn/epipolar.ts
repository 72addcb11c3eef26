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
import { FLOOR_RADIUS, FLOOR_Y, floorHit, type QueryBatch, SKY } from "../scenes/views.ts";

/** Numbers per depth sample: mean colour (3), disagreement, in-frame share, on-floor-disc (then, with `foot`, the foot's colour). */
export const EPIPOLAR_FEATURES = 6;

/**
 * Numbers per depth sample of a read with or without `foot` and `surface`: 6, + the foot's colour (3),
 * + the surface cue (3).
 */
export function epipolarFeatures(foot: boolean, surface = false): number {
  return EPIPOLAR_FEATURES + (foot ? 3 : 0) + (surface ? 3 : 0);
}

/** How far (world units) the surface cue δ = D̂ − z is read either side of a surface before it is clipped. */
export const SURFACE_RANGE = 1;

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
  surface = false,
): Float32Array {
  if (!(Number.isInteger(depths) && depths >= 2 && depths <= 64)) {
    throw new RangeError(`depths must be an integer in 2..64, got ${depths}`);
  }
  if (!(top > 0)) throw new RangeError(`top must be > 0, got ${top}`);
  const { b: B, m: M, size: S } = batch, F = epipolarFeatures(foot, surface), C = depths * F;
  const out = new Float32Array(B * S * S * C);
  const xs = pixelCentres(S), step = S > 1 ? xs[1] - xs[0] : 1;
  const sum = new Float64Array(3), sq = new Float64Array(3);
  for (let b = 0; b < B; b++) {
    const cams = batch.cameras[b];
    const q = cameraFrame(cams[M]);
    const ctx = cams.slice(0, M).map((cam) => cameraFrame(cam));
    const seenDepth = surface ? ctx.map((_, k) => depthFromFloorContact(batch, b, k)) : [];
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
          if (surface) surfaceCue(ctx, seenDepth, [p0, p1, p2], S, step, out, o2 + (foot ? 9 : 6));
        }
      }
    }
  }
  return out;
}

/** Continuous pixel coordinates [column, row] of world point `p` in a view (column from x, row from y, y up). */
function pixelOf(
  frame: ReturnType<typeof cameraFrame>,
  p: readonly number[],
  S: number,
  step: number,
): [number, number] {
  const { c, r, u } = frame, d0 = p[0] - c[0], d1 = p[1] - c[1], d2 = p[2] - c[2];
  return [
    (d0 * r[0] + d1 * r[1] + d2 * r[2] + VIEW_HALF_WIDTH) / step,
    S - 1 - (d0 * u[0] + d1 * u[1] + d2 * u[2] + VIEW_HALF_WIDTH) / step,
  ];
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
    let [col, row] = pixelOf(ctx[k], p, S, step);
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

/**
 * What a context view's image alone says about the depth of what it shows, pixel by pixel (the
 * surface cue of the read): [S·S] depths along the view's axis; +∞ on the sky, NaN where it cannot tell.
 *
 * - **Floor** — a pixel whose ray meets the floor disc and shows the floor's colour (the scene's floor
 *   is one flat colour: the commonest colour among the pixels whose ray meets the disc): the ray's depth
 *   to the floor plane, exactly.
 * - **Sky** — a pixel whose ray misses the disc and shows the sky's colour: +∞.
 * - **Object** — anything else. Objects stand on the floor, so follow the pixel's column down the image
 *   through the same object (the same chromaticity: a pixel is albedo × a scalar shade) to where the
 *   floor shows below it; the object's foot is there, and its depth is that of the floor between the
 *   two rows, D̂ = t_floor(i − ½). Where the column runs into another object, the sky or the frame's
 *   edge first, the foot is hidden: NaN.
 *
 * D̂ is the depth of the object's near side at the floor, not of the pixel's own surface point: exact
 * for an upright face, further than the surface for a sphere's upper half or a top face.
 */
export function depthFromFloorContact(batch: QueryBatch, b: number, k: number): Float32Array {
  const { m: M, size: S } = batch, n = S * S, frame = cameraFrame(batch.cameras[b][k]);
  const image = batch.context.subarray((b * M + k) * n * 3, (b * M + k + 1) * n * 3);
  const xs = pixelCentres(S);
  const tFloor = new Float64Array(n), onDisc = new Uint8Array(n), keys: string[] = [];
  const counts = new Map<string, number>();
  for (let i = 0; i < S; i++) {
    for (let j = 0; j < S; j++) {
      const p = i * S + j, hit = floorHit(frame, xs[j], xs[S - 1 - i]), key = colourKey(image, p);
      tFloor[p] = hit.t;
      onDisc[p] = hit.onDisc ? 1 : 0;
      keys.push(key);
      if (hit.onDisc) counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  let floorKey = "", most = 0;
  for (const [key, count] of counts) if (count > most) [floorKey, most] = [key, count];
  const skyKey = colourKey(Float32Array.from(SKY), 0);
  // 0 sky, 1 floor, 2 object
  const kind = new Uint8Array(n);
  for (let p = 0; p < n; p++) {
    kind[p] = onDisc[p] ? (keys[p] === floorKey ? 1 : 2) : (keys[p] === skyKey ? 0 : 2);
  }
  const out = new Float32Array(n);
  for (let i = S - 1; i >= 0; i--) { // bottom-up: an object pixel takes the foot found below it
    for (let j = 0; j < S; j++) {
      const p = i * S + j;
      if (kind[p] === 0) out[p] = Infinity;
      else if (kind[p] === 1) out[p] = tFloor[p];
      else if (i === S - 1) out[p] = NaN;
      else {
        const below = p + S;
        if (kind[below] === 1) out[p] = (tFloor[p] + tFloor[below]) / 2; // t_floor(i − ½) of the floor row
        else if (kind[below] === 2 && sameObject(image, p, below)) out[p] = out[below];
        else out[p] = NaN;
      }
    }
  }
  return out;
}

/** A pixel's colour rounded to 1e-4, as a map key (the renderer's flat colours repeat exactly). */
function colourKey(image: Float32Array, p: number): string {
  const q = (v: number) => Math.round(v * 1e4);
  return `${q(image[p * 3])},${q(image[p * 3 + 1])},${q(image[p * 3 + 2])}`;
}

/** Two object pixels of one object: the same chromaticity c / Σc (albedo × a scalar shade). */
function sameObject(image: Float32Array, p: number, q: number): boolean {
  const sp = image[p * 3] + image[p * 3 + 1] + image[p * 3 + 2];
  const sq = image[q * 3] + image[q * 3 + 1] + image[q * 3 + 2];
  if (!(sp > 0 && sq > 0)) return false;
  for (let ch = 0; ch < 3; ch++) {
    if (Math.abs(image[p * 3 + ch] / sp - image[q * 3 + ch] / sq) > 0.02) return false;
  }
  return true;
}

/**
 * The surface cue at world point `p`, written at `out[at..at+3]`: over the context views whose frame
 * holds p and whose image tells the depth D̂ there (`depthFromFloorContact`, nearest pixel),
 * δ_k = clip(D̂_k − z_k(p), ±SURFACE_RANGE) with z_k(p) = f_k·(p − c_k): max_k δ_k, min_k δ_k, and the
 * share of the M views that told. δ > 0: the view sees past p, so p is free space; δ ≤ 0: p is at or
 * behind what the view shows there.
 */
function surfaceCue(
  ctx: ReturnType<typeof cameraFrame>[],
  seenDepth: Float32Array[],
  p: [number, number, number],
  S: number,
  step: number,
  out: Float32Array,
  at: number,
): void {
  let hi = -Infinity, lo = Infinity, told = 0;
  for (let k = 0; k < ctx.length; k++) {
    const [x, y] = pixelOf(ctx[k], p, S, step), col = Math.round(x), row = Math.round(y);
    if (col < 0 || col >= S || row < 0 || row >= S) continue;
    const depth = seenDepth[k][row * S + col];
    if (Number.isNaN(depth)) continue;
    const { c, f } = ctx[k];
    const z = (p[0] - c[0]) * f[0] + (p[1] - c[1]) * f[1] + (p[2] - c[2]) * f[2];
    const delta = Math.min(SURFACE_RANGE, Math.max(-SURFACE_RANGE, depth - z));
    hi = Math.max(hi, delta);
    lo = Math.min(lo, delta);
    told++;
  }
  out[at] = told > 0 ? hi : 0;
  out[at + 1] = told > 0 ? lo : 0;
  out[at + 2] = told / ctx.length;
}
