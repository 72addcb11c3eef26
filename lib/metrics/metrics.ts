/**
 * Scores for slot-wise scene inference (AIR §3.2 and the numpy reproduction): count, presence,
 * type and position accuracy, and rotation error that respects each primitive's symmetry.
 *
 * Rotation is only defined up to the primitive's symmetry group G. The error between a predicted
 * rotation R̂ and the truth R is the geodesic angle on SO(3) minimised over G:
 *
 *     θ(R̂, R) = min_{S ∈ G} arccos((tr(Rᵀ R̂ S) − 1) / 2)
 *
 * - cube: G = the 24 proper rotations of the octahedral group (signed permutation matrices, det +1);
 * - cylinder (axis y): G = every turn about y and the end-over-end flip, so θ is the angle between
 *   the two axes R̂·e_y and R·e_y taken up to sign: arccos |⟨R̂e_y, Re_y⟩|;
 * - sphere: G = SO(3), no rotation to score (excluded).
 *
 * The second half holds the segmentation scores of GENESIS (§4.2, App. C) and IODINE: ARI with
 * scikit-learn's conventions, fg-ARI over true-foreground pixels with the argmax of K soft masks,
 * and segmentation covering (SC, weighted; mSC, unweighted) — all from one float64 contingency
 * table per image; see {@link maskScores} and {@link batchMaskScores}.
 *
 * @example
 * ```ts
 * import { eulerZYX } from "../scenes/render.ts";
 * import { rotationError } from "./metrics.ts";
 * rotationError("cube", eulerZYX(Math.PI / 2, 0, 0), eulerZYX(0, 0, 0)); // 0 (a quarter turn is a symmetry)
 * ```
 * @module
 */
import { eulerZYX, type PrimitiveType, type Scene } from "../scenes/render.ts";

/** Row-major 3×3 matrix. */
export type Mat3 = ArrayLike<number>;

/** The 24 proper rotations of a cube: signed permutation matrices with determinant +1 (row-major). */
export const CUBE_SYMMETRIES: readonly Float64Array[] = (() => {
  const out: Float64Array[] = [];
  const perms = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
  for (const p of perms) {
    for (let signs = 0; signs < 8; signs++) {
      const m = new Float64Array(9);
      for (let r = 0; r < 3; r++) m[r * 3 + p[r]] = (signs >> r) & 1 ? -1 : 1;
      if (det3(m) > 0) out.push(m);
    }
  }
  return out;
})();

export function det3(m: Mat3): number {
  return m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) +
    m[2] * (m[3] * m[7] - m[4] * m[6]);
}

/** C = A·B for row-major 3×3 matrices. */
export function matMul3(a: Mat3, b: Mat3): Float64Array {
  const c = new Float64Array(9);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      c[i * 3 + j] = a[i * 3] * b[j] + a[i * 3 + 1] * b[3 + j] + a[i * 3 + 2] * b[6 + j];
    }
  }
  return c;
}

/** Geodesic angle (radians) between two rotations: arccos((tr(Aᵀ B) − 1) / 2). */
export function geodesicAngle(a: Mat3, b: Mat3): number {
  let tr = 0;
  for (let k = 0; k < 9; k++) tr += a[k] * b[k]; // tr(AᵀB) = Σ A∘B
  return Math.acos(Math.min(1, Math.max(-1, (tr - 1) / 2)));
}

/**
 * Symmetry-aware rotation error in radians between predicted and true rotations of a primitive
 * of `type`; `NaN` for a sphere (no orientation to score).
 */
export function rotationError(type: PrimitiveType, predicted: Mat3, truth: Mat3): number {
  if (type === "sphere") return NaN;
  if (type === "cylinder") {
    // Axis = second column (the unit cylinder's axis is y).
    const dot = predicted[1] * truth[1] + predicted[4] * truth[4] + predicted[7] * truth[7];
    return Math.acos(Math.min(1, Math.abs(dot)));
  }
  if (type !== "cube") throw new RangeError(`rotationError: unknown type ${JSON.stringify(type)}`);
  let best = Infinity;
  for (const s of CUBE_SYMMETRIES) best = Math.min(best, geodesicAngle(predicted, matMul3(truth, s)));
  return best;
}

/** ZYX Euler angles [α, β, γ] of a rotation (principal branch, β ∈ [−π/2, π/2]); inverse of `eulerZYX`. */
export function eulerFromMatrix(m: Mat3): [number, number, number] {
  const beta = Math.asin(Math.max(-1, Math.min(1, -m[6])));
  if (Math.abs(m[6]) > 1 - 1e-9) return [Math.atan2(-m[1], m[4]), beta, 0]; // gimbal lock
  return [Math.atan2(m[3], m[0]), beta, Math.atan2(m[7], m[8])];
}

/** Median of the finite values (NaN when there are none). */
export function median(values: number[]): number {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const h = v.length >> 1;
  return v.length % 2 ? v[h] : (v[h - 1] + v[h]) / 2;
}

/** One predicted slot. `rotation` is a row-major rotation matrix; `euler` the angles the model reports. */
export interface SlotPrediction {
  presence: number;
  /** Index into PRIMITIVE_TYPES. */
  type: number;
  position: [number, number, number];
  rotation: Mat3;
  euler: [number, number, number];
}

/** Permutations of 0..n−1 (n ≤ 6 here: slots are few). */
export function permutations(n: number): number[][] {
  if (n <= 1) return [Array.from({ length: n }, (_, i) => i)];
  const out: number[][] = [];
  for (const p of permutations(n - 1)) {
    for (let i = 0; i <= p.length; i++) out.push([...p.slice(0, i), n - 1, ...p.slice(i)]);
  }
  return out;
}

/**
 * Minimum-cost assignment of rows to distinct columns (rows ≤ columns ≤ 6) by enumeration —
 * the Hungarian problem at the size of a scene. Returns column index per row.
 */
export function assign(cost: number[][]): number[] {
  const rows = cost.length, cols = rows ? cost[0].length : 0;
  if (rows > cols) throw new RangeError(`assign: rows (${rows}) must be ≤ columns (${cols})`);
  if (cols > 6) throw new RangeError(`assign: at most 6 columns, got ${cols}`);
  let best: number[] = [], bestCost = Infinity;
  for (const p of permutations(cols)) {
    let c = 0;
    for (let r = 0; r < rows; r++) c += cost[r][p[r]];
    if (c < bestCost) [bestCost, best] = [c, p.slice(0, rows)];
  }
  return best;
}

/** How predicted slots are paired with true primitives for the per-object scores. */
export type Matching = "slot" | "hungarian";

/** The result fields for a set of scenes. */
export interface SceneMetrics {
  count_acc: number;
  presence_acc: number;
  type_acc: number;
  pos_mae: [number, number, number];
  rot_mae_euler: [number, number, number];
  rot_err_median_deg: { cube: number; cylinder: number };
  /** Confusion counts [true type][predicted type] over scored objects. */
  confusion: number[][];
  /** Per scored object: absolute position error per axis, and symmetry-aware rotation error (deg). */
  errors: { pos: [number, number, number][]; rotDeg: { cube: number[]; cylinder: number[] } };
}

/**
 * Scores predictions against scenes (truth sorted by x, as the datasets store it).
 *
 * - count: the number of slots with presence > 0.5 equals the true count;
 * - presence: per (scene, slot), (presence > 0.5) equals (slot < true count);
 * - type, position, rotation: over true primitives, each paired with a predicted slot —
 *   `"slot"`: slot k with the k-th primitive by x (the reproduction's metric);
 *   `"hungarian"`: the assignment minimising the (x, y) distance over all slots, for
 *   order-free models. Presence is scored on the slots re-ordered so that present slots come
 *   first, by x.
 * - rot_mae_euler: |Δ| per Euler angle over cubes and cylinders (comparison only: Euler angles
 *   are not unique); rot_err_median_deg: median of {@link rotationError} per type.
 */
export function scoreScenes(
  scenes: Scene[],
  predictions: SlotPrediction[][],
  matching: Matching,
): SceneMetrics {
  if (scenes.length !== predictions.length) {
    throw new RangeError(`scoreScenes: ${scenes.length} scenes but ${predictions.length} predictions`);
  }
  if (matching !== "slot" && matching !== "hungarian") {
    throw new RangeError(`matching must be "slot" or "hungarian", got ${JSON.stringify(matching)}`);
  }
  const TYPES: PrimitiveType[] = ["sphere", "cube", "cylinder"];
  let countOk = 0, presOk = 0, presN = 0, typeOk = 0, objN = 0, rotN = 0;
  const posSum = [0, 0, 0], eulSum = [0, 0, 0];
  const confusion = TYPES.map(() => TYPES.map(() => 0));
  const errors: SceneMetrics["errors"] = { pos: [], rotDeg: { cube: [], cylinder: [] } };
  scenes.forEach((scene, b) => {
    let slots = predictions[b];
    if (scene.length > slots.length) {
      throw new RangeError(`scene ${b} has ${scene.length} primitives but only ${slots.length} slots`);
    }
    if (matching === "hungarian") {
      slots = [...slots].sort((p, q) =>
        (q.presence > 0.5 ? 1 : 0) - (p.presence > 0.5 ? 1 : 0) || p.position[0] - q.position[0]
      );
    }
    const present = slots.filter((s) => s.presence > 0.5).length;
    if (present === scene.length) countOk++;
    slots.forEach((s, k) => {
      presN++;
      if ((s.presence > 0.5) === (k < scene.length)) presOk++;
    });
    const pairs = matching === "slot" ? scene.map((_, k) => k) : assign(
      scene.map((p) =>
        slots.map((s) => Math.hypot(s.position[0] - p.position[0], s.position[1] - p.position[1]))
      ),
    );
    scene.forEach((p, k) => {
      const s = slots[pairs[k]];
      const t = TYPES.indexOf(p.type);
      objN++;
      if (s.type === t) typeOk++;
      confusion[t][s.type]++;
      const e: [number, number, number] = [0, 1, 2].map((a) => Math.abs(s.position[a] - p.position[a])) as [
        number,
        number,
        number,
      ];
      e.forEach((v, a) => posSum[a] += v);
      errors.pos.push(e);
      if (p.type !== "sphere") {
        rotN++;
        for (let a = 0; a < 3; a++) eulSum[a] += Math.abs(s.euler[a] - p.rotation[a]);
        const deg = rotationError(p.type, s.rotation, eulerZYX(...p.rotation)) * 180 / Math.PI;
        errors.rotDeg[p.type].push(deg);
      }
    });
  });
  return {
    count_acc: countOk / scenes.length,
    presence_acc: presOk / presN,
    type_acc: typeOk / objN,
    pos_mae: posSum.map((v) => v / objN) as [number, number, number],
    rot_mae_euler: eulSum.map((v) => v / rotN) as [number, number, number],
    rot_err_median_deg: { cube: median(errors.rotDeg.cube), cylinder: median(errors.rotDeg.cylinder) },
    confusion,
    errors,
  };
}

// ---------------------------------------------------------------------------------------------
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
function imageOf(a: ArrayLike<number>, b: number, len: number): ArrayLike<number> {
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
 * const mean = batchMaskScores(truth, masks, { n: 32, k: 5 }); // { ari, fgAri, sc, msc }
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
