/**
 * The camera of an AIR-3D run, as the models meet it: which camera renders the images, the dataset as a
 * model sees it (each object's (x, y) where the camera shows its centre), predictions taken back to
 * world coordinates along their pixel rays, and the floor under the z error.
 *
 * @example
 * ```ts
 * import { asSeen, cameraOf } from "./camera.ts";
 * import { sampleSlotDataset } from "../scenes/scenes3d.ts";
 * import { Rng } from "../core/random.ts";
 * const camera = cameraOf({ camera: "perspective" });
 * const seen = asSeen(sampleSlotDataset(new Rng(0), 4, { size: 32, maxPrimitives: 3, camera }), camera);
 * ```
 * @module
 */
import { type Camera, DEFAULT_CAMERA } from "../scenes/primitives.ts";
import { projectPoint, unprojectAtZ } from "../scenes/render.ts";
import type { SlotDataset } from "../scenes/scenes3d.ts";
import type { SlotPrediction } from "../metrics/slots.ts";
import type { Air3dConfig } from "./train.ts";

/** The render options' camera of a run's config (undefined: the renderer's default, orthographic). */
export function cameraOf(c: Pick<Air3dConfig, "camera">): Camera | undefined {
  return c.camera === "perspective" ? { ...DEFAULT_CAMERA, projection: "perspective" } : undefined;
}

/**
 * The dataset as a model sees it: each object's (x, y) replaced by where the camera shows its centre
 * (image-plane coordinates, `projectPoint`), z kept. Orthographic: the same numbers, so the same
 * dataset comes back; perspective: (x, y)·d / (d − z) at the default pose, so the grid's cells and
 * the glimpses point where the object is in the image.
 */
export function asSeen(d: SlotDataset, camera: Camera | undefined): SlotDataset {
  if (!camera || camera.projection !== "perspective") return d;
  const position = d.position.slice();
  for (let i = 0; i < d.n * d.maxSlots; i++) {
    if (!(d.presence[i] > 0)) continue;
    const [x, y] = projectPoint([position[i * 3], position[i * 3 + 1], position[i * 3 + 2]], camera);
    position[i * 3] = x;
    position[i * 3 + 1] = y;
  }
  return { ...d, position };
}

/** Predictions made in image-plane (x, y) back in world coordinates: each slot on its pixel ray at its predicted z. */
export function toWorld(predictions: SlotPrediction[][], camera: Camera | undefined): SlotPrediction[][] {
  if (!camera || camera.projection !== "perspective") return predictions;
  return predictions.map((slots) =>
    slots.map((s) => {
      const [x, y] = unprojectAtZ(s.position[0], s.position[1], s.position[2], camera);
      return { ...s, position: [x, y, s.position[2]] as [number, number, number] };
    })
  );
}

/**
 * The floor under the z error: the MAE of predicting every object's z as the mean z of the scenes'
 * objects (what a model that cannot see depth achieves; ≈ 0.15 for z ~ U(−0.3, 0.3)).
 */
export function zFloorMae(d: Pick<SlotDataset, "n" | "maxSlots" | "presence" | "position">): number {
  const zs: number[] = [];
  for (let i = 0; i < d.n * d.maxSlots; i++) if (d.presence[i] > 0) zs.push(d.position[i * 3 + 2]);
  const mean = zs.reduce((a, z) => a + z, 0) / Math.max(1, zs.length);
  return zs.reduce((a, z) => a + Math.abs(z - mean), 0) / Math.max(1, zs.length);
}
