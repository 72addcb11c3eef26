/**
 * A second opinion from the same network: its proposal for the image mirrored left–right, mirrored
 * back. The task is symmetric under the reflection x ↦ −x (the camera at its default pose looks down
 * the z axis and the light comes from the camera, so the mirror image of a scene renders as the
 * mirror image of its picture; each primitive is its own mirror image), but the network is not: on
 * the mirrored image it errs elsewhere. The refinement fits from this proposal unless the fit from the
 * image itself is settled — it explains the image, added no object, and this proposal counts as many
 * (`fitFromStarts` in `fit.ts`) — a restart that costs one more network pass.
 *
 * The reflection F = diag(−1, 1, 1) takes an object at image-plane (u, v) with rotation R to (−u, v)
 * with rotation F·R·F (a proper rotation again: the primitive reflected, which is the same primitive).
 *
 * @example
 * ```ts
 * import { mirrorImages, mirrorObject } from "./mirror.ts";
 * import { eulerZYX } from "../scenes/primitives.ts";
 * const mirrored = mirrorImages(Float32Array.from([1, 2, 3, 4]), 1, 2); // [2, 1, 4, 3]
 * const o = mirrorObject({ type: 1, u: 0.3, v: -0.2, z: 0.1, R: eulerZYX(0.4, 0, 0) });
 * o.u; // -0.3
 * ```
 * @module
 */
import type { FitObject } from "./fit.ts";

/** Images `0..n−1` of a flat batch (size×size each, row-major) mirrored left–right, as a new batch. */
export function mirrorImages(images: Float32Array, n: number, size: number): Float32Array {
  if (images.length < n * size * size) {
    throw new RangeError(`images must hold ${n} images of ${size}×${size}, got ${images.length} values`);
  }
  const out = new Float32Array(n * size * size);
  for (let row = 0; row < n * size; row++) {
    const at = row * size;
    for (let j = 0; j < size; j++) out[at + j] = images[at + size - 1 - j];
  }
  return out;
}

/** An object mirrored through the plane x = 0: u ↦ −u, R ↦ F·R·F with F = diag(−1, 1, 1). */
export function mirrorObject(o: FitObject): FitObject {
  const R = Float64Array.from(o.R);
  // (F R F)_ij = f_i f_j R_ij: the entries in row 0 or column 0, but not both, change sign.
  for (const k of [1, 2, 3, 6]) R[k] = -R[k];
  return { ...o, u: -o.u, R };
}
