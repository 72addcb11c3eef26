/**
 * Scores of a predicted query view that look at the objects, not the sky and floor that fill most
 * of the image (the whole-image MSE rewards a blur of floor and sky):
 *
 * - **object MSE** — the MSE over the pixels that show an object in the true query view;
 * - **colour hit rate** — for each object, the share of its pixels whose predicted colour is nearer
 *   the object's colour than the floor's, both at that pixel's shade (albedo·s against floor·s, s the
 *   true shade): is the object drawn where it is, in its colour? Averaged over objects;
 * - **uncertainty where it belongs** — the per-pixel variance across samples of the query, on the
 *   pixels that no context view saw (hidden or out of every frame) against those that one did.
 *
 * @example
 * ```ts
 * import { Rng } from "../core/random.ts";
 * import { sampleQueryBatch } from "../scenes/views.ts";
 * import { colourHitRate, objectMse, queryGeometry } from "./scores.ts";
 * const batch = sampleQueryBatch(new Rng(0), { batch: 2, size: 16, m: 1 });
 * const geometry = queryGeometry(batch);
 * objectMse(batch, batch.query, geometry); // 0: the truth itself
 * colourHitRate(batch, batch.query, geometry); // 1
 * ```
 * @module
 */
import { type QueryBatch, seenByContext, SKY_ID, type ViewGeometry, viewGeometry } from "../scenes/views.ts";

/** Per scene of a batch: the query view's geometry, and which of its pixels a context view saw. */
export interface QueryGeometry {
  query: ViewGeometry[];
  seen: Uint8Array[];
}

/** The geometry of every query view of a batch and its seen-by-context mask (cameras: M contexts, then the query). */
export function queryGeometry(batch: QueryBatch): QueryGeometry {
  const query: ViewGeometry[] = [], seen: Uint8Array[] = [];
  for (let b = 0; b < batch.b; b++) {
    const cams = batch.cameras[b], scene = batch.scenes[b];
    const q = viewGeometry(scene, cams[batch.m], batch.size);
    const contexts = cams.slice(0, batch.m).map((cam) => ({
      cam,
      geometry: viewGeometry(scene, cam, batch.size),
    }));
    query.push(q);
    seen.push(seenByContext(q, contexts, batch.size));
  }
  return { query, seen };
}

function checkPrediction(batch: QueryBatch, prediction: Float32Array): boolean {
  const px = batch.size * batch.size * 3;
  if (prediction.length !== batch.b * px && prediction.length !== px) {
    throw new RangeError(`prediction must hold ${batch.b}×${px} or ${px} floats, got ${prediction.length}`);
  }
  return prediction.length === px; // one image for every scene (the mean-image baseline)
}

/** MSE per channel over the pixels that show an object in the true query view (NaN if none does). */
export function objectMse(batch: QueryBatch, prediction: Float32Array, geometry: QueryGeometry): number {
  const shared = checkPrediction(batch, prediction), n = batch.size * batch.size;
  let se = 0, count = 0;
  for (let b = 0; b < batch.b; b++) {
    const ids = geometry.query[b].ids, at = shared ? 0 : b * n * 3;
    for (let p = 0; p < n; p++) {
      if (ids[p] < 0) continue;
      for (let k = 0; k < 3; k++) {
        se += (prediction[at + 3 * p + k] - batch.query[b * n * 3 + 3 * p + k]) ** 2;
      }
      count += 3;
    }
  }
  return count ? se / count : NaN;
}

/**
 * The mean over objects (with at least one pixel in the query view) of the share of the object's
 * pixels whose predicted colour is nearer albedo·s than floor·s, s the pixel's true shade.
 */
export function colourHitRate(batch: QueryBatch, prediction: Float32Array, geometry: QueryGeometry): number {
  const shared = checkPrediction(batch, prediction), n = batch.size * batch.size;
  let sum = 0, objects = 0;
  for (let b = 0; b < batch.b; b++) {
    const { albedos, floor } = batch.scenes[b], ids = geometry.query[b].ids, at = shared ? 0 : b * n * 3;
    const hits = new Float64Array(albedos.length), pixels = new Float64Array(albedos.length);
    for (let p = 0; p < n; p++) {
      const id = ids[p];
      if (id < 0) continue;
      const a = albedos[id], t = b * n * 3 + 3 * p;
      // The true colour is albedo·s: its brightest channel gives s.
      const k = a[0] >= a[1] && a[0] >= a[2] ? 0 : a[1] >= a[2] ? 1 : 2;
      const s = a[k] > 0 ? batch.query[t + k] / a[k] : 0;
      let dObject = 0, dFloor = 0;
      for (let c = 0; c < 3; c++) {
        const v = prediction[at + 3 * p + c];
        dObject += (v - a[c] * s) ** 2;
        dFloor += (v - floor[c] * s) ** 2;
      }
      pixels[id]++;
      if (dObject < dFloor) hits[id]++;
    }
    for (let i = 0; i < albedos.length; i++) {
      if (pixels[i] > 0) sum += hits[i] / pixels[i], objects++;
    }
  }
  return objects ? sum / objects : NaN;
}

/** Mean sample variance by kind of query pixel: floor or object, seen by a context view or not. */
export interface VarianceByKind {
  seen_floor: number;
  seen_object: number;
  unseen_floor: number;
  unseen_object: number;
  /** The share of object pixels among the seen and among the unseen non-sky pixels. */
  object_share_seen: number;
  object_share_unseen: number;
}

/**
 * Per-pixel variance across `samples` (≥ 2 predictions of the same batch), averaged over channels and
 * over the non-sky pixels no context view saw, and over those one did; `ratio` = unseen / seen.
 * `byKind` splits both by what the pixel shows (floor or object), since unseen pixels are more often
 * object pixels, whose colours are less certain anyway.
 */
export function varianceBySeen(
  batch: QueryBatch,
  samples: Float32Array[],
  geometry: QueryGeometry,
): { unseen: number; seen: number; ratio: number; unseenShare: number; byKind: VarianceByKind } {
  if (samples.length < 2) {
    throw new RangeError(`samples must hold at least 2 predictions, got ${samples.length}`);
  }
  for (const s of samples) checkPrediction(batch, s);
  const n = batch.size * batch.size, S = samples.length;
  const sums = [0, 0, 0, 0], counts = [0, 0, 0, 0]; // by kind: 2·seen + object
  for (let b = 0; b < batch.b; b++) {
    const { ids } = geometry.query[b], seen = geometry.seen[b];
    for (let p = 0; p < n; p++) {
      if (ids[p] === SKY_ID) continue;
      let v = 0;
      for (let c = 0; c < 3; c++) {
        let m = 0, q = 0;
        for (const s of samples) {
          const x = s[(b * n + p) * 3 + c];
          m += x;
          q += x * x;
        }
        v += Math.max(0, q - (m * m) / S) / (S - 1);
      }
      const kind = 2 * seen[p] + (ids[p] >= 0 ? 1 : 0);
      sums[kind] += v / 3;
      counts[kind]++;
    }
  }
  // Mean variance over some kinds; pixel count and object share of the seen (s = 1) or unseen (s = 0) set.
  const mean = (...k: number[]) => {
    const c = k.reduce((a, i) => a + counts[i], 0);
    return c ? k.reduce((a, i) => a + sums[i], 0) / c : NaN;
  };
  const pixels = (s: number) => counts[2 * s] + counts[2 * s + 1];
  const share = (s: number) => counts[2 * s + 1] / Math.max(1, pixels(s));
  const unseen = mean(0, 1), seen = mean(2, 3);
  return {
    unseen,
    seen,
    ratio: unseen / seen,
    unseenShare: pixels(0) / Math.max(1, pixels(0) + pixels(1)),
    byKind: {
      seen_floor: mean(2),
      seen_object: mean(3),
      unseen_floor: mean(0),
      unseen_object: mean(1),
      object_share_seen: share(1),
      object_share_unseen: share(0),
    },
  };
}

/** How many (pixel, channel) values {@link objectMse} averages over: 3 × the object pixels of the query views. */
export function objectValues(geometry: QueryGeometry): number {
  let count = 0;
  for (const g of geometry.query) for (const id of g.ids) if (id >= 0) count += 3;
  return count;
}

/** {@link objectMse} pooled over several groups (e.g. one per context count M), each weighted by its object values. */
export function pooledObjectMse(
  groups: { batch: QueryBatch; prediction: Float32Array; geometry: QueryGeometry }[],
): number {
  let se = 0, count = 0;
  for (const { batch, prediction, geometry } of groups) {
    const c = objectValues(geometry);
    if (c) se += objectMse(batch, prediction, geometry) * c, count += c;
  }
  return count ? se / count : NaN;
}
