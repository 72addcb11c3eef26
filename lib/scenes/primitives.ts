/**
 * The scenes of AIR's 3D-primitives task (AIR §3.2): up to three primitives — sphere, cube,
 * cylinder — each with a position, a scale and ZYX Euler angles R = Rz(α)·Ry(β)·Rx(γ); the camera
 * pose on an orbit; their checks (errors name the field); and the reproduction's scene sampler.
 *
 * @example
 * ```ts
 * import { sampleScene, validatePrimitive } from "./primitives.ts";
 * import { Rng } from "../core/random.ts";
 * const scene = sampleScene(new Rng(0), { maxPrimitives: 3 });
 * scene.forEach((p, i) => validatePrimitive(p, `scene[${i}]`));
 * ```
 * @module
 */
import type { Rng } from "../core/random.ts";
import { requireKnownKeys } from "../core/validate.ts";

/** The three primitive types, in the reproduction's order (their index is the type label). */
export const PRIMITIVE_TYPES = ["sphere", "cube", "cylinder"] as const;
export type PrimitiveType = typeof PRIMITIVE_TYPES[number];
export type Vec3 = [number, number, number];

/** One primitive of a scene. */
export interface Primitive {
  type: PrimitiveType;
  /** World position of the centre. */
  position: Vec3;
  /** ZYX Euler angles [α, β, γ] in radians: R = Rz(α)·Ry(β)·Rx(γ). */
  rotation: Vec3;
  /** Uniform scale of the unit primitive; default {@link DEFAULT_SCALE}. */
  scale?: number;
}
export type Scene = Primitive[];

/** A camera on an orbit around the origin, always looking at the origin. */
export interface Camera {
  /** Turn about the world y axis, radians; 0 puts the camera on +z. */
  yaw: number;
  /** Elevation above the xz-plane, radians, in (−π/2, π/2). */
  pitch: number;
  /** Distance from the origin (> 0). */
  distance: number;
  /**
   * "orthographic" (the default, the reproduction's camera: parallel rays, the image plane
   * [−1.6, 1.6]²) or "perspective" (a pinhole at the camera: rays fan out, so an object's size in the
   * image falls as 1 / its distance — what makes depth visible, as in the paper's MuJoCo renders).
   */
  projection?: "orthographic" | "perspective";
  /** The perspective camera's full field of view across the image, degrees; default {@link DEFAULT_FOV_DEG}. */
  fovDeg?: number;
}

export const DEFAULT_SCALE = 0.4;
/** The reproduction's camera: at z = +5 looking down −z. */
export const DEFAULT_CAMERA: Readonly<Camera> = { yaw: 0, pitch: 0, distance: 5 };
/** Half-width of the square image plane. */
export const VIEW_HALF_WIDTH = 1.6;
/**
 * The perspective camera's default field of view, 2·atan(1.6 / 5) ≈ 35.5°: from the default pose the
 * plane z = 0 fills the image exactly as the orthographic view does, so an object at the origin
 * keeps its size and nearer ones grow.
 */
export const DEFAULT_FOV_DEG = (2 * Math.atan(VIEW_HALF_WIDTH / DEFAULT_CAMERA.distance) * 180) / Math.PI;
export const AMBIENT = 0.15;
export const DIFFUSE = 0.85;

export interface RenderOptions {
  /** Image side in pixels (integer ≥ 1). */
  size: number;
  camera?: Camera;
  /** Direction towards the light (normalised here); default [0, 0, 1]. "camera" lights along the view. */
  light?: Vec3 | "camera";
}

/** One rendered view. `ids` is −1 on background; `depth` is +∞ on background. */
export interface Rendering {
  size: number;
  image: Float32Array;
  ids: Int16Array;
  depth: Float32Array;
}

/** A batch rendered into flat arrays, image k at offset k·size². */
export interface BatchRendering {
  n: number;
  size: number;
  images: Float32Array;
  ids?: Int16Array;
  depth?: Float32Array;
}

/** The rotation R = Rz(α)·Ry(β)·Rx(γ) as a row-major 3×3 array. */
export function eulerZYX(alpha: number, beta: number, gamma: number): Float64Array {
  const ca = Math.cos(alpha), sa = Math.sin(alpha);
  const cb = Math.cos(beta), sb = Math.sin(beta);
  const cg = Math.cos(gamma), sg = Math.sin(gamma);
  return Float64Array.of(
    ca * cb,
    ca * sb * sg - sa * cg,
    ca * sb * cg + sa * sg,
    sa * cb,
    sa * sb * sg + ca * cg,
    sa * sb * cg - ca * sg,
    -sb,
    cb * sg,
    cb * cg,
  );
}

/** A rotation by `angle` about world axis 0 (x), 1 (y) or 2 (z), row-major. */
export function axisRotation(axis: number, angle: number): Float64Array {
  const c = Math.cos(angle), s = Math.sin(angle);
  if (axis === 0) return Float64Array.of(1, 0, 0, 0, c, -s, 0, s, c);
  if (axis === 1) return Float64Array.of(c, 0, s, 0, 1, 0, -s, 0, c);
  return Float64Array.of(c, -s, 0, s, c, 0, 0, 0, 1);
}

/** A rotation by `angle` about `axis` (any non-zero vector; Rodrigues: I + sin θ [a]× + (1 − cos θ) [a]×²). */
export function rotationAbout(axis: ArrayLike<number>, angle: number): Float64Array {
  const n = Math.hypot(axis[0], axis[1], axis[2]), x = axis[0] / n, y = axis[1] / n, z = axis[2] / n;
  const c = Math.cos(angle), s = Math.sin(angle), t = 1 - c;
  return Float64Array.of(
    t * x * x + c,
    t * x * y - s * z,
    t * x * z + s * y,
    t * x * y + s * z,
    t * y * y + c,
    t * y * z - s * x,
    t * x * z - s * y,
    t * y * z + s * x,
    t * z * z + c,
  );
}

/** exp([w]×): the rotation by |w| about w (the identity for w = 0), row-major. */
export function expRotation(w: ArrayLike<number>): Float64Array {
  const t = Math.hypot(w[0], w[1], w[2]);
  return t < 1e-12 ? Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1) : rotationAbout(w, t);
}

/** Pixel-centre coordinates `linspace(−1.6, 1.6, size)` (numpy's convention: `[−1.6]` when size is 1). */
export function pixelCentres(size: number): Float64Array {
  const xs = new Float64Array(size);
  const step = size > 1 ? (2 * VIEW_HALF_WIDTH) / (size - 1) : 0;
  for (let j = 0; j < size; j++) xs[j] = -VIEW_HALF_WIDTH + j * step;
  return xs;
}

// ---------------------------------------------------------------- validation

export function finite(x: unknown, field: string): number {
  if (typeof x !== "number" || !Number.isFinite(x)) {
    throw new RangeError(`${field} must be a finite number, got ${String(x)}`);
  }
  return x;
}

export function vec3(v: unknown, field: string): Vec3 {
  if (!Array.isArray(v) && !ArrayBuffer.isView(v)) {
    throw new TypeError(`${field} must be an array of 3 numbers`);
  }
  const a = v as ArrayLike<unknown>;
  if (a.length !== 3) throw new RangeError(`${field} must have 3 entries, got ${a.length}`);
  return [finite(a[0], `${field}[0]`), finite(a[1], `${field}[1]`), finite(a[2], `${field}[2]`)];
}

/** The largest scale a primitive may have: ten times the view's width (beyond it nothing is drawn). */
export const MAX_SCALE = 32;

/** Throws naming the key when `obj` has one not in `known` (a misspelling like `scal` or `sise`). */
function onlyKeys(obj: object, known: readonly string[], field: string): void {
  for (const k in obj) {
    if (!known.includes(k)) {
      throw new RangeError(`${field} has an unknown key ${JSON.stringify(k)}; allowed: ${known.join(", ")}`);
    }
  }
}
const PRIMITIVE_KEYS = ["type", "position", "rotation", "scale"] as const;
const CAMERA_KEYS = ["yaw", "pitch", "distance", "projection", "fovDeg"] as const;
/** The keys a render call's options may have. */
const RENDER_OPTION_KEYS = ["size", "camera", "light", "ids", "depth", "out"] as const;

/** Throws naming the key when render options have one the renderer does not know. */
export function validateRenderOptionKeys(options: object): void {
  onlyKeys(options, RENDER_OPTION_KEYS, "options");
}

/** Throws an error naming the field when a primitive is malformed. */
export function validatePrimitive(p: Primitive, field = "primitive"): void {
  if (p === null || typeof p !== "object") throw new TypeError(`${field} must be an object`);
  onlyKeys(p, PRIMITIVE_KEYS, field);
  if (!(PRIMITIVE_TYPES as readonly string[]).includes(p.type)) {
    throw new RangeError(
      `${field}.type must be one of ${PRIMITIVE_TYPES.join(", ")}, got ${JSON.stringify(p.type)}`,
    );
  }
  vec3(p.position, `${field}.position`);
  vec3(p.rotation, `${field}.rotation`);
  if (p.scale !== undefined && !(finite(p.scale, `${field}.scale`) > 0 && p.scale <= MAX_SCALE)) {
    throw new RangeError(`${field}.scale must be in (0, ${MAX_SCALE}], got ${p.scale}`);
  }
}

/** Throws an error naming the field when a camera is malformed. */
export function validateCamera(c: Camera, field = "camera"): void {
  if (c === null || typeof c !== "object") throw new TypeError(`${field} must be an object`);
  onlyKeys(c, CAMERA_KEYS, field);
  finite(c.yaw, `${field}.yaw`);
  if (!(Math.abs(finite(c.pitch, `${field}.pitch`)) < Math.PI / 2)) {
    throw new RangeError(`${field}.pitch must be in (−π/2, π/2), got ${c.pitch}`);
  }
  if (!(finite(c.distance, `${field}.distance`) > 0)) {
    throw new RangeError(`${field}.distance must be > 0, got ${c.distance}`);
  }
  if (c.projection !== undefined && c.projection !== "orthographic" && c.projection !== "perspective") {
    throw new RangeError(
      `${field}.projection must be "orthographic" or "perspective", got ${JSON.stringify(c.projection)}`,
    );
  }
  if (c.fovDeg !== undefined && !(finite(c.fovDeg, `${field}.fovDeg`) > 0 && c.fovDeg < 180)) {
    throw new RangeError(`${field}.fovDeg must be in (0, 180), got ${c.fovDeg}`);
  }
}

export function validateSize(size: unknown): number {
  if (typeof size !== "number" || !Number.isInteger(size) || size < 1 || size > 4096) {
    throw new RangeError(`size must be an integer in 1..4096, got ${String(size)}`);
  }
  return size;
}
// ---------------------------------------------------------------- scene sampling

export interface SampleOptions {
  /** Largest number of primitives (≥ 1); default 3. */
  maxPrimitives?: number;
  /** Allow scenes with no primitive (n ∈ 0..max instead of 1..max); default false. */
  allowEmpty?: boolean;
  /** Scale of every primitive; default 0.4. */
  scale?: number;
}

/** The ranges of the world x, y and z of a primitive's centre in {@link sampleScene} (the reproduction's). */
export const POSITION_RANGE: readonly (readonly [number, number])[] = [[-0.9, 0.9], [-0.9, 0.9], [-0.3, 0.3]];

/**
 * Samples a scene as the reproduction does: n ∈ 1..max uniformly (0..max with
 * `allowEmpty`), type uniform, x, y ~ U(−0.9, 0.9), z ~ U(−0.3, 0.3), Euler angles
 * ~ U(0, π); primitives sorted by x (the reproduction's slot order).
 */
export function sampleScene(rng: Rng, options: SampleOptions = {}): Scene {
  requireKnownKeys(options, ["maxPrimitives", "allowEmpty", "scale"], "sample option");
  const max = options.maxPrimitives ?? 3;
  if (!Number.isInteger(max) || max < 1 || max > 32767) {
    throw new RangeError(`maxPrimitives must be an integer in 1..32767, got ${max}`);
  }
  const scale = options.scale ?? DEFAULT_SCALE;
  if (!(finite(scale, "scale") > 0)) throw new RangeError(`scale must be > 0, got ${scale}`);
  const n = rng.int(options.allowEmpty ? 0 : 1, max);
  const scene: Scene = [];
  for (let k = 0; k < n; k++) {
    const type = PRIMITIVE_TYPES[rng.int(0, 2)];
    const [x, y, z] = POSITION_RANGE;
    const position: Vec3 = [rng.uniform(x[0], x[1]), rng.uniform(y[0], y[1]), rng.uniform(z[0], z[1])];
    const rotation: Vec3 = [rng.uniform(0, Math.PI), rng.uniform(0, Math.PI), rng.uniform(0, Math.PI)];
    scene.push(scale === DEFAULT_SCALE ? { type, position, rotation } : { type, position, rotation, scale });
  }
  return scene.sort((a, b) => a.position[0] - b.position[0]);
}

/** `count` scenes from {@link sampleScene}. */
export function samplePrimitiveScenes(rng: Rng, count: number, options: SampleOptions = {}): Scene[] {
  if (!Number.isInteger(count) || count < 0) {
    throw new RangeError(`count must be an integer >= 0, got ${count}`);
  }
  return Array.from({ length: count }, () => sampleScene(rng, options));
}
