/**
 * Render-and-compare over a set of images: every image fitted with `fitFromStarts` from its proposals
 * (on Web Workers when asked, `fit_worker.ts`), the MDL weight λ chosen on calibration images, and
 * the failure rate.
 *
 * @example
 * ```ts
 * import { fitImages } from "./fit_images.ts";
 * import { renderBatch } from "../scenes/render.ts";
 * const { images } = renderBatch([[{ type: "sphere", position: [0, 0, 0], rotation: [0, 0, 0] }]], { size: 32 });
 * const fits = fitImages(images, 1, [[{ objects: [] }]], { size: 32, lambda: 2, budget: 1000 }, 3);
 * fits.predictions[0].filter((s) => s.presence > 0).length; // 1
 * ```
 * @module
 */
import { Rasteriser } from "../scenes/render.ts";
import type { Camera } from "../scenes/primitives.ts";
import type { SlotPrediction } from "../metrics/slots.ts";
import { fitFromStarts, type FitOptions, type FitStart, toPredictions } from "./fit.ts";

/** What {@link fitImages} found for a set of images. */
export interface FitSet {
  /** Per image, `slots` slot predictions (fitted objects first, presence 1). */
  predictions: SlotPrediction[][];
  /** Per image, the final C. */
  costs: number[];
  /** Per image, the renders spent. */
  renders: number[];
  /** Per image, the error-vs-renders curve. */
  traces: [number, number][][];
  /** Wall time per image, milliseconds. */
  msPerImage: number;
}

/**
 * Fits images `0..n−1` of a flat batch (size² values each), image b from its proposals `starts[b]`
 * (the first, then the others while the fit leaves more than λ unexplained: `fitFromStarts`), one
 * rasteriser for all.
 */
export function fitImages(
  images: Float32Array,
  n: number,
  starts: FitStart[][],
  options: FitOptions,
  slots: number,
): FitSet {
  const px = options.size * options.size;
  if (images.length < n * px) {
    throw new RangeError(`images must hold ${n} images of ${options.size}×${options.size}`);
  }
  if (starts.length < n) {
    throw new RangeError(`starts must hold ${n} lists of proposals, got ${starts.length}`);
  }
  const raster = new Rasteriser({
    size: options.size,
    ...(options.camera ? { camera: options.camera } : {}),
  });
  const out: FitSet = { predictions: [], costs: [], renders: [], traces: [], msPerImage: 0 };
  const t0 = performance.now();
  for (let b = 0; b < n; b++) {
    const fit = fitFromStarts(images.subarray(b * px, (b + 1) * px), starts[b], options, raster);
    out.predictions.push(toPredictions(fit.objects, options.camera, slots));
    out.costs.push(fit.cost);
    out.renders.push(fit.renders);
    out.traces.push(fit.trace);
  }
  out.msPerImage = (performance.now() - t0) / Math.max(1, n);
  return out;
}

/** The λ values {@link calibrateFitLambda} tries (squared-error units; an object covers ≈ 100–250 px). */
export const FIT_LAMBDAS = [1, 2, 3, 4, 6, 8];

/**
 * The λ values tried under the perspective camera: {@link FIT_LAMBDAS} less λ 1. On each of six seeds'
 * calibration scenes λ 1 counted fewer images right than λ 2 (0.958–0.984 against 0.968–0.986), and
 * its fits took about 1.7× as long: a perspective fit rarely leaves less than 1 of squared error
 * unexplained (its depths are fitted to a few hundredths), so at λ 1 nearly every move is tried.
 */
export const PERSPECTIVE_FIT_LAMBDAS = [2, 3, 4, 6, 8];

/** The λ values the refinement tries for images of `camera` (default: the orthographic camera). */
export function fitLambdas(camera?: Camera): number[] {
  return camera?.projection === "perspective" ? PERSPECTIVE_FIT_LAMBDAS : FIT_LAMBDAS;
}

/** The share of images whose slots with presence ≥ 0.5 number `counts[b]`. */
export function countAccuracy(predictions: SlotPrediction[][], counts: number[]): number {
  const right = predictions.filter((slots, b) => slots.filter((s) => s.presence >= 0.5).length === counts[b]);
  return right.length / Math.max(1, counts.length);
}

/**
 * The λ of `lambdas` (default {@link FIT_LAMBDAS}) whose fits count the most calibration images right (`counts`: their
 * true numbers of objects), each λ's share averaged with its two neighbours' in the list (a 500-image
 * calibration measures a share to about ±0.007, and the shares of neighbouring λ move together: a
 * lone peak is mostly noise, a broad one is not); ties go to the smaller λ. `fit(λ)` fits the
 * calibration images. `accuracy` is the chosen λ's own share.
 */
export function calibrateFitLambda(
  fit: (lambda: number) => SlotPrediction[][],
  counts: number[],
  lambdas: readonly number[] = FIT_LAMBDAS,
): { lambda: number; accuracy: number } {
  if (lambdas.length === 0) throw new RangeError("lambdas must hold at least one λ, got none");
  const shares = lambdas.map((lambda) => countAccuracy(fit(lambda), counts));
  // (s[i−1] + s[i] + s[i+1]) / 3, an end of the list standing in for its missing neighbour.
  const at = (i: number) => shares[Math.min(shares.length - 1, Math.max(0, i))];
  const smoothed = shares.map((_, i) => (at(i - 1) + at(i) + at(i + 1)) / 3);
  // Ties, up to the rounding of sums taken in another order, go to the smaller λ.
  let best = 0;
  for (let i = 1; i < smoothed.length; i++) if (smoothed[i] > smoothed[best] + 1e-12) best = i;
  return { lambda: lambdas[best], accuracy: shares[best] };
}

/**
 * The share of images whose fit is stuck in a local minimum: its final C above the true scene's
 * (squared error 0, so λ·n_true) by more than one object's price λ — a wrong structure, not a
 * sub-pixel offset.
 */
export function failureRate(costs: number[], counts: number[], lambda: number): number {
  if (costs.length !== counts.length) {
    throw new RangeError(`counts must hold one number per image (${costs.length}), got ${counts.length}`);
  }
  return costs.filter((c, b) => c > lambda * counts[b] + lambda).length / Math.max(1, costs.length);
}

/** Images per job a worker is sent: small enough that the workers finish together. */
const CHUNK = 8;

/**
 * Web Workers (`fit_worker.ts`) that fit images, kept for as many calls as their owner makes: a
 * refinement fits its calibration scenes at every λ and then its test scenes, and workers that stay
 * up keep the code their first fits compiled (new workers start cold, and on this machine a new pair
 * took about as long for 60 images as one warm thread). {@link close} ends them.
 *
 * @example
 * ```ts
 * import { FitPool } from "./fit_images.ts";
 * const pool = new FitPool(2);
 * try {
 *   const fits = await pool.fit(new Float32Array(32 * 32 * 2), 2, [[{ objects: [] }], [{ objects: [] }]], { size: 32, lambda: 2, budget: 200 }, 3);
 *   fits.predictions.length; // 2
 * } finally {
 *   pool.close();
 * }
 * ```
 */
export class FitPool {
  readonly threads: number;
  #workers: Worker[] = [];
  constructor(threads: number) {
    if (!(Number.isInteger(threads) && threads >= 1)) {
      throw new RangeError(`threads must be an integer ≥ 1, got ${threads}`);
    }
    this.threads = threads;
  }

  /**
   * {@link fitImages} over the pool's workers. The images go out in chunks of a few, each to the next
   * worker free (fits differ in cost by tenfold, so equal shares would leave one worker waiting on the
   * other); the fits are those of one thread, image for image (each image's fit depends on nothing
   * else). `msPerImage` is the wall time over all images. One thread, or a single chunk, runs here.
   */
  async fit(
    images: Float32Array,
    n: number,
    starts: FitStart[][],
    options: FitOptions,
    slots: number,
  ): Promise<FitSet> {
    const workers = Math.min(this.threads, Math.max(1, Math.ceil(n / CHUNK)));
    if (workers === 1) return fitImages(images, n, starts, options, slots);
    const px = options.size * options.size, t0 = performance.now();
    if (images.length < n * px) {
      throw new RangeError(`images must hold ${n} images of ${options.size}×${options.size}`);
    }
    while (this.#workers.length < workers) {
      this.#workers.push(new Worker(new URL("./fit_worker.ts", import.meta.url).href, { type: "module" }));
    }
    const chunks: FitSet[] = [];
    let next = 0;
    try {
      await Promise.all(
        this.#workers.slice(0, workers).map((worker, r) =>
          new Promise<void>((resolve, reject) => {
            let at = 0;
            const send = () => {
              if (next >= n) return resolve();
              at = next;
              const hi = Math.min(n, at + CHUNK);
              next = hi;
              worker.postMessage({
                images: images.slice(at * px, hi * px),
                n: hi - at,
                starts: starts.slice(at, hi),
                options,
                slots,
              });
            };
            worker.onmessage = (e: MessageEvent<{ fits?: FitSet; error?: string }>) => {
              if (!e.data.fits) {
                next = n; // the other workers stop after their chunk
                return reject(new Error(`refinement worker ${r}: ${e.data.error}`));
              }
              chunks[at / CHUNK] = e.data.fits;
              send();
            };
            worker.onerror = (e) => {
              next = n;
              e.preventDefault();
              reject(new Error(`refinement worker ${r}: ${e.message}`));
            };
            send();
          })
        ),
      );
    } catch (err) {
      this.close(); // a worker that failed is not reused
      throw err;
    }
    return {
      predictions: chunks.flatMap((p) => p.predictions),
      costs: chunks.flatMap((p) => p.costs),
      renders: chunks.flatMap((p) => p.renders),
      traces: chunks.flatMap((p) => p.traces),
      msPerImage: (performance.now() - t0) / Math.max(1, n),
    };
  }

  /** Ends the workers (a later {@link fit} starts new ones). */
  close(): void {
    for (const w of this.#workers) w.terminate();
    this.#workers = [];
  }
}

/**
 * {@link fitImages} over `threads` Web Workers started for this call alone (see {@link FitPool},
 * which keeps them for many calls). `threads` 1 runs here, no worker.
 */
export async function fitImagesParallel(
  images: Float32Array,
  n: number,
  starts: FitStart[][],
  options: FitOptions,
  slots: number,
  threads: number,
): Promise<FitSet> {
  const pool = new FitPool(threads);
  try {
    return await pool.fit(images, n, starts, options, slots);
  } finally {
    pool.close();
  }
}
