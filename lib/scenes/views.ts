/**
 * Multi-view scenes for GQN (Eslami et al., Science 2018), in the style of its rooms-ring-camera
 * data: 1–3 coloured primitives standing on a floor disc, each scene seen from cameras on a ring
 * around it (random yaw, pitch in a small range), rendered by `render.ts` and coloured here.
 *
 * - **Objects** — sphere, cube or upright cylinder of scale `OBJECT_SCALE`, resting on the floor
 *   (centre at y = `FLOOR_Y` + scale), turned only about the vertical axis, centres in
 *   [−0.85, 0.85]² on the floor and at least 0.9 apart; each has an albedo from a palette (one
 *   channel bright). A pixel of an object is albedo × the renderer's Lambertian shade.
 * - **Floor** — the disc x² + z² ≤ `FLOOR_RADIUS`² at y = `FLOOR_Y`, one palette colour per scene,
 *   shaded by the same light; outside it, a fixed sky colour. Objects always occlude the floor:
 *   the camera looks down (pitch > 0), so a ray meets anything above the floor before the floor.
 * - **Light** — a fixed world direction `LIGHT`, so shading changes with the viewpoint as it should.
 * - **Camera** — the renderer's orthographic orbit camera (distance 5, looking at the origin).
 *
 * **Viewpoint vector** — the paper's 7-D encoding, in this order:
 *
 *     v = (w_x, w_y, w_z, cos yaw, sin yaw, cos pitch, sin pitch)
 *
 * with w the camera position divided by its distance (a unit vector; the camera is orthographic,
 * so distance changes nothing in the image).
 *
 * **Batches (Algorithm S1)** — `sampleQueryBatch` draws the number of context views
 * M ~ U{minContext..maxContext} once per batch (as S1 does), then B fresh scenes, each with M
 * context views and one query view at independent ring positions. Fresh scenes every batch play
 * the role of S1's scene index i ~ U(0, N − 1) over an unbounded N.
 *
 * **Baselines** — the nearest context view (the context camera at the smallest angle from the
 * query camera) and the mean training image.
 *
 * @example
 * ```ts
 * import { Rng } from "../core/random.ts";
 * import { sampleQueryBatch } from "./views.ts";
 * const batch = sampleQueryBatch(new Rng(0), { batch: 4, size: 32, minContext: 1, maxContext: 5 });
 * batch.m;          // context views per scene
 * batch.context;    // Float32Array [B, M, 32, 32, 3]
 * batch.queryV;     // Float32Array [B, 7]
 * ```
 * @module
 */
import type { Rng } from "../core/random.ts";
import { requireKnownKeys } from "../core/validate.ts";
import {
  AMBIENT,
  type Camera,
  DIFFUSE,
  pixelCentres,
  PRIMITIVE_TYPES,
  type Scene,
  type Vec3,
} from "./primitives.ts";
import { cameraFrame, renderScene } from "./render.ts";

export type Rgb = [number, number, number];

/** A scene of the ring-camera set: primitives with their albedos, on a coloured floor. */
export interface RingScene {
  primitives: Scene;
  albedos: Rgb[];
  floor: Rgb;
}

export const FLOOR_Y = -0.35;
export const FLOOR_RADIUS = 1.55;
export const OBJECT_SCALE = 0.4;
export const SKY: Readonly<Rgb> = [0.55, 0.7, 0.9];
/** Towards the light: up, a little to the right and front. */
export const LIGHT: Readonly<Vec3> = normalise([0.4, 1, 0.6]);
export const CAMERA_DISTANCE = 5;
/** Viewpoint vector length (see the module comment for the order). */
export const VIEW_DIM = 7;

const OBJECT_PALETTE: Rgb[] = [
  [0.95, 0.25, 0.2],
  [0.2, 0.8, 0.3],
  [0.25, 0.45, 0.95],
  [0.95, 0.85, 0.2],
  [0.85, 0.3, 0.9],
  [0.2, 0.85, 0.9],
  [0.98, 0.6, 0.2],
  [0.95, 0.95, 0.95],
];
const FLOOR_PALETTE: Rgb[] = [
  [0.45, 0.4, 0.35],
  [0.3, 0.35, 0.3],
  [0.4, 0.4, 0.45],
  [0.5, 0.45, 0.3],
];

function normalise(v: Vec3): Vec3 {
  const n = Math.hypot(v[0], v[1], v[2]);
  return [v[0] / n, v[1] / n, v[2] / n];
}

/** Options of the ring-camera data. */
export interface ViewOptions {
  /** Image side in pixels; default 32. */
  size: number;
  /** Largest number of primitives per scene (1..3 drawn uniformly); default 3. */
  maxPrimitives?: number;
  /** Camera pitch range in radians (looking down); default [0.45, 0.8] (26°–46°). */
  pitch?: [number, number];
}

function checkOptions(o: ViewOptions): { size: number; maxPrimitives: number; pitch: [number, number] } {
  requireKnownKeys(o, ["size", "maxPrimitives", "pitch"], "view option");
  const size = o.size;
  if (!Number.isInteger(size) || size < 4 || size > 512) {
    throw new RangeError(`size must be an integer in 4..512, got ${size}`);
  }
  const maxPrimitives = o.maxPrimitives ?? 3;
  if (!Number.isInteger(maxPrimitives) || maxPrimitives < 1 || maxPrimitives > 3) {
    throw new RangeError(`maxPrimitives must be an integer in 1..3, got ${maxPrimitives}`);
  }
  const pitch = o.pitch ?? [0.45, 0.8];
  if (
    !Array.isArray(pitch) || pitch.length !== 2 || !(pitch[0] > 0) || !(pitch[1] >= pitch[0]) ||
    !(pitch[1] < Math.PI / 2)
  ) {
    throw new RangeError(`pitch must be [lo, hi] with 0 < lo ≤ hi < π/2, got ${JSON.stringify(pitch)}`);
  }
  return { size, maxPrimitives, pitch };
}

/** Draws a scene: n ∈ 1..max primitives on the floor, non-overlapping, with albedos and a floor colour. */
export function sampleRingScene(rng: Rng, maxPrimitives = 3): RingScene {
  const n = rng.int(1, maxPrimitives);
  const primitives: Scene = [];
  const albedos: Rgb[] = [];
  const colours = rng.shuffle([...OBJECT_PALETTE]);
  while (primitives.length < n) {
    const x = rng.uniform(-0.85, 0.85), z = rng.uniform(-0.85, 0.85);
    if (primitives.some((p) => Math.hypot(p.position[0] - x, p.position[2] - z) < 0.9)) continue;
    primitives.push({
      type: PRIMITIVE_TYPES[rng.int(0, 2)],
      position: [x, FLOOR_Y + OBJECT_SCALE, z],
      rotation: [0, rng.uniform(0, Math.PI / 2), 0],
      scale: OBJECT_SCALE,
    });
    albedos.push(colours[primitives.length - 1]);
  }
  return { primitives, albedos, floor: rng.choice(FLOOR_PALETTE) };
}

/** A camera on the ring: yaw ~ U(0, 2π), pitch ~ U(lo, hi). */
export function sampleRingCamera(rng: Rng, pitch: [number, number] = [0.45, 0.8]): Camera {
  return {
    yaw: rng.uniform(0, 2 * Math.PI),
    pitch: rng.uniform(pitch[0], pitch[1]),
    distance: CAMERA_DISTANCE,
  };
}

/** The 7-D viewpoint (w_x, w_y, w_z, cos yaw, sin yaw, cos pitch, sin pitch), written into `out` at `at`. */
export function viewpoint(cam: Camera, out = new Float32Array(VIEW_DIM), at = 0): Float32Array {
  const cp = Math.cos(cam.pitch), sp = Math.sin(cam.pitch), cy = Math.cos(cam.yaw), sy = Math.sin(cam.yaw);
  out[at] = cp * sy;
  out[at + 1] = sp;
  out[at + 2] = cp * cy;
  out[at + 3] = cy;
  out[at + 4] = sy;
  out[at + 5] = cp;
  out[at + 6] = sp;
  return out;
}

/**
 * Where the orthographic ray of image-plane point (x, y) of a camera (`cameraFrame`), q = c + x r + y u + t f,
 * meets the floor plane q_y = FLOOR_Y: its depth t, and whether the point lies on the floor disc
 * x² + z² ≤ FLOOR_RADIUS² (never, for a camera that does not look down).
 */
export function floorHit(
  frame: { c: readonly number[]; r: readonly number[]; u: readonly number[]; f: readonly number[] },
  x: number,
  y: number,
): { t: number; onDisc: boolean } {
  const { c, r, u, f } = frame;
  const o0 = c[0] + x * r[0] + y * u[0], o1 = c[1] + x * r[1] + y * u[1], o2 = c[2] + x * r[2] + y * u[2];
  const t = (FLOOR_Y - o1) / f[1];
  const qx = o0 + t * f[0], qz = o2 + t * f[2];
  return { t, onDisc: f[1] < 0 && qx * qx + qz * qz <= FLOOR_RADIUS * FLOOR_RADIUS };
}

/**
 * Renders `scene` from `cam` as an RGB image [size, size, 3] into `out` at offset `at` (floats):
 * objects albedo × shade, the floor disc its colour × (ambient + diffuse · l_y), the sky elsewhere.
 */
export function renderView(
  scene: RingScene,
  cam: Camera,
  size: number,
  out?: Float32Array,
  at = 0,
): Float32Array {
  const img = out ?? new Float32Array(size * size * 3);
  const { image, ids } = renderScene(scene.primitives, { size, camera: cam, light: LIGHT as Vec3 });
  const frame = cameraFrame(cam);
  const xs = pixelCentres(size);
  const floorShade = AMBIENT + DIFFUSE * Math.max(0, LIGHT[1]);
  for (let i = 0; i < size; i++) {
    const y = xs[size - 1 - i];
    for (let j = 0; j < size; j++) {
      const p = i * size + j, o = at + 3 * p, id = ids[p];
      if (id >= 0) {
        const a = scene.albedos[id], s = image[p];
        img[o] = a[0] * s;
        img[o + 1] = a[1] * s;
        img[o + 2] = a[2] * s;
        continue;
      }
      const floor = floorHit(frame, xs[j], y).onDisc;
      const col = floor ? scene.floor : SKY, k = floor ? floorShade : 1;
      img[o] = col[0] * k;
      img[o + 1] = col[1] * k;
      img[o + 2] = col[2] * k;
    }
  }
  return img;
}

/**
 * One training or test batch (Algorithm S1): B scenes, M context views each and one query view.
 * Images are NHWC floats in [0, 1].
 */
export interface QueryBatch {
  b: number;
  m: number;
  size: number;
  /** Context images [B, M, S, S, 3]. */
  context: Float32Array;
  /** Context viewpoints [B, M, 7]. */
  contextV: Float32Array;
  /** Query images [B, S, S, 3]. */
  query: Float32Array;
  /** Query viewpoints [B, 7]. */
  queryV: Float32Array;
  scenes: RingScene[];
  /** Per scene: the M context cameras, then the query camera. */
  cameras: Camera[][];
}

/** Options of {@link sampleQueryBatch}. */
export interface BatchOptions extends ViewOptions {
  batch: number;
  /** Fewest and most context views; M is drawn once per batch. Default 1 and 5. */
  minContext?: number;
  maxContext?: number;
  /** Use exactly this M (overrides the range). */
  m?: number;
}

/** B fresh scenes with M context views and one query each; M ~ U{minContext..maxContext}. */
export function sampleQueryBatch(rng: Rng, options: BatchOptions): QueryBatch {
  const { batch, minContext = 1, maxContext = 5, m: fixedM, ...view } = options;
  const o = checkOptions(view);
  if (!Number.isInteger(batch) || batch < 1) {
    throw new RangeError(`batch must be a positive integer, got ${batch}`);
  }
  if (!Number.isInteger(minContext) || minContext < 1) {
    throw new RangeError(`minContext must be an integer ≥ 1, got ${minContext}`);
  }
  if (!Number.isInteger(maxContext) || maxContext < minContext || maxContext > 64) {
    throw new RangeError(`maxContext must be an integer in minContext..64, got ${maxContext}`);
  }
  if (fixedM !== undefined && !(Number.isInteger(fixedM) && fixedM >= 1 && fixedM <= 64)) {
    throw new RangeError(`m must be an integer in 1..64, got ${fixedM}`);
  }
  const m = fixedM ?? rng.int(minContext, maxContext);
  const S = o.size, px = S * S * 3;
  const context = new Float32Array(batch * m * px), contextV = new Float32Array(batch * m * VIEW_DIM);
  const query = new Float32Array(batch * px), queryV = new Float32Array(batch * VIEW_DIM);
  const scenes: RingScene[] = [], cameras: Camera[][] = [];
  for (let b = 0; b < batch; b++) {
    const scene = sampleRingScene(rng, o.maxPrimitives);
    const cams = Array.from({ length: m + 1 }, () => sampleRingCamera(rng, o.pitch));
    for (let k = 0; k < m; k++) {
      renderView(scene, cams[k], S, context, (b * m + k) * px);
      viewpoint(cams[k], contextV, (b * m + k) * VIEW_DIM);
    }
    renderView(scene, cams[m], S, query, b * px);
    viewpoint(cams[m], queryV, b * VIEW_DIM);
    scenes.push(scene);
    cameras.push(cams);
  }
  return { b: batch, m, size: S, context, contextV, query, queryV, scenes, cameras };
}

/**
 * A fixed held-out set: for each M in minContext..maxContext, `perM` scenes with M context views
 * (so every context count is scored equally often).
 */
export function sampleTestSet(
  rng: Rng,
  perM: number,
  options: Omit<BatchOptions, "batch" | "m">,
): QueryBatch[] {
  const lo = options.minContext ?? 1, hi = options.maxContext ?? 5;
  const out: QueryBatch[] = [];
  for (let m = lo; m <= hi; m++) out.push(sampleQueryBatch(rng.child(m), { ...options, batch: perM, m }));
  return out;
}

/** Index of the context camera closest in angle to the query camera, per scene. */
export function nearestContext(batch: QueryBatch): Int32Array {
  const out = new Int32Array(batch.b);
  for (let b = 0; b < batch.b; b++) {
    const q = batch.queryV.subarray(b * VIEW_DIM, b * VIEW_DIM + 3);
    let best = -Infinity;
    for (let k = 0; k < batch.m; k++) {
      const at = (b * batch.m + k) * VIEW_DIM;
      const dot = q[0] * batch.contextV[at] + q[1] * batch.contextV[at + 1] + q[2] * batch.contextV[at + 2];
      if (dot > best) {
        best = dot;
        out[b] = k;
      }
    }
  }
  return out;
}

/** The nearest-view baseline's predictions [B, S, S, 3]: the closest context image, copied. */
export function nearestViewPrediction(batch: QueryBatch): Float32Array {
  const px = batch.size * batch.size * 3, out = new Float32Array(batch.b * px), near = nearestContext(batch);
  for (let b = 0; b < batch.b; b++) {
    const at = (b * batch.m + near[b]) * px;
    out.set(batch.context.subarray(at, at + px), b * px);
  }
  return out;
}

/** The mean of `n` training views (fresh scenes, one random camera each), [S, S, 3]. */
export function meanTrainingImage(rng: Rng, n: number, options: ViewOptions): Float32Array {
  const o = checkOptions(options);
  const px = o.size * o.size * 3, sum = new Float64Array(px), img = new Float32Array(px);
  for (let i = 0; i < n; i++) {
    renderView(sampleRingScene(rng, o.maxPrimitives), sampleRingCamera(rng, o.pitch), o.size, img);
    for (let p = 0; p < px; p++) sum[p] += img[p];
  }
  return Float32Array.from(sum, (v) => v / n);
}

/** Mean squared error per pixel channel between predictions and the batch's query images. */
export function queryMse(batch: QueryBatch, prediction: Float32Array): number {
  const px = batch.size * batch.size * 3;
  if (prediction.length !== batch.b * px && prediction.length !== px) {
    throw new RangeError(`prediction must hold ${batch.b}×${px} or ${px} floats, got ${prediction.length}`);
  }
  const shared = prediction.length === px;
  let se = 0;
  for (let i = 0; i < batch.query.length; i++) se += (batch.query[i] - prediction[shared ? i % px : i]) ** 2;
  return se / batch.query.length;
}

/** What a view shows at each pixel: the primitive (id ≥ 0), the floor (−1) or the sky (−2), and where in the world. */
export interface ViewGeometry {
  /** Per pixel: primitive index, {@link FLOOR_ID} or {@link SKY_ID}. */
  ids: Int16Array;
  /** Per pixel: depth along the camera's view axis (+∞ on the sky). */
  depth: Float32Array;
  /** Per pixel: the world point shown, [S·S, 3] (NaN on the sky). */
  points: Float32Array;
}

export const FLOOR_ID = -1;
export const SKY_ID = -2;

/** The geometry behind {@link renderView}'s image: per-pixel ids, depth and world points. */
export function viewGeometry(scene: RingScene, cam: Camera, size: number): ViewGeometry {
  const r0 = renderScene(scene.primitives, { size, camera: cam });
  const frame = cameraFrame(cam), { c, r, u, f } = frame;
  const xs = pixelCentres(size), n = size * size;
  const ids = Int16Array.from(r0.ids), depth = Float32Array.from(r0.depth), points = new Float32Array(n * 3);
  for (let i = 0; i < size; i++) {
    const y = xs[size - 1 - i];
    for (let j = 0; j < size; j++) {
      const p = i * size + j, x = xs[j];
      // The pixel's ray q = c + x r + y u + t f (orthographic).
      const o = [c[0] + x * r[0] + y * u[0], c[1] + x * r[1] + y * u[1], c[2] + x * r[2] + y * u[2]];
      let t = depth[p];
      if (ids[p] < 0) {
        const hit = floorHit(frame, x, y);
        ids[p] = hit.onDisc ? FLOOR_ID : SKY_ID;
        depth[p] = t = hit.onDisc ? hit.t : Infinity;
      }
      for (let k = 0; k < 3; k++) points[p * 3 + k] = Number.isFinite(t) ? o[k] + t * f[k] : NaN;
    }
  }
  return { ids, depth, points };
}

/**
 * Which pixels of a query view some context view also saw: the query pixel's world point, projected
 * into each context camera, lands where the context's own depth (nearest of the 3×3 pixels around)
 * agrees within `tolerance` — default one pixel's width, as a grazing floor's depth changes that much
 * from pixel to pixel — so nothing hides it there. Sky pixels are never "seen" (they have no point).
 * 1 = seen, 0 = unseen.
 */
export function seenByContext(
  query: ViewGeometry,
  contexts: { cam: Camera; geometry: ViewGeometry }[],
  size: number,
  tolerance?: number,
): Uint8Array {
  const n = size * size, out = new Uint8Array(n), xs = pixelCentres(size);
  const step = size > 1 ? xs[1] - xs[0] : 1, tol = tolerance ?? step;
  const frames = contexts.map(({ cam }) => cameraFrame(cam));
  for (let p = 0; p < n; p++) {
    if (query.ids[p] === SKY_ID) continue;
    const q = [query.points[p * 3], query.points[p * 3 + 1], query.points[p * 3 + 2]];
    for (let k = 0; k < contexts.length && !out[p]; k++) {
      const { c, r, u, f } = frames[k], d = [q[0] - c[0], q[1] - c[1], q[2] - c[2]];
      const x = d[0] * r[0] + d[1] * r[1] + d[2] * r[2], y = d[0] * u[0] + d[1] * u[1] + d[2] * u[2];
      const z = d[0] * f[0] + d[1] * f[1] + d[2] * f[2];
      const j = Math.round((x - xs[0]) / step), i = size - 1 - Math.round((y - xs[0]) / step);
      if (i < 0 || i >= size || j < 0 || j >= size) continue;
      const depth = contexts[k].geometry.depth;
      for (let di = -1; di <= 1 && !out[p]; di++) {
        for (let dj = -1; dj <= 1; dj++) {
          const ii = i + di, jj = j + dj;
          if (ii < 0 || ii >= size || jj < 0 || jj >= size) continue;
          if (Math.abs(depth[ii * size + jj] - z) <= tol) {
            out[p] = 1;
            break;
          }
        }
      }
    }
  }
  return out;
}
