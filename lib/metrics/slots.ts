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
 * @example
 * ```ts
 * import { eulerZYX } from "../scenes/primitives.ts";
 * import { rotationError } from "./slots.ts";
 * rotationError("cube", eulerZYX(Math.PI / 2, 0, 0), eulerZYX(0, 0, 0)); // 0 (a quarter turn is a symmetry)
 * ```
 * @module
 */
import { eulerZYX, type PrimitiveType, type Scene } from "../scenes/primitives.ts";

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

/** C = A·B for row-major 3×3 matrices (into `c` when given; it must be neither A nor B). */
export function matMul3(a: Mat3, b: Mat3, c: Float64Array = new Float64Array(9)): Float64Array {
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
  /** Index into PRIMITIVE_TYPES; −1 where the slot read none (a step that found nothing: no z_what). */
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

/** The result fields for a set of scenes (the CLI's JSON and the notebook's tables). */
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
 * - type, position, rotation: over true primitives, each paired with a predicted slot (one that read
 *   no type, −1, is a wrong type and stays out of `confusion`) —
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
      if (s.type >= 0) confusion[t][s.type]++;
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
