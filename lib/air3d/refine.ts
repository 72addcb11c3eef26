/**
 * Counting by analysis-by-synthesis — AIR-3D's renderer used at test time, as inverse graphics
 * suggests: the network proposes objects (slots ranked by presence, each with its type and pose),
 * and the number kept is the one whose re-rendering explains the image best,
 *
 *     n* = argmin_n  min_{depth orders}  ‖x − render(top-n slots)‖²  +  λ·n,
 *
 * an MDL-style trade: an object is kept when it removes more than λ of squared error. Depth is
 * not observable here (orthographic camera, light from the camera), so the predicted z says
 * nothing about which object occludes which; every depth order of the kept objects is tried
 * (n ≤ 3: at most 6) and the best one counts. λ is chosen on validation scenes
 * ({@link calibrateLambda}), never on the test scenes.
 *
 * @example
 * ```ts
 * import { chooseCounts, countCosts } from "./refine.ts";
 * // costs[b][n] = least squared error of image b re-rendered with its n most present slots
 * // const costs = countCosts(images, predictions, { size: 64 });
 * // const counts = chooseCounts(costs, 8, 1);
 * ```
 * @module
 */
import { type Camera, PRIMITIVE_TYPES, type Scene } from "../scenes/primitives.ts";
import { renderBatch } from "../scenes/render.ts";
import { permutations, type SlotPrediction } from "../metrics/slots.ts";

/** Candidate λ values of {@link calibrateLambda} (squared error, in pixel-intensity² units). */
export const LAMBDAS = [0, 1, 2, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128];

/** Slots below this presence are never kept (they are not read in detail by the models). */
export const MIN_PRESENCE = 0.1;

/**
 * The depths given to the kept objects, front to back, for one depth order: far enough apart
 * that no two interpenetrate (a primitive reaches at most √3·0.4 ≈ 0.7 from its centre).
 */
const DEPTHS = [3, 1.5, 0, -1.5, -3, -4.5];

/**
 * costs[b][n] for n = 0..K: the least squared error between image b and the rendering of its n
 * most present slots, over their depth orders (Infinity where the n-th slot's presence is below
 * {@link MIN_PRESENCE}).
 */
export function countCosts(
  images: Float32Array,
  predictions: SlotPrediction[][],
  options: { size: number; camera?: Camera },
): number[][] {
  const { size, camera } = options, px = size * size;
  // Orthographic: z is not seen, so each depth order of the proposed slots is tried; perspective:
  // the proposed z places each slot (its size in the image depends on it).
  const perspective = camera?.projection === "perspective";
  if (images.length < predictions.length * px) {
    throw new RangeError(`images must hold ${predictions.length} images of ${size}×${size}`);
  }
  return predictions.map((slots, b) => {
    const image = images.subarray(b * px, (b + 1) * px);
    const ranked = [...slots].sort((p, q) => q.presence - p.presence);
    const costs = [image.reduce((a, v) => a + v * v, 0)];
    for (let n = 1; n <= ranked.length; n++) {
      if (ranked[n - 1].presence < MIN_PRESENCE) {
        costs.push(Infinity);
        continue;
      }
      const orders = perspective ? [[...Array(n).keys()]] : permutations(n);
      const scenes: Scene[] = orders.map((order) =>
        order.map((k, rank) => {
          const p = ranked[k];
          return {
            type: PRIMITIVE_TYPES[p.type],
            position: [p.position[0], p.position[1], perspective ? p.position[2] : DEPTHS[rank]],
            rotation: p.euler,
          };
        })
      );
      const { images: rendered } = renderBatch(scenes, { size, ...(camera ? { camera } : {}) });
      let best = Infinity;
      for (let s = 0; s < scenes.length; s++) {
        let e = 0;
        for (let i = 0; i < px; i++) e += (rendered[s * px + i] - image[i]) ** 2;
        best = Math.min(best, e);
      }
      costs.push(best);
    }
    return costs;
  });
}

/** n* = argmin_n costs[n] + λ·n over n ≥ `minCount` (ties: the smaller n). */
export function chooseCounts(costs: number[][], lambda: number, minCount = 0): number[] {
  if (!(lambda >= 0)) throw new RangeError(`lambda must be ≥ 0, got ${lambda}`);
  return costs.map((c) => {
    let best = Math.min(minCount, c.length - 1);
    for (let n = best + 1; n < c.length; n++) {
      if (c[n] + lambda * n < c[best] + lambda * best) best = n;
    }
    return best;
  });
}

/**
 * The λ of {@link LAMBDAS} that counts the most validation scenes right (`counts`: their true
 * numbers of objects); ties go to the middle of the best run of λ values.
 */
export function calibrateLambda(
  costs: number[][],
  counts: number[],
  minCount = 0,
): { lambda: number; accuracy: number } {
  if (costs.length !== counts.length) {
    throw new RangeError(`counts must hold one number per scene (${costs.length}), got ${counts.length}`);
  }
  const acc = LAMBDAS.map((l) => {
    const chosen = chooseCounts(costs, l, minCount);
    return chosen.filter((n, b) => n === counts[b]).length / Math.max(1, counts.length);
  });
  const top = Math.max(...acc);
  const best = LAMBDAS.filter((_, i) => acc[i] === top);
  return { lambda: best[Math.floor((best.length - 1) / 2)], accuracy: top };
}

/**
 * The predictions with presence replaced by the decision: the `counts[b]` most present slots of
 * image b get presence 1, the others 0 (order and everything else unchanged).
 */
export function applyCounts(predictions: SlotPrediction[][], counts: number[]): SlotPrediction[][] {
  return predictions.map((slots, b) => {
    const keep = new Set(
      slots.map((p, k) => [p.presence, k] as const).sort((a, c) => c[0] - a[0] || a[1] - c[1])
        .slice(0, counts[b]).map(([, k]) => k),
    );
    return slots.map((p, k) => ({ ...p, presence: keep.has(k) ? 1 : 0 }));
  });
}
