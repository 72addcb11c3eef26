/**
 * Multi-MNIST scenes for AIR: a canvas with 0, 1 or 2 digits.
 *
 * - **paper** (`PAPER_SCENES`): 50×50, each digit shrunk from 28 px by a factor
 *   scale ~ N(1.3, 0.1) (so about 28 / 1.3 ≈ 22 px, as Pyro's multi-MNIST generator does),
 *   placed uniformly inside the canvas.
 * - **reproduction** (`REPRODUCTION_SCENES`): the numpy reproduction's 32×32 canvas with
 *   12–18 px digits.
 *
 * The count is uniform over `counts` (default 0, 1, 2). Digits are summed; a scene whose pixels
 * saturate (some pixel > 1, i.e. strokes of two digits overlap) is rejected and drawn again.
 * Train scenes draw digits from MNIST's train split, test scenes from its test split, so test
 * digits are never seen in training. Each scene keeps its count, its boxes and an instance map
 * (which digit each inked pixel belongs to) for the segmentation metrics.
 *
 * @example
 * ```ts
 * import { loadMnist } from "./mnist.ts";
 * import { Rng } from "../core/random.ts";
 * import { PAPER_SCENES, sampleMultiMnist } from "./multi_mnist.ts";
 * const mnist = await loadMnist();
 * const batch = sampleMultiMnist(new Rng(0), mnist.train, 64, PAPER_SCENES); // 64 fresh scenes
 * ```
 * @module
 */
import type { MnistSplit } from "./mnist.ts";
import type { Rng } from "../core/random.ts";

/** How scenes are drawn. */
export interface SceneSpec {
  canvas: number;
  /** Allowed digit counts, drawn uniformly. */
  counts: number[];
  /** Digit side in px: `shrink` draws 28 / N(mean, std); `uniform` draws an integer in [min, max]. */
  size: { kind: "shrink"; mean: number; std: number } | { kind: "uniform"; min: number; max: number };
}

/** The paper's setting: 50×50, 0–2 digits shrunk by N(1.3, 0.1). */
export const PAPER_SCENES: SceneSpec = {
  canvas: 50,
  counts: [0, 1, 2],
  size: { kind: "shrink", mean: 1.3, std: 0.1 },
};
/** The numpy reproduction's setting: 32×32, 0–2 digits of 12–18 px. */
export const REPRODUCTION_SCENES: SceneSpec = {
  canvas: 32,
  counts: [0, 1, 2],
  size: { kind: "uniform", min: 12, max: 18 },
};

/** A digit's box in canvas pixels (top-left corner and side). */
export interface DigitBox {
  x: number;
  y: number;
  size: number;
  label: number;
}

/** A batch of scenes. */
export interface Scenes {
  n: number;
  canvas: number;
  /** [n, canvas, canvas] in [0, 1]. */
  images: Float32Array;
  counts: Int32Array;
  boxes: DigitBox[][];
  /** [n, canvas, canvas]: 0 background, k + 1 where digit k has the most ink (ink > 0.05). */
  instances: Uint8Array;
}

/** Checks a spec, naming the bad field. */
export function validateSpec(spec: SceneSpec): void {
  if (!Number.isInteger(spec.canvas) || spec.canvas < 8) {
    throw new RangeError(`canvas must be an integer ≥ 8, got ${spec.canvas}`);
  }
  if (!Array.isArray(spec.counts) || spec.counts.length === 0) {
    throw new RangeError("counts must be a non-empty list of digit counts");
  }
  for (const c of spec.counts) {
    if (!Number.isInteger(c) || c < 0 || c > 5) throw new RangeError(`counts must be integers 0–5, got ${c}`);
  }
  const s = spec.size;
  if (s.kind === "shrink") {
    if (!(s.mean >= 0.5) || !(s.std >= 0)) throw new RangeError(`size.mean must be ≥ 0.5 and size.std ≥ 0`);
  } else if (s.kind === "uniform") {
    if (!Number.isInteger(s.min) || !Number.isInteger(s.max) || s.min < 4 || s.max < s.min) {
      throw new RangeError(
        `size.min and size.max must be integers with 4 ≤ min ≤ max, got ${s.min}, ${s.max}`,
      );
    }
  } else {
    throw new RangeError(`size.kind must be "shrink" or "uniform"`);
  }
  if (maxDigitSize(spec) > spec.canvas) {
    throw new RangeError(`digits up to ${maxDigitSize(spec)} px do not fit a ${spec.canvas} px canvas`);
  }
}

function maxDigitSize(spec: SceneSpec): number {
  return spec.size.kind === "uniform" ? spec.size.max : Math.ceil(28 / (spec.size.mean - 4 * spec.size.std));
}

function drawSize(rng: Rng, spec: SceneSpec): number {
  const s = spec.size;
  if (s.kind === "uniform") return rng.int(s.min, s.max);
  const scale = Math.max(s.mean - 4 * s.std, Math.min(s.mean + 4 * s.std, rng.normal(s.mean, s.std)));
  return Math.min(spec.canvas, Math.max(4, Math.round(28 / scale)));
}

/**
 * Area resampling of a `from`×`from` image to `to`×`to`: each output pixel is the mean of the
 * source over its footprint (exact overlap weights, separable).
 */
export function resizeArea(src: Float32Array, from: number, to: number): Float32Array {
  const w = new Float64Array(to * from); // w[i, j] = overlap of output i's footprint with source j
  const r = from / to;
  for (let i = 0; i < to; i++) {
    const a = i * r, b = (i + 1) * r;
    for (let j = Math.floor(a); j < Math.min(from, Math.ceil(b)); j++) {
      w[i * from + j] = (Math.min(b, j + 1) - Math.max(a, j)) / r;
    }
  }
  const tmp = new Float64Array(to * from); // rows resampled
  for (let i = 0; i < to; i++) {
    for (let j = 0; j < from; j++) {
      const wij = w[i * from + j];
      if (wij === 0) continue;
      for (let c = 0; c < from; c++) tmp[i * from + c] += wij * src[j * from + c];
    }
  }
  const out = new Float32Array(to * to);
  for (let i = 0; i < to; i++) {
    for (let c = 0; c < to; c++) {
      let acc = 0;
      for (let j = 0; j < from; j++) acc += w[c * from + j] * tmp[i * from + j];
      out[i * to + c] = acc;
    }
  }
  return out;
}

/** Ink above which a pixel belongs to a digit in the scenes' instance maps. */
export const INK = 0.05;

/** Draws `n` scenes from `split`'s digits (see the module doc). Same rng state → same scenes. */
export function sampleMultiMnist(
  rng: Rng,
  split: MnistSplit,
  n: number,
  spec: SceneSpec = PAPER_SCENES,
): Scenes {
  validateSpec(spec);
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be an integer ≥ 0, got ${n}`);
  if (split.rows !== 28 || split.cols !== 28) throw new RangeError(`digits must be 28×28`);
  const C = spec.canvas, px = C * C;
  const images = new Float32Array(n * px);
  const instances = new Uint8Array(n * px);
  const counts = new Int32Array(n);
  const boxes: DigitBox[][] = [];
  const digitPx = 28 * 28;
  const src = new Float32Array(digitPx);
  const best = new Float32Array(px);
  for (let b = 0; b < n; b++) {
    const count = spec.counts[rng.int(0, spec.counts.length - 1)];
    const img = images.subarray(b * px, (b + 1) * px);
    const ids = instances.subarray(b * px, (b + 1) * px);
    let placed: DigitBox[] = [];
    for (let attempt = 0;; attempt++) {
      if (attempt > 1000) {
        throw new Error(`could not place ${count} digits without overlap on a ${C} px canvas`);
      }
      img.fill(0);
      ids.fill(0);
      best.fill(0);
      placed = [];
      let saturated = false;
      for (let k = 0; k < count && !saturated; k++) {
        const idx = rng.int(0, split.n - 1);
        for (let i = 0; i < digitPx; i++) src[i] = split.images[idx * digitPx + i] / 255;
        const size = drawSize(rng, spec);
        const glyph = size === 28 ? src : resizeArea(src, 28, size);
        const x = rng.int(0, C - size), y = rng.int(0, C - size);
        placed.push({ x, y, size, label: split.labels[idx] });
        for (let i = 0; i < size; i++) {
          for (let j = 0; j < size; j++) {
            const v = glyph[i * size + j], p = (y + i) * C + x + j;
            img[p] += v;
            if (img[p] > 1) saturated = true;
            if (v > INK && v > best[p]) (best[p] = v, ids[p] = k + 1);
          }
        }
      }
      if (!saturated) break;
    }
    counts[b] = count;
    boxes.push(placed);
  }
  return { n, canvas: C, images, counts, boxes, instances };
}

/**
 * A box as AIR's pose z_where = (s, x, y) in this project's normalised units (image = [−1, 1]²,
 * pixel centres at −1 + 2j/(C − 1)): centre of the box, half-width s = size / (C − 1).
 */
export function boxToWhere(box: DigitBox, canvas: number): [number, number, number] {
  const toN = (p: number) => -1 + (2 * p) / (canvas - 1);
  return [box.size / (canvas - 1), toN(box.x + (box.size - 1) / 2), toN(box.y + (box.size - 1) / 2)];
}

/**
 * The inverse of `boxToWhere`: a pose (s, x, y) as a square box in canvas pixels — top-left
 * pixel `x`, `y` (fractional) and side `size`, so that the box spans [x, x + size] in pixel-edge
 * coordinates.
 */
export function whereToBox(pose: ArrayLike<number>, canvas: number): { x: number; y: number; size: number } {
  const size = pose[0] * (canvas - 1);
  const toP = (n: number) => ((n + 1) * (canvas - 1)) / 2 - (size - 1) / 2;
  return { x: toP(pose[1]), y: toP(pose[2]), size };
}
