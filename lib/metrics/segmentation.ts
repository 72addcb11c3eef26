/**
 * The segmentation scores of GENESIS (§4.2, App. C) and IODINE: ARI with scikit-learn's
 * conventions, fg-ARI over true-foreground pixels with the argmax of K soft masks, and
 * segmentation covering (SC, weighted; mSC, unweighted) — all in float64 from one contingency table
 * n_ij = #pixels with true label i and predicted label j per image; see {@link maskScores} and
 * {@link batchMaskScores}. Labels are non-negative integers; the true label 0 is the background.
 *
 * @example
 * ```ts
 * import { adjustedRandIndex } from "./segmentation.ts";
 * adjustedRandIndex([0, 0, 1, 1], [5, 5, 7, 7]); // 1: the same partition under other names
 * ```
 * @module
 */

// Segmentation scores (GENESIS §4.2, App. C; IODINE): ARI, fg-ARI, segmentation covering.
//
// Everything is computed in float64 from one contingency table n_ij = #pixels with true label i
// and predicted label j. Labels are non-negative integers; the true label 0 is the background.
// ---------------------------------------------------------------------------------------------

/** A contingency table over `rows` true labels × `cols` predicted labels (row-major counts). */
export interface Contingency {
  rows: number;
  cols: number;
  counts: Float64Array;
}

function checkLabels(field: string, labels: ArrayLike<number>): number {
  let max = -1;
  for (let p = 0; p < labels.length; p++) {
    const v = labels[p];
    if (!(Number.isInteger(v) && v >= 0)) {
      throw new RangeError(`${field}[${p}] must be a non-negative integer label, got ${v}`);
    }
    if (v > max) max = v;
  }
  return max + 1;
}

/**
 * The contingency table of two labelings of the same pixels.
 *
 * @example
 * ```ts
 * contingency([0, 0, 1], [1, 1, 0]).counts; // [0, 2, 1, 0]
 * ```
 */
export function contingency(truth: ArrayLike<number>, pred: ArrayLike<number>): Contingency {
  if (truth.length !== pred.length) {
    throw new RangeError(`truth has ${truth.length} pixels but pred has ${pred.length}`);
  }
  const rows = checkLabels("truth", truth), cols = checkLabels("pred", pred);
  const counts = new Float64Array(rows * cols);
  for (let p = 0; p < truth.length; p++) counts[truth[p] * cols + pred[p]]++;
  return { rows, cols, counts };
}

/**
 * Adjusted Rand index from a contingency table, with scikit-learn's `adjusted_rand_score`
 * conventions: from the pair-confusion matrix (ordered pairs),
 *
 *     ARI = 2 (tp·tn − fn·fp) / ((tp + fn)(fn + tn) + (tp + fp)(fp + tn)),
 *
 * and 1.0 when no pair disagrees (fn = fp = 0): identical partitions, both a single cluster,
 * both all singletons, one pixel, or no pixels at all. Rows for which `rowMask` returns false
 * are left out (fg-ARI leaves out the background row, i.e. every true-background pixel).
 */
export function ariFromContingency(t: Contingency, rowMask?: (row: number) => boolean): number {
  const { rows, cols, counts } = t;
  const colSum = new Float64Array(cols);
  let n = 0, sumSq = 0, rowSq = 0;
  for (let i = 0; i < rows; i++) {
    if (rowMask && !rowMask(i)) continue;
    let r = 0;
    for (let j = 0; j < cols; j++) {
      const v = counts[i * cols + j];
      r += v;
      colSum[j] += v;
      sumSq += v * v;
    }
    rowSq += r * r;
    n += r;
  }
  let colSq = 0;
  for (let j = 0; j < cols; j++) colSq += colSum[j] * colSum[j];
  // Ordered pairs: tp = same in both, fp = same predicted only, fn = same true only.
  const tp = sumSq - n, fp = colSq - sumSq, fn = rowSq - sumSq;
  const tn = n * n - tp - fp - fn - n;
  if (fn === 0 && fp === 0) return 1;
  return 2 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn));
}

/**
 * Adjusted Rand index of two labelings (scikit-learn's `adjusted_rand_score`).
 *
 * @example
 * ```ts
 * adjustedRandIndex([0, 0, 1, 1], [5, 5, 2, 2]); // 1 (label names do not matter)
 * adjustedRandIndex([0, 0, 0, 0], [0, 1, 2, 3]); // 0
 * ```
 */
export function adjustedRandIndex(truth: ArrayLike<number>, pred: ArrayLike<number>): number {
  return ariFromContingency(contingency(truth, pred));
}

/**
 * Hard labels from K soft masks laid out mask-major ([K, P], as a decoder emits them): the argmax
 * over k per pixel, ties to the lowest index.
 */
export function argmaxMasks(masks: ArrayLike<number>, k: number, out?: Int32Array): Int32Array {
  if (!(Number.isInteger(k) && k >= 1)) throw new RangeError(`k must be a positive integer, got ${k}`);
  if (masks.length % k !== 0) {
    throw new RangeError(`masks has ${masks.length} values, not a multiple of k = ${k}`);
  }
  const P = masks.length / k;
  const labels = out ?? new Int32Array(P);
  if (bestScratch.length < P) bestScratch = new Float64Array(P);
  const best = bestScratch;
  for (let p = 0; p < P; p++) best[p] = masks[p];
  labels.fill(0, 0, P);
  // Mask by mask (k outer): sequential reads, and the running best stays in one array.
  for (let m = 1; m < k; m++) {
    const off = m * P;
    for (let p = 0; p < P; p++) {
      const v = masks[off + p];
      if (v > best[p]) {
        best[p] = v;
        labels[p] = m;
      }
    }
  }
  return labels;
}
let bestScratch = new Float64Array(0);

/** fg-ARI, ARI over all pixels, and segmentation covering (SC, mSC) of one image. */
export interface SegmentationScores {
  ari: number;
  fgAri: number;
  sc: number;
  msc: number;
}

/**
 * Segmentation covering of the true foreground objects by the predicted regions (GENESIS App. C,
 * after Arbeláez et al. 2010), from a contingency table whose row 0 is the background:
 *
 *     SC  = Σ_R |R| max_R' IOU(R, R') / Σ_R |R|        (weighted by object size)
 *     mSC = (1/|S|) Σ_R max_R' IOU(R, R')              (unweighted)
 *
 * over the non-empty true foreground objects R (rows ≥ 1) and the predicted regions R' (columns).
 * Conventions of the official code (`average_segcover`, ignore_background): a predicted region
 * counts all of its pixels, background ones included, so spill onto the background enlarges the
 * union; empty predicted regions are skipped; an image with no foreground object scores
 * SC = mSC = 0.
 */
export function coveringFromContingency(t: Contingency): { sc: number; msc: number } {
  const { rows, cols, counts } = t;
  const colSum = new Float64Array(cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) colSum[j] += counts[i * cols + j];
  let objects = 0, mean = 0, weighted = 0, area = 0;
  for (let i = 1; i < rows; i++) {
    let size = 0;
    for (let j = 0; j < cols; j++) size += counts[i * cols + j];
    if (size === 0) continue;
    let best = 0;
    for (let j = 0; j < cols; j++) {
      const inter = counts[i * cols + j];
      const iou = inter / (size + colSum[j] - inter);
      if (iou > best) best = iou;
    }
    objects++;
    mean += best;
    weighted += size * best;
    area += size;
  }
  return { sc: area > 0 ? weighted / area : 0, msc: objects > 0 ? mean / objects : 0 };
}

/**
 * All segmentation scores of one image from hard predicted labels. `truth` holds per-pixel
 * object ids with 0 = background. fg-ARI (GENESIS, IODINE) is the ARI over the pixels whose true
 * label is foreground; with no foreground pixel it is 1.0 (scikit-learn's empty case).
 *
 * @example
 * ```ts
 * // Two objects on a background, predicted perfectly but with permuted ids.
 * const s = segmentationScores([0, 1, 1, 2, 2, 0], [3, 0, 0, 1, 1, 3]);
 * // s.fgAri === 1, s.sc === 1, s.msc === 1
 * ```
 */
export function segmentationScores(truth: ArrayLike<number>, pred: ArrayLike<number>): SegmentationScores {
  return scoresFromContingency(contingency(truth, pred));
}

/** ARI, fg-ARI (background row 0 left out), SC and mSC of one image's contingency table. */
function scoresFromContingency(t: Contingency): SegmentationScores {
  return {
    ari: ariFromContingency(t),
    fgAri: ariFromContingency(t, (i) => i !== 0),
    ...coveringFromContingency(t),
  };
}

/** Image `b` of a batch laid out image-major: a view for typed arrays, a copy for plain arrays. */
export function imageOf(a: ArrayLike<number>, b: number, len: number): ArrayLike<number> {
  return ArrayBuffer.isView(a)
    ? (a as unknown as Float64Array).subarray(b * len, (b + 1) * len)
    : Array.prototype.slice.call(a, b * len, (b + 1) * len);
}

/** Reused buffers for scoring many images (one thread, no allocation per image). */
let scratch = new Float64Array(64);
let labelScratch = new Int32Array(0);
let tallyScratch = new Int32Array(0);

/** Number of label rows (max + 1), checking labels; integer typed arrays skip the integer test. */
function labelRows(field: string, labels: ArrayLike<number>): number {
  if (labels instanceof Int32Array || labels instanceof Uint8Array || labels instanceof Uint16Array) {
    let max = -1, min = 0;
    for (let p = 0; p < labels.length; p++) {
      const v = labels[p];
      if (v > max) max = v;
      if (v < min) min = v;
    }
    if (min < 0) return checkLabels(field, labels); // names the first bad pixel
    return max + 1;
  }
  return checkLabels(field, labels);
}

/**
 * Scores of one image from K soft masks [K, P] (argmax, ties → lowest index) against the true
 * object ids [P] (0 = background). Same numbers as `segmentationScores(truth, argmaxMasks(…))`,
 * with reused buffers (no allocation per image).
 */
export function maskScores(
  truth: ArrayLike<number>,
  masks: ArrayLike<number>,
  k: number,
): SegmentationScores {
  const P = truth.length;
  if (!(Number.isInteger(k) && k >= 1)) throw new RangeError(`k must be a positive integer, got ${k}`);
  if (masks.length !== P * k) {
    throw new RangeError(`masks must hold k × pixels = ${k} × ${P} values, got ${masks.length}`);
  }
  const rows = labelRows("truth", truth), cells = rows * k;
  if (labelScratch.length < P) labelScratch = new Int32Array(P);
  const pred = argmaxMasks(masks, k, labelScratch);
  // Four interleaved integer tables: neighbouring pixels usually hit the same cell, and one table
  // would make every increment wait for the previous one.
  if (tallyScratch.length < 4 * cells) tallyScratch = new Int32Array(4 * cells);
  const tally = tallyScratch;
  tally.fill(0, 0, 4 * cells);
  let p = 0;
  for (; p + 3 < P; p += 4) {
    tally[truth[p] * k + pred[p]]++;
    tally[cells + truth[p + 1] * k + pred[p + 1]]++;
    tally[2 * cells + truth[p + 2] * k + pred[p + 2]]++;
    tally[3 * cells + truth[p + 3] * k + pred[p + 3]]++;
  }
  for (; p < P; p++) tally[truth[p] * k + pred[p]]++;
  if (scratch.length < cells) scratch = new Float64Array(cells);
  const counts = scratch.subarray(0, cells);
  for (let c = 0; c < cells; c++) {
    counts[c] = tally[c] + tally[cells + c] + tally[2 * cells + c] + tally[3 * cells + c];
  }
  return scoresFromContingency({ rows, cols: k, counts });
}

/**
 * Batch scores: the mean of each score over `n` images, truth [n, P] and masks [n, K, P].
 *
 * @example
 * ```ts
 * // two 2-pixel images; truth: background then object 1; K = 2 soft masks per image
 * const truth = [0, 1, 0, 1];
 * const masks = [0.9, 0.2, 0.1, 0.8, 0.7, 0.4, 0.3, 0.6]; // [n = 2, K = 2, P = 2]
 * const mean = batchMaskScores(truth, masks, { n: 2, k: 2 }); // { ari, fgAri, sc, msc }: 1 each
 * ```
 */
export function batchMaskScores(
  truth: ArrayLike<number>,
  masks: ArrayLike<number>,
  shape: { n: number; k: number },
): SegmentationScores & { perImage: SegmentationScores[] } {
  const { n, k } = shape;
  if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`n must be a positive integer, got ${n}`);
  if (truth.length % n !== 0) throw new RangeError(`truth has ${truth.length} values, not n = ${n} images`);
  const P = truth.length / n;
  if (masks.length !== n * k * P) {
    throw new RangeError(`masks must hold n × k × pixels = ${n} × ${k} × ${P} values, got ${masks.length}`);
  }
  const perImage: SegmentationScores[] = [];
  const mean = { ari: 0, fgAri: 0, sc: 0, msc: 0 };
  for (let b = 0; b < n; b++) {
    const s = maskScores(imageOf(truth, b, P), imageOf(masks, b, k * P), k);
    perImage.push(s);
    for (const key of ["ari", "fgAri", "sc", "msc"] as const) mean[key] += s[key] / n;
  }
  return { ...mean, perImage };
}
