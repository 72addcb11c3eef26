/**
 * How close the rendering of what a model read comes to the image it read: the mean squared error per
 * pixel between each image and the render of its predicted scene (slots above presence ½, at their
 * world positions and Euler angles). The unsupervised CLI reports it for the guide, the supervised CLI
 * for the network and the refinement, so the two stand side by side.
 *
 * @example
 * ```ts
 * import { reconstructionMse } from "./reconstruction.ts";
 * const blank = new Float32Array(16 * 16);
 * reconstructionMse(blank, [[]], 16, undefined); // 0: nothing read, nothing there
 * ```
 * @module
 */
import { type Camera, PRIMITIVE_TYPES, type Scene } from "../scenes/primitives.ts";
import { Rasteriser, renderBatch } from "../scenes/render.ts";
import type { SlotPrediction } from "../metrics/slots.ts";
import { viewLight } from "./orbit.ts";

/** The scene a slot prediction describes: its slots above presence ½, at their positions and Euler angles. */
export function predictedScene(slots: readonly SlotPrediction[]): Scene {
  return slots.filter((s) => s.presence > 0.5).map((s) => ({
    type: PRIMITIVE_TYPES[s.type],
    position: [...s.position],
    rotation: [...s.euler],
  }));
}

/**
 * The renderings of `predictions` (size² values each) under `camera`; with `yaw` (the orbit camera's
 * angle per image), each in the light its camera sees.
 */
export function renderPredictions(
  predictions: readonly SlotPrediction[][],
  size: number,
  camera: Camera | undefined,
  yaw?: Float32Array,
): Float32Array {
  const scenes = predictions.map(predictedScene), px = size * size;
  if (!yaw) return renderBatch(scenes, { size, ...(camera ? { camera } : {}) }).images;
  const raster = new Rasteriser({ size, ...(camera ? { camera } : {}) });
  const r = new Float32Array(scenes.length * px);
  scenes.forEach((scene, b) => {
    raster.setLight(viewLight(yaw[b]));
    raster.draw(scene, r.subarray(b * px, (b + 1) * px));
  });
  return r;
}

/**
 * Mean squared error per pixel between `images` (size² values each, one per prediction) and the
 * renderings of `predictions` under `camera` (undefined: the renderer's default, orthographic).
 * `yaw`: the orbit camera's angle per image (`orbit.ts`): the predictions are then in its view's
 * coordinates and each is rendered in the light that camera sees.
 */
export function reconstructionMse(
  images: Float32Array,
  predictions: readonly SlotPrediction[][],
  size: number,
  camera: Camera | undefined,
  yaw?: Float32Array,
): number {
  const px = size * size;
  if (images.length < predictions.length * px) {
    throw new RangeError(
      `images must hold ${predictions.length} images of ${size}×${size} values, got ${images.length} values`,
    );
  }
  if (yaw && yaw.length < predictions.length) {
    throw new RangeError(`yaw must hold one angle per prediction (${predictions.length}), got ${yaw.length}`);
  }
  const r = renderPredictions(predictions, size, camera, yaw);
  let e = 0;
  for (let i = 0; i < r.length; i++) e += (r[i] - images[i]) ** 2;
  return e / r.length;
}
