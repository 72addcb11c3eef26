/**
 * What both cameras' raster loops share: the kinds of primitive, the per-size pixel grid and z-buffer,
 * the camera frame a render uses, and the ray–primitive intersections in the primitive's local frame
 * (unit sphere, unit cube, unit cylinder with axis y), each for a ray P + τD with any |D|.
 *
 * @example
 * ```ts
 * import { cubeHit, hit } from "./raster.ts";
 * cubeHit(0, 0, 5, 0, 0, -1); // true: a ray down −z from z = 5 enters the unit cube at τ = 4
 * hit[0]; // 4, and hit[1] = 2: through the z face
 * ```
 * @module
 */
import { AMBIENT, DIFFUSE, pixelCentres, Vec3 } from "./primitives.ts";

export const SPHERE = 0;
export const CUBE = 1;
export const CYLINDER = 2;
export const EPS = 1e-12;
export const NO_HIT = Infinity;

/** Reusable per-size state: pixel coordinates, the z-buffer, and the window drawn (rows i0..i1, columns j0..j1). */
export class Target {
  readonly xs: Float64Array;
  readonly zbuf: Float64Array;
  i0 = 0;
  i1: number;
  j0 = 0;
  j1: number;
  constructor(readonly size: number) {
    this.xs = pixelCentres(size);
    this.zbuf = new Float64Array(size * size);
    this.i1 = this.j1 = size - 1;
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
// What the last intersection call found: the ray parameter τ of the entry point and the face it
// entered by (0, 1, 2: the slab of that axis — a cube face, or the cylinder's cap for 1; 3: a curved
// surface, the sphere or the cylinder's side).
export const hit = new Float64Array(2); // [τ, face]

/** The ray P + τD (local frame) against the unit sphere, |D|² = a: the nearest τ > 0. */
export function sphereHit(
  Px: number,
  Py: number,
  Pz: number,
  Dx: number,
  Dy: number,
  Dz: number,
  a: number,
): boolean {
  // |P + τD|² = 1  →  τ = (−b − √(b² − a·c)) / a, b = P·D, c = |P|² − 1
  const b = Px * Dx + Py * Dy + Pz * Dz;
  const disc = b * b - a * (Px * Px + Py * Py + Pz * Pz - 1);
  if (disc < 0) return false;
  const tau = (-b - Math.sqrt(disc)) / a;
  if (!(tau > 0)) return false;
  hit[0] = tau;
  hit[1] = 3;
  return true;
}

/** The ray against the unit cube: slabs |P_k + τ D_k| ≤ 1; the entry face is the axis of the largest entry τ. */
export function cubeHit(Px: number, Py: number, Pz: number, Dx: number, Dy: number, Dz: number): boolean {
  let tn = -Infinity, tf = Infinity, face = -1;
  if (Math.abs(Dx) < EPS) {
    if (Px > 1 || Px < -1) return false;
  } else {
    const a = (-1 - Px) / Dx, b = (1 - Px) / Dx;
    const lo = a < b ? a : b, hi = a < b ? b : a;
    if (lo > tn) {
      tn = lo;
      face = 0;
    }
    if (hi < tf) tf = hi;
  }
  if (Math.abs(Dy) < EPS) {
    if (Py > 1 || Py < -1) return false;
  } else {
    const a = (-1 - Py) / Dy, b = (1 - Py) / Dy;
    const lo = a < b ? a : b, hi = a < b ? b : a;
    if (lo > tn) {
      tn = lo;
      face = 1;
    }
    if (hi < tf) tf = hi;
  }
  if (Math.abs(Dz) < EPS) {
    if (Pz > 1 || Pz < -1) return false;
  } else {
    const a = (-1 - Pz) / Dz, b = (1 - Pz) / Dz;
    const lo = a < b ? a : b, hi = a < b ? b : a;
    if (lo > tn) {
      tn = lo;
      face = 2;
    }
    if (hi < tf) tf = hi;
  }
  if (!(tn <= tf && tn > 0)) return false;
  hit[0] = tn;
  hit[1] = face;
  return true;
}

/** The ray against the unit cylinder: the infinite x² + z² ≤ 1 (aXZ = Dx² + Dz²) and the slab |y| ≤ 1. */
export function cylinderHit(
  Px: number,
  Py: number,
  Pz: number,
  Dx: number,
  Dy: number,
  Dz: number,
  aXZ: number,
): boolean {
  let tn = -Infinity, tf = Infinity;
  let side = false;
  const c = Px * Px + Pz * Pz - 1;
  if (aXZ < EPS) {
    if (c > 0) return false;
  } else {
    const b = Px * Dx + Pz * Dz;
    const disc = b * b - aXZ * c;
    if (disc < 0) return false;
    const sq = Math.sqrt(disc);
    tn = (-b - sq) / aXZ;
    tf = (-b + sq) / aXZ;
    side = true;
  }
  if (Math.abs(Dy) < EPS) {
    if (Py > 1 || Py < -1) return false;
  } else {
    const a = (-1 - Py) / Dy, b = (1 - Py) / Dy;
    const lo = a < b ? a : b, hi = a < b ? b : a;
    if (lo > tn) {
      tn = lo;
      side = false;
    }
    if (hi < tf) tf = hi;
  }
  if (!(tn <= tf && tn > 0)) return false;
  hit[0] = tn;
  hit[1] = side ? 3 : 1;
  return true;
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
