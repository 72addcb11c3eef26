/**
 * The perspective camera's raster loop (`camera.projection: "perspective"`): rays from a pinhole at the
 * camera centre, one per pixel, through the plane one unit ahead. `render.ts` calls it; the orthographic
 * loop stays in `render.ts`. Its intersections are written out per kind, as the orthographic loop's are.
 * @module
 */
import { AMBIENT, DEFAULT_SCALE, DIFFUSE, eulerZYX, Scene, Vec3 } from "./primitives.ts";
import { CUBE, CYLINDER, EPS, Frame, pixelSpan, slabShade, SPHERE, Target } from "./raster.ts";

/**
 * Perspective: every ray starts at the camera centre and passes through the pixel's point
 * x̃ r + ỹ u + f of the plane one unit ahead (x̃ = x·tan(fov/2)/1.6). In the local frame its origin
 * B = Rᵀ(c − position)/s is constant and its direction D = Rᵀ(f + x̃ r + ỹ u) is affine in the pixel;
 * with t the parameter along that (unnormalised) direction, f·(q − c) = t, so the depth along the
 * view axis is τ·s, as the orthographic camera's.
 */
export function drawPerspective(
  scene: Scene,
  fr: Frame,
  t: Target,
  image: Float32Array,
  ids: Int16Array | undefined,
  depth: Float32Array | undefined,
  offset: number,
): void {
  const { size, xs, zbuf } = t;
  t.clearDepth();
  for (let k = 0; k < scene.length; k++) {
    const p = scene[k];
    const kind = p.type === "sphere" ? SPHERE : p.type === "cube" ? CUBE : CYLINDER;
    const s = p.scale ?? DEFAULT_SCALE;
    const R = t.matrices?.[k] ?? eulerZYX(p.rotation[0], p.rotation[1], p.rotation[2]);
    const rt = (v: Vec3, i: number) => R[i] * v[0] + R[3 + i] * v[1] + R[6 + i] * v[2]; // (Rᵀ v)_i
    const rel: Vec3 = [p.position[0] - fr.c[0], p.position[1] - fr.c[1], p.position[2] - fr.c[2]];
    const Lx = rt(fr.l, 0), Ly = rt(fr.l, 1), Lz = rt(fr.l, 2); // n_world · l = n_local · (Rᵀ l)
    const dc: Vec3 = [-rel[0], -rel[1], -rel[2]];
    const Bx = rt(dc, 0) / s, By = rt(dc, 1) / s, Bz = rt(dc, 2) / s;
    const g = fr.perspective; // x̃ per unit of image-plane x
    const Ax = rt(fr.r, 0) * g, Ay = rt(fr.r, 1) * g, Az = rt(fr.r, 2) * g;
    const Cx = rt(fr.u, 0) * g, Cy = rt(fr.u, 1) * g, Cz = rt(fr.u, 2) * g;
    const Fx = rt(fr.f, 0), Fy = rt(fr.f, 1), Fz = rt(fr.f, 2);

    // Projected bounding box. Camera coordinates (along r, u, f) of the centre, and of the corners of
    // a box around the primitive: its own [−1, 1]³ for a cube or cylinder (tight), the camera-aligned
    // cube of side 2s for a sphere. When every corner is in front of the camera, x̃ = x / z of any point
    // lies between the corners' extreme ratios (the projection of a box is the hull of its corners').
    const cx = rel[0] * fr.r[0] + rel[1] * fr.r[1] + rel[2] * fr.r[2];
    const cy = rel[0] * fr.u[0] + rel[1] * fr.u[1] + rel[2] * fr.u[2];
    const cz = rel[0] * fr.f[0] + rel[1] * fr.f[1] + rel[2] * fr.f[2];
    // The box's half-axes in camera coordinates: s·R e_k (a cube, a cylinder), s·e_k (a sphere).
    const axis = (k: number): Vec3 =>
      kind === SPHERE
        ? [k === 0 ? s : 0, k === 1 ? s : 0, k === 2 ? s : 0]
        : [s * rt(fr.r, k), s * rt(fr.u, k), s * rt(fr.f, k)];
    const e0 = axis(0), e1 = axis(1), e2 = axis(2);
    let xLo = Infinity, xHi = -Infinity, yLo = Infinity, yHi = -Infinity, zMin = Infinity, zMax = -Infinity;
    for (let c = 0; c < 8; c++) {
      const a = c & 1 ? 1 : -1, b = c & 2 ? 1 : -1, d = c & 4 ? 1 : -1;
      const z = cz + a * e0[2] + b * e1[2] + d * e2[2];
      const x = (cx + a * e0[0] + b * e1[0] + d * e2[0]) / z,
        y = (cy + a * e0[1] + b * e1[1] + d * e2[1]) / z;
      if (x < xLo) xLo = x;
      if (x > xHi) xHi = x;
      if (y < yLo) yLo = y;
      if (y > yHi) yHi = y;
      if (z < zMin) zMin = z;
      if (z > zMax) zMax = z;
    }
    let j0 = 0, j1 = size - 1, i0 = 0, i1 = size - 1;
    if (zMax <= 0) continue; // wholly behind the camera
    if (zMin > 1e-9) {
      xLo /= g, xHi /= g, yLo /= g, yHi /= g;
      [j0, j1] = pixelSpan(xs, xLo, xHi);
      // Row i shows image-plane y = xs[size − 1 − i].
      const [r0, r1] = pixelSpan(xs, yLo, yHi);
      i0 = size - 1 - r1;
      i1 = size - 1 - r0;
    }
    if (j0 < t.j0) j0 = t.j0;
    if (j1 > t.j1) j1 = t.j1;
    if (i0 < t.i0) i0 = t.i0;
    if (i1 > t.i1) i1 = t.i1;
    if (j0 > j1 || i0 > i1) continue;

    // One loop per kind, each with its intersection written out (calls per pixel into shared
    // intersection functions ran at ≈ 0.6× in bench:render). D = F + x̃A + ỹC per pixel, B fixed.
    const cB = Bx * Bx + By * By + Bz * Bz - 1, cXZ = Bx * Bx + Bz * Bz - 1;
    for (let i = i0; i <= i1; i++) {
      const y = xs[size - 1 - i];
      const rowX = Fx + y * Cx, rowY = Fy + y * Cy, rowZ = Fz + y * Cz;
      const rowOff = i * size;
      for (let j = j0; j <= j1; j++) {
        const x = xs[j];
        const Dx = rowX + x * Ax, Dy = rowY + x * Ay, Dz = rowZ + x * Az;
        let tau: number, shade: number; // the entry point's ray parameter and its shade
        if (kind === SPHERE) {
          // |B + τD|² = 1  →  τ = (−b − √(b² − a·c)) / a, a = |D|², b = B·D, c = |B|² − 1
          const a = Dx * Dx + Dy * Dy + Dz * Dz, b = Bx * Dx + By * Dy + Bz * Dz;
          const disc = b * b - a * cB;
          if (disc < 0) continue;
          tau = (-b - Math.sqrt(disc)) / a;
          if (!(tau > 0)) continue;
          const nd = (Bx + tau * Dx) * Lx + (By + tau * Dy) * Ly + (Bz + tau * Dz) * Lz;
          shade = AMBIENT + DIFFUSE * (nd > 0 ? nd : 0);
        } else if (kind === CUBE) {
          // Slabs |B_k + τ D_k| ≤ 1; the entry face is the axis of the largest entry τ.
          let tn = -Infinity, tf = Infinity, face = -1;
          if (Math.abs(Dx) < EPS) {
            if (Bx > 1 || Bx < -1) continue;
          } else {
            const p = (-1 - Bx) / Dx, q = (1 - Bx) / Dx;
            const lo = p < q ? p : q, hi = p < q ? q : p;
            if (lo > tn) tn = lo, face = 0;
            if (hi < tf) tf = hi;
          }
          if (Math.abs(Dy) < EPS) {
            if (By > 1 || By < -1) continue;
          } else {
            const p = (-1 - By) / Dy, q = (1 - By) / Dy;
            const lo = p < q ? p : q, hi = p < q ? q : p;
            if (lo > tn) tn = lo, face = 1;
            if (hi < tf) tf = hi;
          }
          if (Math.abs(Dz) < EPS) {
            if (Bz > 1 || Bz < -1) continue;
          } else {
            const p = (-1 - Bz) / Dz, q = (1 - Bz) / Dz;
            const lo = p < q ? p : q, hi = p < q ? q : p;
            if (lo > tn) tn = lo, face = 2;
            if (hi < tf) tf = hi;
          }
          if (!(tn <= tf && tn > 0)) continue;
          tau = tn;
          shade = face === 0 ? slabShade(Dx, Lx) : face === 1 ? slabShade(Dy, Ly) : slabShade(Dz, Lz);
        } else {
          // The infinite cylinder x² + z² ≤ 1 (a = Dx² + Dz²) cut by the slab |y| ≤ 1 (its caps).
          let tn = -Infinity, tf = Infinity, side = false;
          const a = Dx * Dx + Dz * Dz;
          if (a < EPS) {
            if (cXZ > 0) continue;
          } else {
            const b = Bx * Dx + Bz * Dz, disc = b * b - a * cXZ;
            if (disc < 0) continue;
            const sq = Math.sqrt(disc);
            tn = (-b - sq) / a, tf = (-b + sq) / a, side = true;
          }
          if (Math.abs(Dy) < EPS) {
            if (By > 1 || By < -1) continue;
          } else {
            const p = (-1 - By) / Dy, q = (1 - By) / Dy;
            const lo = p < q ? p : q, hi = p < q ? q : p;
            if (lo > tn) tn = lo, side = false;
            if (hi < tf) tf = hi;
          }
          if (!(tn <= tf && tn > 0)) continue;
          tau = tn;
          if (side) {
            const nd = (Bx + tn * Dx) * Lx + (Bz + tn * Dz) * Lz;
            shade = AMBIENT + DIFFUSE * (nd > 0 ? nd : 0);
          } else shade = slabShade(Dy, Ly);
        }
        const tWorld = tau * s, pix = rowOff + j;
        if (tWorld < zbuf[pix]) {
          zbuf[pix] = tWorld;
          image[offset + pix] = shade;
          if (ids) ids[offset + pix] = k;
          if (depth) depth[offset + pix] = tWorld;
        }
      }
    }
  }
}
