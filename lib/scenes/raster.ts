/**
 * What both cameras' raster loops share: the kinds of primitive, the per-size pixel grid, z-buffer
 * and drawing window, the camera frame a render uses, a slab face's shade, and pixel spans. (Each loop
 * writes its ray–primitive intersections out in full: calls per pixel into shared functions ran at
 * ≈ 0.6× in `bench:render`.)
 *
 * @example
 * ```ts
 * import { pixelSpan, slabShade, Target } from "./raster.ts";
 * const t = new Target(64);
 * pixelSpan(t.xs, -0.1, 0.1); // [30, 33]: the pixel centres within ±0.1
 * slabShade(-1, 1); // 1: a face seen head-on, lit from the camera
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
  readonly zbuf: Float64Array;
  i0 = 0;
  i1: number;
  j0 = 0;
  j1: number;
  /** Each primitive's rotation matrix, when the caller has them (else they come from its Euler angles). */
  matrices: readonly Float64Array[] | undefined;
  constructor(readonly size: number) {
    this.xs = pixelCentres(size);
    this.zbuf = new Float64Array(size * size);
    this.i1 = this.j1 = size - 1;
  }

  /** Resets the z-buffer to "no hit" over the window (all of it when the window is the whole image). */
  clearDepth(): void {
    const { size, zbuf } = this;
    if (this.i0 === 0 && this.j0 === 0 && this.i1 === size - 1 && this.j1 === size - 1) zbuf.fill(NO_HIT);
    else {for (let i = this.i0; i <= this.i1; i++) {
        zbuf.fill(NO_HIT, i * size + this.j0, i * size + this.j1 + 1);
      }}
  }
}

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
