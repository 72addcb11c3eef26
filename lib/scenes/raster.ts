/**
 * What both cameras' raster loops share: the kinds of primitive, the per-size pixel grid, z-buffer
 * and drawing window, the camera frame a render uses, a slab face's shade, pixel spans, and the row
 * spans of a primitive's projected hull. A loop tests only the pixels within the hull of a convex body
 * around the primitive (its own corners for a cube, an octagonal prism for a cylinder, an octagon for
 * a sphere), and a primitive whose bounding ball misses the window not at all: the images are the same,
 * bit for bit, as a scan of every pixel gives. (Each loop writes its ray–primitive intersections out in
 * full: calls per pixel into shared functions ran at ≈ 0.6× in `bench:render`.)
 *
 * @example
 * ```ts
 * import { pixelSpan, slabShade, Target } from "./raster.ts";
 * const t = new Target(64);
 * pixelSpan(t.xs, -0.1, 0.1); // [30, 33]: the pixel centres within ±0.1
 * slabShade(-1, 1); // 1: a face seen head-on, lit from the camera
 * // A square's hull: the row through its middle spans the columns within ±0.5.
 * [[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]].forEach(([x, y], i) => (t.cornerX[i] = x, t.cornerY[i] = y));
 * t.setHull(4);
 * t.scanRows(0, 63);
 * t.rowSpan(31, 0, 63); // true: row 31's columns within the square, t.spanLo..t.spanHi
 * ```
 * @module
 */
import { AMBIENT, DIFFUSE, pixelCentres, Vec3 } from "./primitives.ts";

export const SPHERE = 0;
export const CUBE = 1;
export const CYLINDER = 2;
export const EPS = 1e-12;
export const NO_HIT = Infinity;

/**
 * Reusable per-size state: pixel coordinates, the z-buffer, the window drawn (rows i0..i1, columns
 * j0..j1) and, optionally, the primitives' rotation matrices.
 */
export class Target {
  readonly xs: Float64Array;
  /** The z-buffer: each pixel's nearest depth so far along the view axis (+∞: nothing drawn). */
  zbuf: Float64Array;
  /** When set, a render draws over the z-buffer as it stands instead of clearing it first. */
  keepDepth = false;
  /** When cleared, the z-buffer is only read: a hit is drawn where it lies nearer, and not recorded. */
  writeDepth = true;
  i0 = 0;
  i1: number;
  j0 = 0;
  j1: number;
  /** Each primitive's rotation matrix, when the caller has them (else they come from its Euler angles). */
  matrices: readonly Float64Array[] | undefined;
  /**
   * When set, each row's scanned columns widen its span (row i: columns `spans[2i]`..`spans[2i + 1]`):
   * every pixel a draw can write lies within the spans, so a caller can update just those.
   */
  spans: Int16Array | undefined;
  /** Widens row i's span in {@link spans} (when set) to cover columns lo..hi. */
  noteSpan(i: number, lo: number, hi: number): void {
    const s = this.spans;
    if (!s) return;
    if (lo < s[2 * i]) s[2 * i] = lo;
    if (hi > s[2 * i + 1]) s[2 * i + 1] = hi;
  }
  constructor(readonly size: number) {
    this.xs = pixelCentres(size);
    this.zbuf = new Float64Array(size * size);
    this.i1 = this.j1 = size - 1;
    this.#lo = new Float64Array(size), this.#hi = new Float64Array(size);
    this.#loA = new Float64Array(size), this.#hiA = new Float64Array(size);
    this.#loB = new Float64Array(size), this.#hiB = new Float64Array(size);
  }

  /** The corners of a body around the primitive being drawn, projected (image-plane coordinates). */
  readonly cornerX = new Float64Array(16);
  readonly cornerY = new Float64Array(16);
  /** Their convex hull, counter-clockwise: `hullCount` vertices, x then y. */
  readonly #hull = new Float64Array(64);
  hullCount = 0;
  /** The hull's lowest and highest image-plane y. */
  hullYLo = 0;
  hullYHi = 0;
  readonly #order = new Int8Array(16);
  /**
   * Scan every pixel of the window instead of the hull's spans (the reference the spans must
   * match: they only skip pixels that no ray hits).
   */
  scanAll = false;
  /** The columns of the last {@link rowSpan}, and those of them well inside the hull. */
  spanLo = 0;
  spanHi = -1;
  innerLo = 0;
  innerHi = -1;

  /**
   * The convex hull of the first n projected corners (Andrew's monotone chain). A primitive's
   * silhouette lies within the projection of any convex body around it — the hull of that body's
   * projected corners ({@link BODIES}) — so each row is scanned only over the hull's span
   * ({@link rowSpan}) rather than the whole bounding box (a turned cube's hull is about ⅔ of its box).
   */
  setHull(n: number): void {
    const x = this.cornerX, y = this.cornerY, o = this.#order, h = this.#hull;
    for (let i = 0; i < n; i++) {
      let k = i;
      while (k > 0 && (x[o[k - 1]] > x[i] || (x[o[k - 1]] === x[i] && y[o[k - 1]] > y[i]))) {
        o[k] = o[k - 1], k--;
      }
      o[k] = i;
    }
    // (h[m−1] − h[m−2]) × (p_i − h[m−2]) ≤ 0: no left turn at h[m−1], so it is not on the hull.
    const right = (m: number, i: number) =>
      (h[2 * m - 2] - h[2 * m - 4]) * (y[i] - h[2 * m - 3]) -
          (h[2 * m - 1] - h[2 * m - 3]) * (x[i] - h[2 * m - 4]) <= 0;
    let m = 0;
    for (let q = 0; q < n; q++) { // the lower chain, left to right
      const i = o[q];
      while (m >= 2 && right(m, i)) m--;
      h[2 * m] = x[i], h[2 * m + 1] = y[i], m++;
    }
    for (let q = n - 2, lower = m + 1; q >= 0; q--) { // the upper chain, right to left
      const i = o[q];
      while (m >= lower && right(m, i)) m--;
      h[2 * m] = x[i], h[2 * m + 1] = y[i], m++;
    }
    m--; // the last point is the first
    this.hullCount = m;
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < n; i++) {
      if (y[i] < lo) lo = y[i];
      if (y[i] > hi) hi = y[i];
    }
    this.hullYLo = lo, this.hullYHi = hi;
  }

  /** Per row i (from {@link scanRows}): the hull's x-range over the row's band, and on y ∓ {@link INNER}. */
  readonly #lo: Float64Array;
  readonly #hi: Float64Array;
  readonly #loA: Float64Array;
  readonly #hiA: Float64Array;
  readonly #loB: Float64Array;
  readonly #hiB: Float64Array;
  #inner = false;

  /**
   * Readies {@link rowSpan} for rows i0..i1 of the current hull (row i shows image-plane height
   * y = xs[size − 1 − i]): each hull edge visits only the rows it can reach, and adds to each its
   * x-range over the band y ± margin (a tangent row, or an edge that rounding tilts a hair off the
   * row, still yields the whole span the silhouette can reach there) and, with `inner`, where it
   * crosses y − INNER and y + INNER (for the span well inside the hull: the range is convex below and
   * concave above in y, so the square of half-side INNER around a point is inside when its corners
   * are). A convex hull's edge reaches a few rows, not all: this is what every row scanning every
   * edge computed, in a fraction of the steps.
   */
  scanRows(i0: number, i1: number, inner = false): void {
    this.#inner = inner;
    if (this.scanAll) return;
    const lo = this.#lo, hi = this.#hi, loA = this.#loA, hiA = this.#hiA, loB = this.#loB, hiB = this.#hiB;
    lo.fill(Infinity, i0, i1 + 1), hi.fill(-Infinity, i0, i1 + 1);
    if (inner) {
      loA.fill(Infinity, i0, i1 + 1), hiA.fill(-Infinity, i0, i1 + 1);
      loB.fill(Infinity, i0, i1 + 1), hiB.fill(-Infinity, i0, i1 + 1);
    }
    const h = this.#hull, m = this.hullCount, margin = 1e-7, xs = this.xs, size = this.size;
    const x0 = xs[0], step = size > 1 ? xs[1] - xs[0] : 1, reach = 2 * INNER;
    for (let e = 0; e < m; e++) {
      const f = e + 1 === m ? 0 : e + 1;
      const x1 = h[2 * e], y1 = h[2 * e + 1], x2 = h[2 * f], y2 = h[2 * f + 1];
      const ylo = y1 < y2 ? y1 : y2, yhi = y1 < y2 ? y2 : y1;
      // The rows whose height lies within the edge's y-range widened by more than INNER (each is
      // then tested exactly as a scan of every edge would).
      const rLo = Math.ceil((ylo - reach - x0) / step), rHi = Math.floor((yhi + reach - x0) / step);
      const first = Math.max(i0, size - 1 - rHi), last = Math.min(i1, size - 1 - rLo);
      for (let i = first; i <= last; i++) {
        const y = xs[size - 1 - i], ya = y - margin, yb = y + margin;
        if (inner && y1 !== y2) {
          const yA = y - INNER, yB = y + INNER;
          if (yA >= ylo && yA <= yhi) {
            const x = x1 + (yA - y1) * ((x2 - x1) / (y2 - y1));
            if (x < loA[i]) loA[i] = x;
            if (x > hiA[i]) hiA[i] = x;
          }
          if (yB >= ylo && yB <= yhi) {
            const x = x1 + (yB - y1) * ((x2 - x1) / (y2 - y1));
            if (x < loB[i]) loB[i] = x;
            if (x > hiB[i]) hiB[i] = x;
          }
        }
        if ((y1 < ya && y2 < ya) || (y1 > yb && y2 > yb)) continue;
        let xa = x1, xb = x2;
        if (y1 !== y2) {
          // The edge's part within the band: parameters (ya − y1)/(y2 − y1) and (yb − y1)/(y2 − y1), clipped to [0, 1].
          const ta = (ya - y1) / (y2 - y1), tb = (yb - y1) / (y2 - y1);
          const t0 = Math.max(0, Math.min(ta, tb)), t1 = Math.min(1, Math.max(ta, tb));
          xa = x1 + t0 * (x2 - x1), xb = x1 + t1 * (x2 - x1);
        }
        if (xa < lo[i]) lo[i] = xa;
        if (xb < lo[i]) lo[i] = xb;
        if (xa > hi[i]) hi[i] = xa;
        if (xb > hi[i]) hi[i] = xb;
      }
    }
  }

  /**
   * The columns of row i whose pixel centres lie within the hull (widened by a hair against
   * rounding), clipped to [j0, j1], into `spanLo`..`spanHi`; false if none. After
   * {@link scanRows} with `inner`, also those at least {@link INNER} inside it, into
   * `innerLo`..`innerHi` (empty: lo > hi): where the hull is the silhouette (a cube's), every ray there hits.
   */
  rowSpan(i: number, j0: number, j1: number): boolean {
    this.innerLo = 0, this.innerHi = -1;
    if (this.scanAll) return (this.spanLo = j0, this.spanHi = j1, j0 <= j1);
    const margin = 1e-7, lo = this.#lo[i], hi = this.#hi[i];
    const xs = this.xs, step = this.size > 1 ? xs[1] - xs[0] : 1;
    const a = Math.ceil((lo - margin - xs[0]) / step), b = Math.floor((hi + margin - xs[0]) / step);
    this.spanLo = a > j0 ? a : j0;
    this.spanHi = b < j1 ? b : j1;
    if (this.#inner) {
      const loA = this.#loA[i], hiA = this.#hiA[i], loB = this.#loB[i], hiB = this.#hiB[i];
      if (loA <= hiA && loB <= hiB) {
        const l = Math.ceil(((loA > loB ? loA : loB) + INNER - xs[0]) / step);
        const r = Math.floor(((hiA < hiB ? hiA : hiB) - INNER - xs[0]) / step);
        this.innerLo = l > this.spanLo ? l : this.spanLo;
        this.innerHi = r < this.spanHi ? r : this.spanHi;
      }
    }
    return this.spanLo <= this.spanHi;
  }

  /**
   * Whether the image-plane rectangle [xLo, xHi] × [yLo, yHi] misses every pixel centre of the window
   * (a primitive whose bound lies there is not drawn at all: a windowed render skips the rest).
   */
  misses(xLo: number, xHi: number, yLo: number, yHi: number): boolean {
    if (this.scanAll) return false;
    const xs = this.xs, last = this.size - 1, m = 1e-7;
    return xHi < xs[this.j0] - m || xLo > xs[this.j1] + m || yHi < xs[last - this.i1] - m ||
      yLo > xs[last - this.i0] + m;
  }

  /**
   * Resets the z-buffer to "no hit" over the window (all of it when the window is the whole image),
   * unless `keepDepth` is set.
   */
  clearDepth(): void {
    if (this.keepDepth) return;
    const { size, zbuf } = this;
    if (this.i0 === 0 && this.j0 === 0 && this.i1 === size - 1 && this.j1 === size - 1) zbuf.fill(NO_HIT);
    else {for (let i = this.i0; i <= this.i1; i++) {
        zbuf.fill(NO_HIT, i * size + this.j0, i * size + this.j1 + 1);
      }}
  }
}

/** The radius of a ball around each kind's unit primitive: sphere 1, cube √3, cylinder √2. */
export const REACH = [1, Math.sqrt(3), Math.sqrt(2)];

/**
 * How far inside a cube's silhouette (image-plane units; a pixel is 0.05 at 64²) a pixel centre must
 * lie to be drawn without its hit test: there the slabs' exit parameters cannot come out below the
 * entry's by rounding (their gap grows with the distance, against rounding of order 1e-15).
 */
export const INNER = 1e-6;

/** 1 / cos 22.5°: the radius of the octagon around the unit circle (its sides touch the circle). */
const OCTAGON_RADIUS = 1 / Math.cos(Math.PI / 8);
/** The vertices of that octagon, (cos, sin) of 22.5° + k·45° times its radius. */
export const OCTAGON: readonly (readonly [number, number])[] = Array.from({ length: 8 }, (_, k) => {
  const a = Math.PI / 8 + (k * Math.PI) / 4;
  return [OCTAGON_RADIUS * Math.cos(a), OCTAGON_RADIUS * Math.sin(a)] as const;
});

/**
 * Convex bodies around a cube and a cylinder in their local frames, as corner lists (x, y, z, …):
 * the cube itself (8 corners), and for a cylinder (axis y, radius 1, |y| ≤ 1) the octagonal prism
 * around it (16). A sphere's body is built in camera axes instead (its rotation says nothing).
 */
export const BODIES: { readonly cube: Float64Array; readonly cylinder: Float64Array } = {
  cube: Float64Array.from(
    Array.from({ length: 8 }, (_, c) => [c & 1 ? 1 : -1, c & 2 ? 1 : -1, c & 4 ? 1 : -1]).flat(),
  ),
  cylinder: Float64Array.from([-1, 1].flatMap((y) => OCTAGON.flatMap(([x, z]) => [x, y, z]))),
};

export interface Frame {
  c: Vec3;
  r: Vec3;
  u: Vec3;
  f: Vec3;
  l: Vec3;
  /** Perspective: tan(fov/2) / 1.6, the ray slope per unit of image-plane coordinate; 0: orthographic. */
  perspective: number;
}
/** A slab face's shade seen along direction component d: its outward normal is −sign(d) e_axis. */
export function slabShade(d: number, l: number): number {
  const n = d > 0 ? -l : d < 0 ? l : 0;
  return AMBIENT + DIFFUSE * (n > 0 ? n : 0);
}
/** The first pixel index ≥ lo and the last ≤ hi of the centres xs (uniform, ascending), clamped. */
export function pixelSpan(xs: Float64Array, lo: number, hi: number): [number, number] {
  const size = xs.length, step = size > 1 ? xs[1] - xs[0] : 1, margin = 1e-9;
  return [
    Math.max(0, Math.ceil((lo - margin - xs[0]) / step)),
    Math.min(size - 1, Math.floor((hi + margin - xs[0]) / step)),
  ];
}
