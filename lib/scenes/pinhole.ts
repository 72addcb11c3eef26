/**
 * The perspective camera's raster loop (`camera.projection: "perspective"`): rays from a pinhole at the
 * camera centre, one per pixel, through the plane one unit ahead. `render.ts` calls it; the orthographic
 * loop stays in `render.ts`. Its intersections are written out per kind, as the orthographic loop's are.
 * @module
 */
import { AMBIENT, DEFAULT_SCALE, DIFFUSE, eulerZYX, Scene } from "./primitives.ts";
import {
  BODIES,
  CUBE,
  CYLINDER,
  EPS,
  Frame,
  OCTAGON,
  pixelSpan,
  REACH,
  slabShade,
  SPHERE,
  Target,
} from "./raster.ts";

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
  const { size, xs, zbuf, writeDepth } = t;
  t.clearDepth();
  for (let k = 0; k < scene.length; k++) {
    const p = scene[k];
    const kind = p.type === "sphere" ? SPHERE : p.type === "cube" ? CUBE : CYLINDER;
    const s = p.scale ?? DEFAULT_SCALE;
    const rel0 = p.position[0] - fr.c[0], rel1 = p.position[1] - fr.c[1], rel2 = p.position[2] - fr.c[2];
    const g = fr.perspective; // x̃ per unit of image-plane x
    // Camera coordinates (along r, u, f) of the centre. A ball of radius ρ around it, wholly in
    // front, shows within x̃ ∈ (cx ± ρ) / ((cz ± ρ)·g), and likewise ỹ: skip it if that misses the window.
    const cx = rel0 * fr.r[0] + rel1 * fr.r[1] + rel2 * fr.r[2];
    const cy = rel0 * fr.u[0] + rel1 * fr.u[1] + rel2 * fr.u[2];
    const cz = rel0 * fr.f[0] + rel1 * fr.f[1] + rel2 * fr.f[2];
    const rho = s * REACH[kind];
    if (cz - rho > 1e-9) {
      const near = (cz - rho) * g, far = (cz + rho) * g;
      const xa = cx - rho, xb = cx + rho, ya = cy - rho, yb = cy + rho;
      if (
        t.misses(
          Math.min(xa / near, xa / far),
          Math.max(xb / near, xb / far),
          Math.min(ya / near, ya / far),
          Math.max(yb / near, yb / far),
        )
      ) continue;
    }
    const R = t.matrices?.[k] ?? eulerZYX(p.rotation[0], p.rotation[1], p.rotation[2]);
    // (Rᵀ v)_i = R_0i v_0 + R_1i v_1 + R_2i v_2, written out for each vector (this runs once per draw).
    const R0 = R[0], R1 = R[1], R2 = R[2], R3 = R[3], R4 = R[4], R5 = R[5], R6 = R[6], R7 = R[7], R8 = R[8];
    const l = fr.l, r = fr.r, u = fr.u, f = fr.f;
    const Lx = R0 * l[0] + R3 * l[1] + R6 * l[2],
      Ly = R1 * l[0] + R4 * l[1] + R7 * l[2],
      Lz = R2 * l[0] + R5 * l[1] + R8 * l[2]; // n_world · l = n_local · (Rᵀ l)
    const d0 = -rel0, d1 = -rel1, d2 = -rel2; // the camera centre from the primitive's
    const Bx = (R0 * d0 + R3 * d1 + R6 * d2) / s,
      By = (R1 * d0 + R4 * d1 + R7 * d2) / s,
      Bz = (R2 * d0 + R5 * d1 + R8 * d2) / s;
    const Ax = (R0 * r[0] + R3 * r[1] + R6 * r[2]) * g,
      Ay = (R1 * r[0] + R4 * r[1] + R7 * r[2]) * g,
      Az = (R2 * r[0] + R5 * r[1] + R8 * r[2]) * g;
    const Cx = (R0 * u[0] + R3 * u[1] + R6 * u[2]) * g,
      Cy = (R1 * u[0] + R4 * u[1] + R7 * u[2]) * g,
      Cz = (R2 * u[0] + R5 * u[1] + R8 * u[2]) * g;
    const Fx = R0 * f[0] + R3 * f[1] + R6 * f[2],
      Fy = R1 * f[0] + R4 * f[1] + R7 * f[2],
      Fz = R2 * f[0] + R5 * f[1] + R8 * f[2];

    // The rows and, per row, the columns to scan: those within the projected hull of a convex body
    // around the primitive (a cube's own corners, the octagonal prism around a cylinder, an octagonal
    // prism along the view axis around a sphere). In camera coordinates (along r, u, f) a corner is
    // centre + s·Σ_k p_k Rᵀ(r, u, f)_k; when every corner is in front of the camera, the image of the
    // body is the hull of the corners' images x̃ = x / z (projection keeps convexity there).
    // Each corner (x, y, z) in camera coordinates lands at (x, y) / (z·g).
    const X = t.cornerX, Y = t.cornerY;
    let n = 0, zMin = Infinity, zMax = -Infinity;
    if (kind === SPHERE) {
      for (let side = -1; side <= 1; side += 2) {
        const z = cz + side * s;
        for (let q = 0; q < OCTAGON.length; q++) {
          X[n] = (cx + s * OCTAGON[q][0]) / (z * g), Y[n++] = (cy + s * OCTAGON[q][1]) / (z * g);
        }
        if (z < zMin) zMin = z;
        if (z > zMax) zMax = z;
      }
    } else {
      const body = kind === CUBE ? BODIES.cube : BODIES.cylinder;
      const r0 = Ax / g, r1 = Ay / g, r2 = Az / g, u0 = Cx / g, u1 = Cy / g, u2 = Cz / g; // Rᵀr, Rᵀu
      for (let q = 0; q < body.length; q += 3) {
        const a = body[q], b = body[q + 1], d = body[q + 2];
        const z = cz + s * (a * Fx + b * Fy + d * Fz);
        X[n] = (cx + s * (a * r0 + b * r1 + d * r2)) / (z * g),
          Y[n++] = (cy + s * (a * u0 + b * u1 + d * u2)) / (z * g);
        if (z < zMin) zMin = z;
        if (z > zMax) zMax = z;
      }
    }
    if (zMax <= 0) continue; // wholly behind the camera
    const hull = zMin > 1e-9; // else a corner is behind the pinhole: scan the whole window
    let i0 = t.i0, i1 = t.i1;
    if (hull && !t.scanAll) {
      t.setHull(n);
      // Row i shows image-plane y = xs[size − 1 − i].
      const [r0, r1] = pixelSpan(xs, t.hullYLo - 1e-7, t.hullYHi + 1e-7);
      if (size - 1 - r1 > i0) i0 = size - 1 - r1;
      if (size - 1 - r0 < i1) i1 = size - 1 - r0;
    }
    if (i0 > i1) continue;
    if (hull) t.scanRows(i0, i1, kind === CUBE);

    // One loop per kind, each with its intersection written out (calls per pixel into shared
    // intersection functions ran at ≈ 0.6× in bench:render). D = F + x̃A + ỹC per pixel, B fixed.
    const cB = Bx * Bx + By * By + Bz * Bz - 1, cXZ = Bx * Bx + Bz * Bz - 1;
    for (let i = i0; i <= i1; i++) {
      const y = xs[size - 1 - i];
      let j0 = t.j0, j1 = t.j1, inLo = 0, inHi = -1;
      if (hull) {
        if (!t.rowSpan(i, j0, j1)) continue;
        j0 = t.spanLo, j1 = t.spanHi, inLo = t.innerLo, inHi = t.innerHi;
      }
      t.noteSpan(i, j0, j1);
      const rowX = Fx + y * Cx, rowY = Fy + y * Cy, rowZ = Fz + y * Cz;
      const rowOff = i * size;
      for (let j = j0; j <= j1; j++) {
        const x = xs[j];
        const Dx = rowX + x * Ax, Dy = rowY + x * Ay, Dz = rowZ + x * Az;
        let tau: number, shade: number; // the entry point's ray parameter and its shade
        if (j >= inLo && j <= inHi) {
          // Well inside a cube's silhouette the ray hits: only the entry parameter is needed, the
          // largest of the slabs' entries (each the same quotient as below).
          let tn = -Infinity, face = -1;
          if (!(Math.abs(Dx) < EPS)) {
            const lo = (Dx > 0 ? -1 - Bx : 1 - Bx) / Dx;
            if (lo > tn) tn = lo, face = 0;
          }
          if (!(Math.abs(Dy) < EPS)) {
            const lo = (Dy > 0 ? -1 - By : 1 - By) / Dy;
            if (lo > tn) tn = lo, face = 1;
          }
          if (!(Math.abs(Dz) < EPS)) {
            const lo = (Dz > 0 ? -1 - Bz : 1 - Bz) / Dz;
            if (lo > tn) tn = lo, face = 2;
          }
          if (!(tn > 0)) continue;
          tau = tn;
          shade = face === 0 ? slabShade(Dx, Lx) : face === 1 ? slabShade(Dy, Ly) : slabShade(Dz, Lz);
        } else if (kind === SPHERE) {
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
          if (writeDepth) zbuf[pix] = tWorld;
          image[offset + pix] = shade;
          if (ids) ids[offset + pix] = k;
          if (depth) depth[offset + pix] = tWorld;
        }
      }
    }
  }
}
