/**
 * Reading the orbit camera's angle together with the objects, by render-and-compare (App. I's camera
 * variation): z_cam is seen only in the shading, and a cube's shading can be traded against a turn of
 * the cube about the vertical — only its outline tells them apart. Moving the light alone, with the
 * objects posed as the guide read them, cannot undo that trade; moving both can.
 *
 * Coordinate ascent on log p(x | objects, θ) (`RenderLikelihood`, the model's own blurred Gaussian
 * likelihood): each object's centre (u, v, and z under the perspective camera) and its turns about the
 * three axes (none for a sphere) are tried one step either way, and a step that raises log p is kept;
 * after a sweep that kept none the steps halve, `halvings` times. The trade between the light and a
 * turn makes a valley that such steps cannot follow, so θ is found by a line search first: at each of
 * θ̂ + `grid` the objects are polished in that light, and the best (θ, objects) is kept; then θ joins
 * the ascent, alone and together with one object's turn about the vertical.
 *
 *     θ* = argmax_{θ ∈ θ̂ + grid} max_objects log p(x | objects, θ),   then (θ, objects) ± steps while log p rises
 *
 * θ stays within ±`yawLimit` (the orbit's range and some slack).
 *
 * {@link refineObjects} holds the light (any camera, the fixed one included) and reads the objects alone
 * again: the same ascent, then each object tried as each other type, kept where log p rises.
 *
 * @example
 * ```ts
 * import { RenderLikelihood } from "./likelihood.ts";
 * import { refineWithLight } from "./light_refine.ts";
 * const lik = new RenderLikelihood({ size: 32, sigma: 0.1, blurPx: 1 });
 * lik.setImage(new Float32Array(32 * 32));
 * const R = Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]);
 * const read = refineWithLight(lik, [{ type: 1, u: 0, v: 0, z: 0, R }], 0.1);
 * read.yaw; // the camera's angle, radians
 * ```
 * @module
 */
import { axisRotation, PRIMITIVE_TYPES } from "../scenes/primitives.ts";
import { matMul3 } from "../metrics/slots.ts";
import type { FitObject } from "./fit.ts";
import type { RenderLikelihood } from "./likelihood.ts";
import { viewLight } from "./orbit.ts";

/** Options of {@link refineWithLight}. */
export interface LightRefineOptions {
  /** First steps: θ (radians), the centre (world units on the image plane), the turns (radians). */
  steps?: { yaw: number; uv: number; z: number; turn: number };
  /** How many times the steps halve after a sweep that kept nothing (5). */
  halvings?: number;
  /** θ is kept within ±this (radians; default 50°: the orbit's ±40° and some slack). */
  yawLimit?: number;
  /** The offsets from the start at which θ is tried, the objects polished in each (radians). */
  grid?: readonly number[];
  /** False: θ stays where it starts and only the objects move (no line search); default true. */
  moveLight?: boolean;
}

/** What {@link refineWithLight} found: the objects, θ, log p there, and the renders it took. */
export interface LightRefinement {
  objects: FitObject[];
  yaw: number;
  logLik: number;
  renders: number;
}

const DEG = Math.PI / 180;
/** Default first steps: 4° of θ, ½ px of a 64-px view (3.2 / 64 / 2), 0.05 of depth, 6° of turn. */
export const DEFAULT_LIGHT_STEPS = { yaw: 4 * DEG, uv: 0.025, z: 0.05, turn: 6 * DEG };

/** Default θ offsets of the line search: 0, ±3°, …, ±15°. */
export const DEFAULT_YAW_GRID: readonly number[] = [0, 3, -3, 6, -6, 9, -9, 12, -12, 15, -15].map((d) =>
  d * DEG
);

/**
 * θ tried over the whole orbit: −45°, −40°, …, 45° (absolute angles: start the search at θ = 0), for a
 * camera guide whose answer is too far off for {@link DEFAULT_YAW_GRID}'s ±15° around it.
 */
export const ORBIT_YAW_GRID: readonly number[] = Array.from({ length: 19 }, (_, k) => (-45 + 5 * k) * DEG);

/**
 * Refines θ (the camera's angle about the vertical: the light is `viewLight(θ)`) and `objects` by
 * coordinate ascent on `lik`'s log p, for the image `lik` holds. Leaves `lik`'s light at the answer.
 */
export function refineWithLight(
  lik: RenderLikelihood,
  objects: readonly FitObject[],
  yaw: number,
  options: LightRefineOptions = {},
): LightRefinement {
  const first = options.steps ?? DEFAULT_LIGHT_STEPS, halvings = options.halvings ?? 5;
  const moveLight = options.moveLight ?? true;
  const limit = moveLight ? options.yawLimit ?? 50 * DEG : Math.abs(yaw);
  if (!(Number.isInteger(halvings) && halvings >= 0)) {
    throw new RangeError(`halvings must be an integer ≥ 0, got ${halvings}`);
  }
  const start = lik.renders;
  const start0: FitObject[] = objects.map((o) => ({ ...o, R: Float64Array.from(o.R) }));
  const clamp = (t: number) => Math.max(-limit, Math.min(limit, t));
  const score = (t: number, os: readonly FitObject[]) => {
    lik.setLight(viewLight(t));
    return lik.logLik(os);
  };
  // The current (θ, objects) and log p there, set by each start of the line search below.
  let theta = 0, objs = start0, best = -Infinity;
  // One pass of the halving schedule; the light moves only when `light` is set.
  const ascend = (light: boolean) => {
    let scale = 1;
    for (let h = 0; h <= halvings; h++, scale /= 2) {
      for (let sweep = 0; sweep < 40; sweep++) {
        let kept = false;
        if (light) {
          // θ, one step either way; then θ with one object's turn about the vertical, the trade the
          // shading allows, taken together.
          for (const s of [1, -1]) {
            const t = theta + s * first.yaw * scale;
            if (Math.abs(t) > limit) continue;
            const lp = score(t, objs);
            if (lp > best) [best, theta, kept] = [lp, t, true];
            for (let k = 0; k < objs.length; k++) {
              if (objs[k].type === 0) continue;
              for (const q of [1, -1]) {
                const trial = objs.slice();
                trial[k] = { ...objs[k], R: matMul3(axisRotation(1, q * first.turn * scale), objs[k].R) };
                const lq = score(t, trial);
                if (lq > best) [best, theta, objs, kept] = [lq, t, trial, true];
              }
            }
          }
          lik.setLight(viewLight(theta));
        }
        // Each object's centre and turns.
        for (let k = 0; k < objs.length; k++) {
          const moves: ((o: FitObject, s: number) => FitObject)[] = [
            (o, s) => ({ ...o, u: o.u + s * first.uv * scale }),
            (o, s) => ({ ...o, v: o.v + s * first.uv * scale }),
            ...(lik.perspective
              ? [(o: FitObject, s: number) => ({ ...o, z: o.z + s * first.z * scale })]
              : []),
            ...(objs[k].type === 0 ? [] : [0, 1, 2].map((a) => (o: FitObject, s: number) => ({
              ...o,
              R: matMul3(axisRotation(a, s * first.turn * scale), o.R),
            }))),
          ];
          for (const move of moves) {
            for (const s of [1, -1]) {
              const trial = objs.slice();
              trial[k] = move(objs[k], s);
              const lp = lik.logLik(trial);
              if (lp > best) [best, objs, kept] = [lp, trial, true];
            }
          }
        }
        if (!kept) break;
      }
    }
  };
  // θ by a line search, the objects polished in each light tried (the trade between the light and a
  // turn of the objects makes a valley a step at a time cannot follow); then both together.
  const grid = moveLight ? options.grid ?? DEFAULT_YAW_GRID : [0];
  const theta0 = clamp(yaw);
  let top = { theta: theta0, objs: start0, best: -Infinity };
  for (const offset of grid) {
    theta = clamp(theta0 + offset);
    objs = start0;
    best = score(theta, objs);
    ascend(false);
    if (best > top.best) top = { theta, objs, best };
  }
  ({ theta, objs, best } = top);
  if (moveLight) ascend(true);
  lik.setLight(viewLight(theta));
  return { objects: objs, yaw: theta, logLik: best, renders: lik.renders - start };
}

/**
 * The objects read again by the likelihood with the light held at `yaw`: polished by the coordinate
 * ascent above (centre, depth under the perspective camera, turns), then each object tried as each
 * other type in its place — polished again, kept if log p rises. A type the guide misread leaves the
 * polish fitting the wrong shape (under the perspective camera, often at the wrong depth); the
 * likelihood tells the shapes apart once each is posed. The type's prior is uniform, so log p alone
 * compares them.
 *
 *     (type_k, pose)* = argmax over k's types of max_pose log p(x | objects, θ),   object by object
 */
export function refineObjects(
  lik: RenderLikelihood,
  objects: readonly FitObject[],
  yaw: number,
  options: Omit<LightRefineOptions, "grid" | "yawLimit" | "moveLight"> = {},
): LightRefinement {
  const start = lik.renders;
  const polish = (os: readonly FitObject[]) =>
    refineWithLight(lik, os, yaw, { ...options, moveLight: false });
  let best = polish(objects);
  for (let k = 0; k < objects.length; k++) {
    for (let type = 0; type < PRIMITIVE_TYPES.length; type++) {
      if (type === best.objects[k].type) continue;
      const trial = polish(best.objects.map((o, j) => j === k ? { ...o, type } : o));
      if (trial.logLik > best.logLik) best = trial;
    }
  }
  lik.setLight(viewLight(yaw));
  return { ...best, renders: lik.renders - start };
}
