/**
 * The orbit camera (paper App. I): each scene is photographed from a camera turned by a random angle
 * θ ~ U(−40°, 40°) about the vertical from the central pose, the light staying where it is in the
 * world. Seen from the camera, that is the central camera looking at the scene turned by −θ, lit from
 * a light turned by −θ: with M the world → view rotation (rows r, u, −f of the camera's frame),
 *
 *     render(scene, camera(θ), light l) = render(M·scene, central camera, light M·l),
 *
 * so a guide can read each object where the camera shows it (as with the fixed camera) and the camera
 * angle only through the light: z_cam sets l_view(θ) = M(θ)·(0, 0, 1) = (−sin θ, 0, cos θ). The
 * datasets here are rendered that way, and a test checks the identity against the orbit camera itself.
 *
 * @example
 * ```ts
 * import { sampleOrbitDataset, viewLight } from "./orbit.ts";
 * import { Rng } from "../core/random.ts";
 * const d = sampleOrbitDataset(new Rng(0), 4, { size: 32, maxPrimitives: 3 });
 * d.yaw.length; // 4: each scene's camera angle (radians)
 * viewLight(0); // [0, 0, 1]: the central camera is lit along its view
 * ```
 * @module
 */
import type { Rng } from "../core/random.ts";
import { type Camera, DEFAULT_CAMERA, samplePrimitiveScenes, type Scene } from "../scenes/primitives.ts";
import { cameraFrame, Rasteriser } from "../scenes/render.ts";
import { type SlotDataset, slotDataset } from "../scenes/scenes3d.ts";
import { eulerFromMatrix, matMul3 } from "../metrics/slots.ts";
import { eulerZYX } from "../scenes/primitives.ts";

/** The orbit's half-range in degrees: the camera turns up to this far either way from the central pose. */
export const ORBIT_YAW_DEG = 40;

/** The central camera (the reproduction's pose, or its perspective version) turned by `yaw` radians. */
export function orbitCamera(yaw: number, base: Camera = DEFAULT_CAMERA): Camera {
  return { ...base, yaw: base.yaw + yaw };
}

/** M: world → view coordinates of `camera` (row-major rows r, u, −f), as the central camera sees them. */
export function viewMatrix(camera: Camera): Float64Array {
  const { r, u, f } = cameraFrame(camera);
  return Float64Array.of(...r, ...u, -f[0], -f[1], -f[2]);
}

/** The light as a camera turned by `yaw` sees it: M(θ)·(0, 0, 1) = (−sin θ, 0, cos θ). */
export function viewLight(yaw: number): [number, number, number] {
  return [-Math.sin(yaw) + 0, 0, Math.cos(yaw)];
}

/** `scene` as `camera` sees it, in the central camera's coordinates: centres M·p, rotations M·R; sorted by x. */
export function toView(scene: Scene, camera: Camera): Scene {
  const M = viewMatrix(camera);
  const apply = (p: readonly number[]) =>
    [0, 1, 2].map((k) => M[k * 3] * p[0] + M[k * 3 + 1] * p[1] + M[k * 3 + 2] * p[2]) as [
      number,
      number,
      number,
    ];
  return scene
    .map((p) => ({
      ...p,
      position: apply(p.position),
      rotation: eulerFromMatrix(matMul3(M, eulerZYX(...p.rotation))),
    }))
    .sort((a, b) => a.position[0] - b.position[0]);
}

/** Options of {@link sampleOrbitDataset}. */
export interface OrbitDataOptions {
  size: number;
  maxPrimitives: number;
  /** The central camera (default: the reproduction's orthographic one). */
  camera?: Camera;
  /** The orbit's half-range, degrees (default {@link ORBIT_YAW_DEG}). */
  maxYawDeg?: number;
}

/**
 * `n` random scenes, each photographed from the orbit camera at its own angle θ ~ U(−max, max): the
 * images as that camera sees them, with the slot targets in the view's coordinates (what the camera
 * shows: the centres and rotations turned by M(θ)), and θ per scene in `yaw` (radians).
 */
export function sampleOrbitDataset(
  rng: Rng,
  n: number,
  options: OrbitDataOptions,
): SlotDataset & { yaw: Float32Array } {
  const { size, maxPrimitives, camera = DEFAULT_CAMERA, maxYawDeg = ORBIT_YAW_DEG } = options;
  if (!(maxYawDeg >= 0 && maxYawDeg < 90)) {
    throw new RangeError(`maxYawDeg must be in [0, 90), got ${maxYawDeg}`);
  }
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be an integer ≥ 1, got ${n}`);
  // Drawn from rng's own stream (not a named child), so that each call gives new scenes: a stream of batches.
  const world = samplePrimitiveScenes(rng, n, { maxPrimitives }), max = (maxYawDeg * Math.PI) / 180;
  const yaw = Float32Array.from({ length: n }, () => rng.uniform(-max, max));
  const views = world.map((scene, b) => toView(scene, orbitCamera(yaw[b], camera)));
  const central = { ...camera, yaw: camera.yaw };
  const d = slotDataset(views, { size, maxSlots: maxPrimitives, camera: central });
  // The ids and targets do not depend on the light; the images do: each scene lit as its camera sees it.
  const raster = new Rasteriser({ size, camera: central }), px = size * size;
  views.forEach((scene, b) => {
    raster.setLight(viewLight(yaw[b]));
    raster.draw(scene, d.images.subarray(b * px, (b + 1) * px));
  });
  return { ...d, yaw };
}
