/**
 * The analytic Lambertian renderer of AIR's 3D-primitives task (AIR §3.2), with the
 * numpy reproduction's exact conventions:
 *
 * - unit primitives — sphere of radius 1; cube |x|,|y|,|z| ≤ 1; cylinder with axis y,
 *   radius 1, |y| ≤ 1 — scaled by `scale` (default 0.4), rotated by ZYX Euler angles
 *   R = Rz(α)·Ry(β)·Rx(γ), translated to `position`: q = position + scale · R · p;
 * - an orthographic camera at z = +5 looking down −z; the image plane covers [−1.6, 1.6]²
 *   with pixel centres at `linspace(−1.6, 1.6, size)`; image rows go down as world y decreases;
 * - light from (0, 0, 1); intensity 0.15 + 0.85 · max(0, n·l) on a hit, 0 on background;
 * - the nearest hit wins (z-buffer).
 *
 * Beyond the reproduction: a per-pixel instance-id map (−1 for background) and depth
 * (distance from the camera's plane along its view axis, +∞ on background); a camera on an
 * orbit (yaw, pitch, distance — the default pose is the reproduction's camera); a perspective
 * projection (`camera.projection: "perspective"`, `fovDeg`; its loop is in `pinhole.ts`), under
 * which an object's size falls as 1 / its distance; batches rendered straight into one Float32Array.
 *
 * Each ray is intersected analytically in the primitive's local frame. Because the camera
 * is orthographic the local ray direction is the same for every pixel and the local origin
 * is affine in the pixel's image-plane coordinates, so a primitive costs a few
 * multiply-adds per pixel within its projected hull (see `raster.ts`) and nothing elsewhere.
 *
 * @example
 * ```ts
 * import { renderScene } from "./render.ts";
 * import { sampleScene } from "./primitives.ts";
 * import { Rng } from "../core/random.ts";
 * const scene = sampleScene(new Rng(0), { maxPrimitives: 3 });
 * const { image, ids, depth } = renderScene(scene, { size: 64 });
 * ```
 * @module
 */
import {
  AMBIENT,
  BatchRendering,
  Camera,
  DEFAULT_CAMERA,
  DEFAULT_FOV_DEG,
  DEFAULT_SCALE,
  DIFFUSE,
  eulerZYX,
  Rendering,
  RenderOptions,
  Scene,
  validateCamera,
  validatePrimitive,
  validateRenderOptionKeys,
  validateSize,
  Vec3,
  vec3,
  VIEW_HALF_WIDTH,
} from "./primitives.ts";
import {
  BODIES,
  CUBE,
  CYLINDER,
  EPS,
  Frame,
  NO_HIT,
  OCTAGON,
  pixelSpan,
  REACH,
  SPHERE,
  Target,
} from "./raster.ts";
import { drawPerspective } from "./pinhole.ts";

// ---------------------------------------------------------------- camera frame

/** Camera centre c and orthonormal right r, up u and forward f vectors for an orbit pose. */
export function cameraFrame(cam: Camera = DEFAULT_CAMERA): { c: Vec3; r: Vec3; u: Vec3; f: Vec3 } {
  const cp = Math.cos(cam.pitch), sp = Math.sin(cam.pitch);
  const cy = Math.cos(cam.yaw), sy = Math.sin(cam.yaw);
  const c: Vec3 = [cam.distance * cp * sy, cam.distance * sp, cam.distance * cp * cy];
  const f: Vec3 = [-cp * sy, -sp, -cp * cy];
  // r = f × (0, 1, 0) normalised; u = r × f. At yaw = pitch = 0: r = +x, u = +y, f = −z.
  const r: Vec3 = [cy, 0, -sy];
  const u: Vec3 = [r[1] * f[2] - r[2] * f[1], r[2] * f[0] - r[0] * f[2], r[0] * f[1] - r[1] * f[0]];
  return { c, r, u, f };
}

/** The ray slope per unit of image-plane coordinate of a perspective camera: tan(fov/2) / 1.6. */
function slopeOf(cam: Camera): number {
  return Math.tan(((cam.fovDeg ?? DEFAULT_FOV_DEG) * Math.PI) / 360) / VIEW_HALF_WIDTH;
}

/**
 * Where a camera shows the world point `p`: its image-plane coordinates (those of the pixel grid,
 * [−1.6, 1.6], y up) and its depth along the view axis. Orthographic: (r·(p − c), u·(p − c));
 * perspective: the same divided by the depth and by the ray slope.
 */
export function projectPoint(p: Vec3, cam: Camera = DEFAULT_CAMERA): Vec3 {
  const { c, r, u, f } = cameraFrame(cam);
  const d = [p[0] - c[0], p[1] - c[1], p[2] - c[2]];
  const x = d[0] * r[0] + d[1] * r[1] + d[2] * r[2], y = d[0] * u[0] + d[1] * u[1] + d[2] * u[2];
  const depth = d[0] * f[0] + d[1] * f[1] + d[2] * f[2];
  if (cam.projection !== "perspective") return [x, y, depth];
  const g = slopeOf(cam);
  return [x / (depth * g), y / (depth * g), depth];
}

/**
 * The world (x, y) of the point that the pixel ray through image-plane (x', y') reaches at world
 * height z: the inverse of {@link projectPoint} once z is known. Throws if that ray never reaches z.
 */
export function unprojectAtZ(
  xi: number,
  yi: number,
  z: number,
  cam: Camera = DEFAULT_CAMERA,
): [number, number] {
  const { c, r, u, f } = cameraFrame(cam);
  const persp = cam.projection === "perspective", g = persp ? slopeOf(cam) : 0;
  // Orthographic: q = (c + x' r + y' u) + t f; perspective: q = c + t (f + g x' r + g y' u).
  const o = persp ? c : [0, 1, 2].map((k) => c[k] + xi * r[k] + yi * u[k]);
  const dir = persp ? [0, 1, 2].map((k) => f[k] + g * (xi * r[k] + yi * u[k])) : f;
  if (Math.abs(dir[2]) < 1e-12) throw new RangeError(`the ray through (${xi}, ${yi}) never reaches z = ${z}`);
  const t = (z - o[2]) / dir[2];
  return [o[0] + t * dir[0], o[1] + t * dir[1]];
}

function frameFor(opts: RenderOptions): Frame {
  const cam = opts.camera ?? DEFAULT_CAMERA;
  if (opts.camera !== undefined) validateCamera(opts.camera, "options.camera");
  const { c, r, u, f } = cameraFrame(cam);
  let l: Vec3;
  if (opts.light === "camera") l = [-f[0], -f[1], -f[2]];
  else {
    l = opts.light === undefined ? [0, 0, 1] : vec3(opts.light, "options.light");
    const n = Math.hypot(l[0], l[1], l[2]);
    if (!(n > 0)) throw new RangeError("options.light must be a non-zero vector");
    l = [l[0] / n, l[1] / n, l[2] / n];
  }
  const perspective = cam.projection === "perspective" ? slopeOf(cam) : 0;
  return { c, r, u, f, l, perspective };
}

/**
 * Draws one scene into `image` (and `ids`, `depth` when given) at `offset`, which must
 * already hold the background (0, −1, +∞). The z-buffer lives in `target`.
 */
function drawScene(
  scene: Scene,
  fr: Frame,
  t: Target,
  image: Float32Array,
  ids: Int16Array | undefined,
  depth: Float32Array | undefined,
  offset: number,
): void {
  if (fr.perspective === 0) drawOrthographicScene(scene, fr, t, image, ids, depth, offset);
  else drawPerspective(scene, fr, t, image, ids, depth, offset);
}

/**
 * Orthographic: every pixel's ray has the same local direction D = Rᵀf, and its local origin is
 * affine in the pixel's image-plane coordinates (the reproduction's camera; its loop is kept
 * specialised: it is the hot path of every AIR-3D dataset).
 */
function drawOrthographicScene(
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
    const dc: Vec3 = [fr.c[0] - p.position[0], fr.c[1] - p.position[1], fr.c[2] - p.position[2]];
    // The image-plane centre (x = r·(q − c), y = u·(q − c)); a ball of radius ρ around it shows
    // within ±ρ of it: skip the primitive if that misses the window.
    const px = -dc[0], py = -dc[1], pz = -dc[2]; // position − c
    const cx = px * fr.r[0] + py * fr.r[1] + pz * fr.r[2];
    const cy = px * fr.u[0] + py * fr.u[1] + pz * fr.u[2];
    const rho = s * REACH[kind];
    if (t.misses(cx - rho, cx + rho, cy - rho, cy + rho)) continue;
    const R = t.matrices?.[k] ?? eulerZYX(p.rotation[0], p.rotation[1], p.rotation[2]);
    // Local frame: p_local = Rᵀ (q − position) / s. For the ray q = c + x r + y u + t f:
    //   p_local = B + x·A + y·C + τ·D, with τ = t / s and D = Rᵀ f (unit).
    const rt = (v: Vec3, i: number) => R[i] * v[0] + R[3 + i] * v[1] + R[6 + i] * v[2];
    const Bx = rt(dc, 0) / s, By = rt(dc, 1) / s, Bz = rt(dc, 2) / s;
    const Ax = rt(fr.r, 0) / s, Ay = rt(fr.r, 1) / s, Az = rt(fr.r, 2) / s;
    const Cx = rt(fr.u, 0) / s, Cy = rt(fr.u, 1) / s, Cz = rt(fr.u, 2) / s;
    const Dx = rt(fr.f, 0), Dy = rt(fr.f, 1), Dz = rt(fr.f, 2);
    // n_world · l = n_local · (Rᵀ l)
    const Lx = rt(fr.l, 0), Ly = rt(fr.l, 1), Lz = rt(fr.l, 2);

    // The rows and, per row, the columns to scan: those within the projected hull of a convex body
    // around the primitive — an octagon around a sphere's circle, a cube's own corners, the
    // octagonal prism around a cylinder.
    const X = t.cornerX, Y = t.cornerY;
    let n = 0;
    if (kind === SPHERE) {
      for (const [ox, oy] of OCTAGON) X[n] = cx + s * ox, Y[n++] = cy + s * oy;
    } else {
      // A local corner p lands at s·Σ_k p_k (Rᵀr)_k from the centre along r, and (Rᵀr)_k = s·A_k.
      const body = kind === CUBE ? BODIES.cube : BODIES.cylinder, ss = s * s;
      for (let q = 0; q < body.length; q += 3) {
        const a = body[q], b = body[q + 1], d = body[q + 2];
        X[n] = cx + ss * (a * Ax + b * Ay + d * Az), Y[n++] = cy + ss * (a * Cx + b * Cy + d * Cz);
      }
    }
    t.setHull(n);
    // Row i shows image-plane y = xs[size − 1 − i].
    const [r0, r1] = pixelSpan(xs, t.hullYLo - 1e-7, t.hullYHi + 1e-7);
    const i0 = t.scanAll ? t.i0 : Math.max(t.i0, size - 1 - r1),
      i1 = t.scanAll ? t.i1 : Math.min(t.i1, size - 1 - r0);
    if (i0 > i1) continue;
    t.scanRows(i0, i1, kind === CUBE);

    // Constant shades: the cube face entered along each axis, the cylinder's entry cap.
    const sgn = (d: number) => (d > 0 ? 1 : d < 0 ? -1 : 0);
    const shadeX = AMBIENT + DIFFUSE * Math.max(0, -sgn(Dx) * Lx);
    const shadeY = AMBIENT + DIFFUSE * Math.max(0, -sgn(Dy) * Ly);
    const shadeZ = AMBIENT + DIFFUSE * Math.max(0, -sgn(Dz) * Lz);
    const aXZ = Dx * Dx + Dz * Dz;

    for (let i = i0; i <= i1; i++) {
      const y = xs[size - 1 - i];
      if (!t.rowSpan(i, t.j0, t.j1)) continue;
      t.noteSpan(i, t.spanLo, t.spanHi);
      const rowX = Bx + y * Cx, rowY = By + y * Cy, rowZ = Bz + y * Cz;
      const rowOff = i * size, inLo = t.innerLo, inHi = t.innerHi;
      for (let j = t.spanLo, jEnd = t.spanHi; j <= jEnd; j++) {
        const x = xs[j];
        const Px = rowX + x * Ax, Py = rowY + x * Ay, Pz = rowZ + x * Az;
        let tau = NO_HIT;
        let shade = 0;
        if (j >= inLo && j <= inHi) {
          // Well inside a cube's silhouette the ray hits: only the entry parameter is needed, the
          // largest of the slabs' entries (each the same quotient as below: −1 − P_k over a positive D_k).
          let tn = -Infinity;
          if (!(Math.abs(Dx) < EPS)) {
            const lo = (Dx > 0 ? -1 - Px : 1 - Px) / Dx;
            if (lo > tn) tn = lo, shade = shadeX;
          }
          if (!(Math.abs(Dy) < EPS)) {
            const lo = (Dy > 0 ? -1 - Py : 1 - Py) / Dy;
            if (lo > tn) tn = lo, shade = shadeY;
          }
          if (!(Math.abs(Dz) < EPS)) {
            const lo = (Dz > 0 ? -1 - Pz : 1 - Pz) / Dz;
            if (lo > tn) tn = lo, shade = shadeZ;
          }
          if (!(tn > 0)) continue;
          tau = tn;
        } else if (kind === SPHERE) {
          // |P + τD|² = 1  →  τ = −b − √(b² − c), b = P·D, c = |P|² − 1
          const b = Px * Dx + Py * Dy + Pz * Dz;
          const disc = b * b - (Px * Px + Py * Py + Pz * Pz - 1);
          if (disc < 0) continue;
          tau = -b - Math.sqrt(disc);
          if (!(tau > 0)) continue;
          const nd = (Px + tau * Dx) * Lx + (Py + tau * Dy) * Ly + (Pz + tau * Dz) * Lz;
          shade = AMBIENT + DIFFUSE * (nd > 0 ? nd : 0);
        } else if (kind === CUBE) {
          // Slabs |P_k + τ D_k| ≤ 1; the entry face is the axis of the largest entry τ.
          let tn = -Infinity, tf = Infinity;
          shade = 0;
          if (Math.abs(Dx) < EPS) {
            if (Px > 1 || Px < -1) continue;
          } else {
            const a = (-1 - Px) / Dx, b = (1 - Px) / Dx;
            const lo = a < b ? a : b, hi = a < b ? b : a;
            if (lo > tn) {
              tn = lo;
              shade = shadeX;
            }
            if (hi < tf) tf = hi;
          }
          if (Math.abs(Dy) < EPS) {
            if (Py > 1 || Py < -1) continue;
          } else {
            const a = (-1 - Py) / Dy, b = (1 - Py) / Dy;
            const lo = a < b ? a : b, hi = a < b ? b : a;
            if (lo > tn) {
              tn = lo;
              shade = shadeY;
            }
            if (hi < tf) tf = hi;
          }
          if (Math.abs(Dz) < EPS) {
            if (Pz > 1 || Pz < -1) continue;
          } else {
            const a = (-1 - Pz) / Dz, b = (1 - Pz) / Dz;
            const lo = a < b ? a : b, hi = a < b ? b : a;
            if (lo > tn) {
              tn = lo;
              shade = shadeZ;
            }
            if (hi < tf) tf = hi;
          }
          if (!(tn <= tf && tn > 0)) continue;
          tau = tn;
        } else {
          // Infinite cylinder x² + z² ≤ 1 intersected with the slab |y| ≤ 1.
          let tn = -Infinity, tf = Infinity;
          let side = false;
          const c = Px * Px + Pz * Pz - 1;
          if (aXZ < EPS) {
            if (c > 0) continue;
          } else {
            const b = Px * Dx + Pz * Dz;
            const disc = b * b - aXZ * c;
            if (disc < 0) continue;
            const sq = Math.sqrt(disc);
            tn = (-b - sq) / aXZ;
            tf = (-b + sq) / aXZ;
            side = true;
          }
          if (Math.abs(Dy) < EPS) {
            if (Py > 1 || Py < -1) continue;
          } else {
            const a = (-1 - Py) / Dy, b = (1 - Py) / Dy;
            const lo = a < b ? a : b, hi = a < b ? b : a;
            if (lo > tn) {
              tn = lo;
              side = false;
            }
            if (hi < tf) tf = hi;
          }
          if (!(tn <= tf && tn > 0)) continue;
          tau = tn;
          if (side) {
            const nd = (Px + tau * Dx) * Lx + (Pz + tau * Dz) * Lz;
            shade = AMBIENT + DIFFUSE * (nd > 0 ? nd : 0);
          } else shade = shadeY;
        }
        const tWorld = tau * s;
        const pix = rowOff + j;
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

function validateScene(scene: Scene, field: string): void {
  if (!Array.isArray(scene)) throw new TypeError(`${field} must be an array of primitives`);
  if (scene.length > 32767) throw new RangeError(`${field} has ${scene.length} primitives; at most 32767`);
  for (let k = 0; k < scene.length; k++) validatePrimitive(scene[k], `${field}[${k}]`);
}

/** Renders one scene: intensity image, instance ids and depth, each size×size, row-major. */
export function renderScene(scene: Scene, options: RenderOptions): Rendering {
  const size = validateSize(options?.size);
  validateRenderOptionKeys(options);
  validateScene(scene, "scene");
  const fr = frameFor(options);
  const n = size * size;
  const image = new Float32Array(n);
  const ids = new Int16Array(n).fill(-1);
  const depth = new Float32Array(n).fill(Infinity);
  drawScene(scene, fr, new Target(size), image, ids, depth, 0);
  return { size, image, ids, depth };
}

/**
 * A renderer bound to one size, camera and light, for loops that render thousands of scenes of
 * their own making (render-and-compare fitting): the options are checked once, here; `draw` then
 * renders a scene into a caller's buffer with no per-call checks, so its scenes must be well formed
 * (finite numbers, known types — what `validatePrimitive` accepts).
 *
 * @example
 * ```ts
 * import { Rasteriser } from "./render.ts";
 * const r = new Rasteriser({ size: 32 });
 * const out = new Float32Array(32 * 32);
 * r.draw([{ type: "cube", position: [0, 0, 0], rotation: [0.3, 0.2, 0.1] }], out);
 * ```
 */
export class Rasteriser {
  readonly size: number;
  #frame: Frame;
  readonly #target: Target;
  /** `scanAll`: test every pixel of the window rather than the spans of each primitive's hull (for tests). */
  constructor(options: RenderOptions, { scanAll = false }: { scanAll?: boolean } = {}) {
    this.size = validateSize(options?.size);
    validateRenderOptionKeys(options);
    this.#frame = frameFor(options);
    this.#target = new Target(this.size);
    this.#target.scanAll = scanAll;
  }

  /**
   * Points the light along `direction` (towards the light, world coordinates; normalised here) for the
   * draws that follow: a scene seen from another camera pose lights differently (the orbit camera).
   */
  setLight(direction: readonly number[]): void {
    const n = Math.hypot(direction[0], direction[1], direction[2]);
    if (direction.length !== 3 || !(n > 0) || !Number.isFinite(n)) {
      throw new RangeError(`light must be a finite non-zero 3-vector, got [${direction.join(", ")}]`);
    }
    this.#frame = { ...this.#frame, l: [direction[0] / n, direction[1] / n, direction[2] / n] };
  }

  /**
   * Renders `scene` into `out` (size² values, overwritten; background 0). `matrices`, if given, are
   * the primitives' rotations (row-major 3×3), used instead of their Euler angles.
   */
  draw(scene: Scene, out: Float32Array, matrices?: readonly Float64Array[]): void {
    out.fill(0, 0, this.size * this.size);
    this.#target.matrices = matrices;
    try {
      drawScene(scene, this.#frame, this.#target, out, undefined, undefined, 0);
    } finally {
      this.#target.matrices = undefined;
    }
  }

  /**
   * Renders only the window of rows i0..i1 and columns j0..j1 (inclusive, clamped to the image) into
   * `out`; pixels outside it are left as they were. What changes when one object moves lies in the
   * union of its old and new boxes, so a fit re-renders just that.
   */
  drawWindow(
    scene: Scene,
    out: Float32Array,
    i0: number,
    i1: number,
    j0: number,
    j1: number,
    matrices?: readonly Float64Array[],
  ): void {
    this.#drawIn(scene, out, i0, i1, j0, j1, matrices, (t, n) => {
      for (let i = t.i0; i <= t.i1; i++) out.fill(0, i * n + t.j0, i * n + t.j1 + 1);
    });
  }

  /**
   * Draws `scene` into `out` within the window (clamped; `prepare` runs once it is set), then resets
   * the target's window and matrices whatever happens.
   */
  #drawIn(
    scene: Scene,
    out: Float32Array,
    i0: number,
    i1: number,
    j0: number,
    j1: number,
    matrices: readonly Float64Array[] | undefined,
    prepare?: (t: Target, n: number) => void,
  ): void {
    const t = this.#target, n = this.size;
    t.matrices = matrices;
    t.i0 = Math.max(0, i0), t.i1 = Math.min(n - 1, i1), t.j0 = Math.max(0, j0), t.j1 = Math.min(n - 1, j1);
    try {
      prepare?.(t, n);
      drawScene(scene, this.#frame, t, out, undefined, undefined, 0);
    } finally {
      t.i0 = t.j0 = 0;
      t.i1 = t.j1 = n - 1;
      t.matrices = undefined;
    }
  }

  /**
   * Draws `scene` over what `out` and `zbuf` already hold, in the window of rows i0..i1 and columns
   * j0..j1 (clamped): a pixel takes a primitive's shade where it lies nearer than `zbuf` says, and
   * `zbuf` its depth (along the view axis; +∞ where nothing is drawn). Start from `out` = 0 and
   * `zbuf` = +∞ to render with depth; draw the rest of a scene first and one object over it, and
   * the result is the whole scene's rendering (ties in depth aside). With `writeDepth` false `zbuf`
   * is only read: each primitive is drawn where it lies nearer than `zbuf` says (for one primitive,
   * the same image), and `zbuf` is left as it was. With `spans` (2·size values), each row's span
   * (columns `spans[2i]`..`spans[2i + 1]`, as the caller set them: lo > hi for none) is widened to
   * cover the columns the draw scanned there — every pixel it wrote lies within them.
   */
  drawOver(
    scene: Scene,
    out: Float32Array,
    zbuf: Float64Array,
    i0: number,
    i1: number,
    j0: number,
    j1: number,
    matrices?: readonly Float64Array[],
    writeDepth = true,
    spans?: Int16Array,
  ): void {
    const t = this.#target, n = this.size, own = t.zbuf;
    if (zbuf.length < n * n) throw new RangeError(`zbuf must hold ${n}×${n} values, got ${zbuf.length}`);
    if (spans && spans.length < 2 * n) {
      throw new RangeError(`spans must hold 2×${n} values, got ${spans.length}`);
    }
    t.zbuf = zbuf, t.keepDepth = true, t.writeDepth = writeDepth, t.spans = spans;
    try {
      this.#drawIn(scene, out, i0, i1, j0, j1, matrices);
    } finally {
      t.zbuf = own, t.keepDepth = false, t.writeDepth = true, t.spans = undefined;
    }
  }
}

/**
 * Renders a batch straight into one Float32Array of N·size² (NHWC with C = 1).
 * `ids` and `depth` are filled only when asked for. Pass `out` to reuse a buffer.
 */
export function renderBatch(
  scenes: readonly Scene[],
  options: RenderOptions & { ids?: boolean; depth?: boolean; out?: Float32Array },
): BatchRendering {
  const size = validateSize(options?.size);
  validateRenderOptionKeys(options);
  if (!Array.isArray(scenes)) throw new TypeError("scenes must be an array of scenes");
  for (let b = 0; b < scenes.length; b++) validateScene(scenes[b], `scenes[${b}]`);
  const fr = frameFor(options);
  const px = size * size, total = scenes.length * px;
  let images = options.out;
  if (images === undefined) images = new Float32Array(total);
  else if (!(images instanceof Float32Array) || images.length !== total) {
    throw new RangeError(`options.out must be a Float32Array of length ${total} (N·size²)`);
  } else images.fill(0);
  const ids = options.ids ? new Int16Array(total).fill(-1) : undefined;
  const depth = options.depth ? new Float32Array(total).fill(Infinity) : undefined;
  const target = new Target(size);
  for (let b = 0; b < scenes.length; b++) drawScene(scenes[b], fr, target, images, ids, depth, b * px);
  return { n: scenes.length, size, images, ids, depth };
}
