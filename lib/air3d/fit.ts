/**
 * Render-and-compare: fitting a scene to one image through the renderer (analysis by synthesis, as
 * inverse graphics intends). A scene hypothesis is scored by the MDL-style cost
 *
 *     C(S) = ‖x − render(S)‖²  +  λ·|S|,
 *
 * the squared error of its rendering plus λ per object (an object must explain more than λ of
 * squared error to be worth keeping). From a starting scene — the amortised network's proposal, or
 * nothing at all (the direct-optimisation baseline, paper Fig. 6d) — {@link fitScene} lowers C by
 *
 * - **continuous moves**: a pattern search on each object's image-plane centre (u, v), its depth z
 *   (perspective camera only: there z changes its size), its rotation R ← R_axis(±δ)·R about the
 *   three world axes, and a cylinder's centre along the image of its axis; a step that helps is
 *   repeated, and all steps halve when none helps (derivative-free: the point-sampled image is
 *   piecewise constant in a pose, so finite differences of a tiny step see nothing); in the polishes
 *   that decide what happens next (the first, each round's fine one, the last), a sweep with no gain
 *   is followed by joint steps of a rotation and a centre coordinate together before the steps
 *   halve — the error's valleys run along such pairs, where single steps stall a few degrees off;
 * - **a screen of turns** after the first polish: each cube or cylinder with error left in its box
 *   is tried in its dense set of rotations (below) at its centre, one windowed render each, and the
 *   best polished, kept if C falls (a pose the network got far wrong — a cylinder seen end-on read
 *   as lying down — is beyond the polish's reach); under perspective a cylinder's mirror image is
 *   tried first;
 * - **discrete moves**, each followed by a polish and kept only if C falls: *births* — the network's
 *   own weaker proposals, then every type in a few orientations where the squared residual, summed
 *   over an object-sized window, is largest (screened by a short polish of the newcomer's centre,
 *   the best three polished in full); *rebirths* — an object taken out and one or two births put
 *   where the residual then peaks; *deaths*; *type changes* and *re-poses* of the objects with more
 *   than λ/2 of error in their box, the worst first (every other type, and a cube's or cylinder's
 *   own, tried in a dense set of orientations at the object's centre, each screened by one windowed
 *   render, the best three polished); *mirror
 *   flips* (the Necker reversal: an object reflected through the image plane has the same outline);
 *   *depth swaps* of two overlapping objects (orthographic: depth is seen only through occlusion).
 *   A round tries them in that order under the orthographic camera; under perspective the type
 *   changes and mirror flips come before the rebirths and deaths (see `Thrift.typeFirst`), and after
 *   the deaths come *merges*: two overlapping objects of one type replaced by one between them.
 *
 * Centres stay within the prior's ranges (`range`). Each round of discrete moves begins with a fine
 * polish, so that its gates see the error a right pose leaves (near 0) rather than the coarse
 * search's; moves other than births are tried only while more than λ of squared error is left,
 * rebirths only while more than 4λ is.
 * Every hypothesis rendered is counted; `budget` caps them per image. A trial move renders only the
 * moved object, over the rest of the hypothesis (drawn once with its depths while that object moves,
 * and not counted: `Rasteriser.drawOver`), and sums the change of error over the row spans where it
 * was drawn and where the object was held (the renderer reports the spans it scanned). {@link fitFromStarts} restarts the whole
 * search from other proposals unless a fit is settled (at most λ unexplained, no births its proposal
 * did not ask for, and the next proposal counts as many objects), and keeps the best.
 *
 * @example
 * ```ts
 * import { fitScene } from "./fit.ts";
 * import { renderScene } from "../scenes/render.ts";
 * const truth = renderScene([{ type: "cube", position: [0.2, -0.1, 0], rotation: [0.4, 0.3, 0.2] }], { size: 32 });
 * const fit = fitScene(truth.image, [], { size: 32, lambda: 4, budget: 3000 });
 * fit.objects.length; // 1 (born where the residual was, then polished)
 * ```
 * @module
 */
import {
  axisRotation,
  type Camera,
  DEFAULT_FOV_DEG,
  DEFAULT_SCALE,
  eulerZYX,
  POSITION_RANGE,
  PRIMITIVE_TYPES,
  type PrimitiveType,
  rotationAbout,
  type Scene,
  VIEW_HALF_WIDTH,
} from "../scenes/primitives.ts";
import { projectPoint, Rasteriser, unprojectAtZ } from "../scenes/render.ts";
import { eulerFromMatrix, matMul3, type SlotPrediction } from "../metrics/slots.ts";

/** One object of a hypothesis: type index, image-plane centre (u, v), world depth z, rotation R (row-major). */
export interface FitObject {
  type: number;
  u: number;
  v: number;
  z: number;
  R: Float64Array;
}

export interface FitOptions {
  /** Image side in pixels. */
  size: number;
  /** The camera of the image (default: the reproduction's orthographic camera). */
  camera?: Camera;
  /** λ: the MDL price of one object, in squared-error units. */
  lambda: number;
  /** Most renders per image (≥ 1). */
  budget: number;
  /** Largest number of objects a hypothesis may hold; default 3. */
  maxObjects?: number;
  /** Discrete moves (births, deaths, type changes, depth swaps); default true. False: polish only. */
  moves?: boolean;
  /**
   * Where a centre may be: world x, y and z ranges (the prior's support); default the scene
   * sampler's `POSITION_RANGE` widened by {@link RANGE_SLACK}. Hypotheses outside cost +∞.
   */
  range?: readonly (readonly [number, number])[];
  /**
   * Joint steps (a rotation and a centre coordinate together) in the polishes that decide what
   * happens next: the first, each round's fine one and the last; default true. False: single steps.
   */
  joint?: boolean;
  /** Keep the hypothesis after the first polish, after every accepted move and at the end (`steps`). */
  record?: boolean;
}

/** A recorded step of a fit: the move accepted, the renders spent so far, C, and the hypothesis. */
export interface FitStep {
  move: "start" | "birth" | "rebirth" | "death" | "type" | "mirror" | "swap" | "merge" | "final";
  renders: number;
  cost: number;
  objects: FitObject[];
}

/** How far beyond the sampler's ranges a fitted centre may go by default (world units). */
export const RANGE_SLACK = 0.05;

/** What {@link fitScene} found. */
export interface FitResult {
  objects: FitObject[];
  /** C of the result: squared error + λ·count. */
  cost: number;
  /** Its squared error alone. */
  sse: number;
  /** Renders spent. */
  renders: number;
  /** (renders, C) each time the best cost fell: the error-vs-iterations curve. */
  trace: [number, number][];
  /** With `record`: the hypothesis after each accepted move. */
  steps?: FitStep[];
}

/** Rebirths are tried where more than this many objects' price λ of squared error is left. */
const REBIRTH_AT = 4;
/** Squared error in an object's box above which its turn is screened after the first polish. */
const SCREEN_AT = 4;
/** Births screened by their centre alone that go on to a polish of their whole pose. */
const SCREENED_BIRTHS = 3;
/** Depth of an orthographic birth in front of / behind the others (world z; the scenes' z ∈ [−0.3, 0.3]). */
const FRONT_Z = 0.3, BACK_Z = -0.3;
/** First steps of the pattern search: centre (image-plane units ≈ 0.8 px at 64²), depth, rotation (rad). */
const STEP_UV = 0.04, STEP_Z = 0.06, STEP_ANGLE = 0.15;
/** The search stops when its steps have halved below this share of the first ones. */
const FINE = 1 / 16, COARSE = 1 / 4;

/** Rotations tried for a cube's birth: the identity and a few turns (its 24 symmetries make the rest near one). */
const CUBE_TURNS: Float64Array[] = [
  eulerZYX(0, 0, 0),
  eulerZYX(Math.PI / 4, Math.PI / 5, Math.PI / 6),
  eulerZYX(0, 0, Math.PI / 4),
  eulerZYX(Math.PI / 4, 0, 0),
  eulerZYX(0, Math.PI / 4, 0),
  eulerZYX(Math.PI / 4, Math.PI / 4, 0),
];

/**
 * Rotations tried for a cylinder's birth: its axis (local y) turned to point along each of 9 directions
 * over the half-sphere — towards the camera, tilted 45° and lying across the view, at four azimuths
 * each (its turn about its own axis shows nothing, so these cover what can be seen).
 */
const CYLINDER_TURNS: Float64Array[] = [
  [0, 0],
  ...[45, 90].flatMap((e) => [0, 45, 90, 135].map((a) => [e, a])),
]
  .map(([elevation, azimuth]) => {
    // Rx(π/2 − e) takes the axis e_y to (0, sin e, cos e), e from the view axis z; Rz(a) then spins it about z.
    const e = (elevation * Math.PI) / 180, a = (azimuth * Math.PI) / 180;
    return eulerZYX(a, 0, Math.PI / 2 - e);
  });

/** Rotations tried for a birth, by type: a sphere needs only one. */
const TURNS: Float64Array[][] = [[eulerZYX(0, 0, 0)], CUBE_TURNS, CYLINDER_TURNS];

/**
 * Dense sets of rotations for a re-pose (and a type change), screened by one render each: a cube's
 * identity and turns of ±22.5° and ±45° about its 13 symmetry axes (3 face, 6 edge, 4 vertex
 * directions) — 53 rotations spread over the cube's rotations modulo its symmetries (every one
 * within ≈ 20° of one of them), from where the pattern search converges; a cylinder's axis in 33
 * directions over the half-sphere (elevation 0°–90° in steps of 22.5°, 8 azimuths over 180°).
 */
const DENSE_TURNS: Float64Array[][] = [
  [eulerZYX(0, 0, 0)],
  [
    eulerZYX(0, 0, 0),
    ...[
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
      [1, 1, 0],
      [1, -1, 0],
      [1, 0, 1],
      [1, 0, -1],
      [0, 1, 1],
      [0, 1, -1],
      [1, 1, 1],
      [1, 1, -1],
      [1, -1, 1],
      [-1, 1, 1],
    ].flatMap((axis) => [-45, -22.5, 22.5, 45].map((deg) => rotationAbout(axis, (deg * Math.PI) / 180))),
  ],
  [
    eulerZYX(0, 0, Math.PI / 2),
    ...[22.5, 45, 67.5, 90].flatMap((e) =>
      [0, 22.5, 45, 67.5, 90, 112.5, 135, 157.5].map((a) =>
        eulerZYX((a * Math.PI) / 180, 0, Math.PI / 2 - (e * Math.PI) / 180)
      )
    ),
  ],
];

/** A box's pixel rows and columns, [i0, i1, j0, j1]. */
type BoxBuffer = [number, number, number, number];

/**
 * How a fit spends its renders, by camera. Under perspective each object has one more parameter (z)
 * and a fit took about twice the orthographic one's renders (≈ 4950 per image at budget 12000 on the
 * design seed's calibration scenes), so there it is thriftier; on those scenes (seed 0, λ 3) that
 * took 2900 renders per image, for count 0.986 → 0.980, type 0.994 → 0.984, z MAE 0.027 → 0.035 and
 * median rotation error 1.2° / 0.4° → 1.5° / 0.7° (cube / cylinder). Type changes first then
 * counted more images right at the same renders (seed 0 calibration / test scenes at λ 2: 0.982 →
 * 0.988 / 0.980 → 0.982; seed 6: 0.976 → 0.982 / 0.970 → 0.972). Merges then counted 0.988 / 0.986 and
 * 0.984 / 0.980 there, for 5 % more renders.
 */
interface Thrift {
  /** Type changes and re-poses are tried for objects with more than this many λ of error in their box. */
  typeAt: number;
  /**
   * Joint steps are tried for an object only where more than this many λ of squared error lies
   * within its reach (its box and 2 px more): no step of it can gain more than that (−∞: always).
   */
  jointAt: number;
  /** A fit that leaves more than λ unexplained is settled all the same (see {@link fitFromStarts}). */
  settleOnCount: boolean;
  /** The share of the budget a restart (a fit from a later start) gets. */
  restartBudget: number;
  /**
   * Type changes (and mirror flips) come before rebirths and deaths in a round: an object of the
   * wrong type stretched over a neighbour it partly hides is set right first (a cylinder read where
   * a cube stands in front of a sphere), and the costlier rebirths then start from it.
   */
  typeFirst: boolean;
  /** Merges of two overlapping objects of one type into one, after the deaths. */
  merges: boolean;
}
const THRIFT: Record<"orthographic" | "perspective", Thrift> = {
  orthographic: {
    typeAt: 1 / 2,
    jointAt: -Infinity,
    settleOnCount: false,
    restartBudget: 1,
    typeFirst: false,
    merges: false,
  },
  perspective: {
    typeAt: 2,
    jointAt: 1 / 3,
    settleOnCount: true,
    restartBudget: 1 / 4,
    typeFirst: true,
    merges: true,
  },
};

/** The {@link Thrift} of a fit's camera. */
function thriftOf(options: FitOptions): Thrift {
  return THRIFT[options.camera?.projection === "perspective" ? "perspective" : "orthographic"];
}
const NO_TURN: [number, number, number] = [0, 0, 0];

/** The four sign pairs of a joint step. */
const JOINT_SIGNS = [[1, 1], [1, -1], [-1, 1], [-1, -1]] as const;

/**
 * The scene a hypothesis stands for: world positions on each centre's pixel ray at its z. The
 * rotations go to the rasteriser as the matrices themselves (`objects.map((o) => o.R)`), so the
 * scene's Euler angles are left at zero.
 */
export function sceneOf(objects: readonly FitObject[], camera: Camera | undefined): Scene {
  return objects.map((o) => {
    const [x, y] = camera ? unprojectAtZ(o.u, o.v, o.z, camera) : [o.u, o.v];
    return { type: PRIMITIVE_TYPES[o.type], position: [x, y, o.z], rotation: NO_TURN };
  });
}

/** The radius of a ball around each type's unit primitive, times its scale: sphere 1, cube √3, cylinder √2. */
const REACH = [1, Math.sqrt(3), Math.sqrt(2)].map((r) => r * DEFAULT_SCALE);

/**
 * One image's fit: its target, a rasteriser, the rendering of the hypothesis the pattern search
 * holds (`held`, with its squared error), a scratch image, and the render counter.
 */
class Fitter {
  readonly px: number;
  readonly held: Float32Array;
  /** (held − image)² per pixel. */
  readonly heldError: Float64Array;
  readonly scratch: Float32Array;
  heldSse = 0;
  renders = 0;
  best = Infinity;
  readonly trace: [number, number][] = [];
  readonly perspective: boolean;
  readonly maxObjects: number;
  /** Perspective: the ray slope per unit of image-plane coordinate, tan(fov/2) / 1.6. */
  readonly slope: number;
  /** The camera's distance from the origin. */
  readonly distance: number;
  readonly range: readonly (readonly [number, number])[];
  readonly thrift: Thrift;
  constructor(
    readonly image: Float32Array,
    readonly raster: Rasteriser,
    readonly options: FitOptions,
  ) {
    this.px = options.size * options.size;
    this.held = new Float32Array(this.px);
    this.scratch = new Float32Array(this.px);
    this.restImage = new Float32Array(this.px);
    this.restDepth = new Float64Array(this.px);
    this.newSpans = new Int16Array(2 * options.size);
    this.oldSpans = new Int16Array(2 * options.size);
    clearSpans(this.newSpans, [0, options.size - 1], options.size);
    clearSpans(this.oldSpans, [0, options.size - 1], options.size);
    this.heldError = new Float64Array(this.px);
    this.perspective = options.camera?.projection === "perspective";
    this.thrift = thriftOf(options);
    this.maxObjects = options.maxObjects ?? 3;
    this.distance = options.camera?.distance ?? 5;
    this.slope = Math.tan(((options.camera?.fovDeg ?? DEFAULT_FOV_DEG) * Math.PI) / 360) / VIEW_HALF_WIDTH;
    this.range = options.range ??
      POSITION_RANGE.map(([lo, hi]) => [lo - RANGE_SLACK, hi + RANGE_SLACK] as const);
  }

  get spent(): boolean {
    return this.renders >= this.options.budget;
  }

  /**
   * The world (x, y) of an object's centre: where its pixel's ray reaches depth z. The camera is at
   * its default pose (on +z, looking down −z), so this is `unprojectAtZ` written out — orthographic:
   * (u, v); perspective: (d − z)·g·(u, v), d the camera's distance and g the ray slope.
   */
  world(o: FitObject): [number, number] {
    return [this.worldX(o), this.worldY(o)];
  }

  /** The x of {@link world} alone (no array: the trials call it, and {@link worldY}, once each). */
  worldX(o: FitObject): number {
    return this.perspective ? (this.distance - o.z) * (this.slope * o.u) : o.u;
  }

  /** The y of {@link world} alone. */
  worldY(o: FitObject): number {
    return this.perspective ? (this.distance - o.z) * (this.slope * o.v) : o.v;
  }

  /** Whether an object's world centre lies within the range a centre may take. */
  inRange(o: FitObject): boolean {
    const r = this.range, x = this.worldX(o), y = this.worldY(o);
    return x >= r[0][0] && x <= r[0][1] && y >= r[1][0] && y <= r[1][1] && o.z >= r[2][0] && o.z <= r[2][1];
  }

  /** The object with its centre moved into the range (nearest point; z first, then x and y at that z). */
  clamped(o: FitObject): FitObject {
    if (this.inRange(o)) return o;
    const cam = this.options.camera, r = this.range;
    const clamp = (v: number, [lo, hi]: readonly [number, number]) => Math.min(hi, Math.max(lo, v));
    const z = clamp(o.z, r[2]);
    const [x, y] = cam ? unprojectAtZ(o.u, o.v, z, cam) : [o.u, o.v];
    const [u, v] = cam
      ? projectPoint([clamp(x, r[0]), clamp(y, r[1]), z], cam)
      : [clamp(x, r[0]), clamp(y, r[1])];
    return { ...o, u, v, z };
  }

  /** The scene a hypothesis stands for (as {@link sceneOf}). */
  scene(objects: FitObject[]): Scene {
    return objects.map((o) => {
      const [x, y] = this.world(o);
      return { type: PRIMITIVE_TYPES[o.type], position: [x, y, o.z], rotation: NO_TURN };
    });
  }

  /** Notes C on the trace when it is a new best; returns it. */
  note(c: number): number {
    if (c < this.best) {
      this.best = c;
      this.trace.push([this.renders, c]);
    }
    return c;
  }

  /** C(S) = ‖x − render(S)‖² + λ·|S| (one full render, which becomes the held one). */
  cost(objects: FitObject[]): number {
    this.raster.draw(this.scene(objects), this.held, objects.map((o) => o.R));
    this.renders++;
    let e = 0;
    const { held, image, heldError } = this;
    for (let i = 0; i < this.px; i++) {
      const d = held[i] - image[i];
      e += heldError[i] = d * d;
    }
    this.heldSse = e;
    return this.note(e + this.options.lambda * objects.length);
  }

  /**
   * The pixel rows and columns [i0, i1, j0, j1] an object can cover (a ball around it, projected;
   * 1 px margin), into `out` (a trial passes a buffer it keeps: no array per trial).
   */
  box(o: FitObject, out: BoxBuffer = [0, 0, 0, 0]): BoxBuffer {
    const size = this.options.size, rho = REACH[o.type];
    // Orthographic: the projection of the rotated unit box, s·Σ_i |R_ji| along image axis j (a sphere: s).
    const [hu, hv] = o.type === 0
      ? [DEFAULT_SCALE, DEFAULT_SCALE]
      : [0, 3].map((r) => DEFAULT_SCALE * (Math.abs(o.R[r]) + Math.abs(o.R[r + 1]) + Math.abs(o.R[r + 2])));
    let uLo = o.u - hu, uHi = o.u + hu, vLo = o.v - hv, vHi = o.v + hv;
    if (this.perspective) {
      // Camera coordinates (x, y, depth) of the centre: (u·g·d, v·g·d, d). A sphere's box is its
      // ball's; a cube's or cylinder's the hull of its own box's 8 corners c + s·R(±1, ±1, ±1).
      const d = this.distance - o.z,
        g = this.slope,
        cx = o.u * g * d,
        cy = o.v * g * d;
      uLo = vLo = Infinity, uHi = vHi = -Infinity;
      for (let corner = 0; corner < 8; corner++) {
        let x = cx, y = cy, depth = d;
        if (o.type === 0) {
          x += corner & 1 ? rho : -rho, y += corner & 2 ? rho : -rho, depth += corner & 4 ? rho : -rho;
        } else {
          const a = corner & 1 ? 1 : -1,
            b = corner & 2 ? 1 : -1,
            e = corner & 4 ? 1 : -1,
            R = o.R,
            s = DEFAULT_SCALE;
          x += s * (R[0] * a + R[1] * b + R[2] * e), y += s * (R[3] * a + R[4] * b + R[5] * e);
          depth -= s * (R[6] * a + R[7] * b + R[8] * e); // the camera looks down −z
        }
        if (depth <= 0) return (out[0] = 0, out[1] = size - 1, out[2] = 0, out[3] = size - 1, out);
        const u = x / (depth * g), v = y / (depth * g);
        if (u < uLo) uLo = u;
        if (u > uHi) uHi = u;
        if (v < vLo) vLo = v;
        if (v > vHi) vHi = v;
      }
    }
    const pixel = (2 * VIEW_HALF_WIDTH) / Math.max(1, size - 1);
    const col = (x: number) => (x + VIEW_HALF_WIDTH) / pixel,
      row = (y: number) => (VIEW_HALF_WIDTH - y) / pixel;
    out[0] = Math.floor(row(vHi)) - 1, out[1] = Math.ceil(row(vLo)) + 1;
    out[2] = Math.floor(col(uLo)) - 1, out[3] = Math.ceil(col(uHi)) + 1;
    return out;
  }
  readonly boxOf: BoxBuffer = [0, 0, 0, 0];

  /**
   * C of the held hypothesis `objects` with object k replaced by `o`, rendering only `o` over the
   * rest of the hypothesis (into the scratch image); `commit` then makes it the held one. Only the
   * pixels in the row spans where `o` was drawn or where object k was held can differ from the held
   * rendering, so only those are summed (the other terms of Σ (new − x)² − (held − x)² are exactly 0).
   */
  tryMove(objects: FitObject[], k: number, o: FitObject): number {
    if (!this.inRange(o)) return Infinity;
    // The rest of the scene is drawn once (with its depths) while only object k moves; each trial
    // draws the moved object over it, in the window its box covers.
    this.restFor(objects, k);
    const size = this.options.size, { heldError, scratch, image, restImage } = this;
    const ns = this.newSpans, os = this.oldSpans;
    // The scratch image back to the rest where the last trial drew.
    for (let i = this.newRows[0]; i <= this.newRows[1]; i++) {
      for (let p = i * size + ns[2 * i], end = i * size + ns[2 * i + 1]; p <= end; p++) {
        scratch[p] = restImage[p];
      }
      ns[2 * i] = size, ns[2 * i + 1] = -1;
    }
    const b = this.box(o, this.boxOf);
    const i0 = Math.max(0, b[0]), i1 = Math.min(size - 1, b[1]);
    // One object drawn: its scene and matrix in buffers kept for the purpose (`scene([o])`, written out).
    const one = this.one[0];
    one.type = PRIMITIVE_TYPES[o.type];
    one.position[0] = this.worldX(o), one.position[1] = this.worldY(o), one.position[2] = o.z;
    this.oneR[0] = o.R;
    this.raster.drawOver(this.one, scratch, this.restDepth, i0, i1, b[2], b[3], this.oneR, false, ns);
    this.renders++;
    this.newRows[0] = i0, this.newRows[1] = i1;
    if (this.spansOf !== objects[k]) this.spansFromBox(objects[k]);
    const r0 = Math.min(i0, this.oldRows[0]), r1 = Math.max(i1, this.oldRows[1]);
    let delta = 0;
    for (let i = r0; i <= r1; i++) {
      // Row i's span where o was drawn and where object k was held, in order (merged where they meet).
      let lo = ns[2 * i], hi = ns[2 * i + 1], lo2 = os[2 * i], hi2 = os[2 * i + 1];
      if (lo > hi) lo = lo2, hi = hi2, lo2 = size, hi2 = -1;
      else if (lo2 <= hi2) {
        if (lo2 <= hi + 1 && lo <= hi2 + 1) {
          if (lo2 < lo) lo = lo2;
          if (hi2 > hi) hi = hi2;
          lo2 = size, hi2 = -1;
        } else if (lo2 < lo) {
          const l = lo, h = hi;
          lo = lo2, hi = hi2, lo2 = l, hi2 = h;
        }
      }
      for (let p = i * size + lo, end = i * size + hi; p <= end; p++) {
        const dn = scratch[p] - image[p];
        delta += dn * dn - heldError[p];
      }
      for (let p = i * size + lo2, end = i * size + hi2; p <= end; p++) {
        const dn = scratch[p] - image[p];
        delta += dn * dn - heldError[p];
      }
    }
    this.windowDelta = delta;
    return this.note(this.heldSse + delta + this.options.lambda * objects.length);
  }
  readonly one: [
    { type: PrimitiveType; position: [number, number, number]; rotation: [number, number, number] },
  ] = [
    { type: "sphere", position: [0, 0, 0], rotation: [0, 0, 0] },
  ];
  readonly oneR: Float64Array[] = [new Float64Array(9)];
  /** The rendering, with depths, of the hypothesis `restOf` less object `restK`. */
  readonly restImage: Float32Array;
  readonly restDepth: Float64Array;
  restOf: FitObject[] = [];
  restK = -1;
  /**
   * Row spans (columns lo..hi of row i at 2i, 2i + 1; lo > hi: none) of the last trial's draw
   * (`newSpans`, rows `newRows`; the scratch image is the rest's outside them) and of where the held
   * object `spansOf` can show (`oldSpans`, rows `oldRows`).
   */
  readonly newSpans: Int16Array;
  readonly oldSpans: Int16Array;
  readonly newRows: [number, number] = [0, -1];
  readonly oldRows: [number, number] = [0, -1];
  spansOf: FitObject | null = null;
  windowDelta = 0;

  /** The old spans: those of object o's box (it shows nowhere else). */
  spansFromBox(o: FitObject): void {
    const size = this.options.size, a = this.box(o, this.boxOf), os = this.oldSpans;
    const i0 = Math.max(0, a[0]),
      i1 = Math.min(size - 1, a[1]),
      lo = Math.max(0, a[2]),
      hi = Math.min(size - 1, a[3]);
    clearSpans(os, this.oldRows, size);
    for (let i = i0; i <= i1; i++) os[2 * i] = lo, os[2 * i + 1] = hi;
    this.oldRows[0] = i0, this.oldRows[1] = i1;
    this.spansOf = o;
  }

  /** Makes the rest rendering that of `objects` less object k, unless it already is. */
  restFor(objects: FitObject[], k: number): void {
    const held = this.restOf;
    if (this.restK === k && held.length === objects.length) {
      let same = true;
      for (let i = 0; i < objects.length && same; i++) same = i === k || objects[i] === held[i];
      if (same) return;
    }
    const rest = objects.filter((_, i) => i !== k), n = this.options.size - 1;
    this.restImage.fill(0), this.restDepth.fill(Infinity);
    this.raster.drawOver(this.scene(rest), this.restImage, this.restDepth, 0, n, 0, n, rest.map((o) => o.R));
    this.restOf = objects.slice(), this.restK = k;
    this.scratch.set(this.restImage);
    clearSpans(this.newSpans, this.newRows, n + 1);
    this.newRows[0] = 0, this.newRows[1] = -1;
  }

  /**
   * Makes the last {@link tryMove}'s rendering the held one; `kept` is the object the hypothesis now
   * holds in its place (a copy of the scratch trial: see {@link keep}).
   */
  commit(kept: FitObject): void {
    const size = this.options.size, { held, heldError, scratch, image } = this;
    const ns = this.newSpans, os = this.oldSpans;
    const r0 = Math.min(this.newRows[0], this.oldRows[0]), r1 = Math.max(this.newRows[1], this.oldRows[1]);
    for (let i = r0; i <= r1; i++) {
      // Both spans (a pixel in both is set twice, to the same values).
      for (let p = i * size + ns[2 * i], end = i * size + ns[2 * i + 1]; p <= end; p++) {
        const d = (held[p] = scratch[p]) - image[p];
        heldError[p] = d * d;
      }
      for (let p = i * size + os[2 * i], end = i * size + os[2 * i + 1]; p <= end; p++) {
        const d = (held[p] = scratch[p]) - image[p];
        heldError[p] = d * d;
      }
      // The committed object's spans are the held object's now.
      os[2 * i] = ns[2 * i], os[2 * i + 1] = ns[2 * i + 1];
    }
    this.oldRows[0] = this.newRows[0], this.oldRows[1] = this.newRows[1];
    this.spansOf = kept;
    this.heldSse += this.windowDelta;
  }

  /** The turn's matrix per axis and angle: a search takes the same few steps many times. */
  readonly turns: Map<number, Float64Array>[] = [new Map(), new Map(), new Map()];

  /**
   * The object moved along one parameter: 0 u, 1 v, 2 z, 3–5 rotation about world x, y, z, 6 the
   * centre along the image of the object's own y axis (a cylinder's axis: a side-on cylinder's
   * error is a narrow valley along it, which steps in u and v alone zigzag down). Written into the
   * scratch object {@link trial} (a turned matrix into the buffer {@link trialR}): the pattern
   * search's trials allocate nothing, and the few it keeps are copied ({@link keep}). `o` may be the
   * trial itself (a joint step moves it twice).
   */
  movedTrial(o: FitObject, p: number, delta: number): FitObject {
    const t = this.trial;
    t.type = o.type, t.u = o.u, t.v = o.v, t.z = o.z, t.R = o.R;
    if (p === 0) t.u += delta;
    else if (p === 1) t.v += delta;
    else if (p === 2) t.z += delta;
    else if (p === 6) {
      const ax = o.R[1], ay = o.R[4], n = Math.hypot(ax, ay) || 1; // R e_y in the image plane
      t.u = o.u + (delta * ax) / n, t.v = o.v + (delta * ay) / n;
    } else {
      const turns = this.turns[p - 3];
      let turn = turns.get(delta);
      if (!turn) turns.set(delta, turn = axisRotation(p - 3, delta));
      // turn · R into the buffer (R copied first: it may be the buffer).
      this.turnScratch.set(o.R);
      t.R = matMul3(turn, this.turnScratch, this.trialR);
    }
    return t;
  }
  readonly trialR = new Float64Array(9);
  readonly turnScratch = new Float64Array(9);
  readonly trial: FitObject = { type: 0, u: 0, v: 0, z: 0, R: this.trialR };

  /** A copy of the scratch {@link trial} the hypothesis can hold (its matrix copied if it is the buffer). */
  keep(): FitObject {
    const t = this.trial;
    return { type: t.type, u: t.u, v: t.v, z: t.z, R: t.R === this.trialR ? t.R.slice() : t.R };
  }

  /**
   * The parameters the search moves for object k: a sphere has no visible rotation; z only where it
   * shows — always under perspective, and under the orthographic camera where the object's box meets
   * another's (there z decides which is in front, and where two interpenetrate, the curve they meet on).
   */
  params(objects: FitObject[], k: number): number[] {
    const o = objects[k], type = PRIMITIVE_TYPES[o.type];
    const depth = this.perspective || objects.some((q, i) => i !== k && this.overlap(o, q));
    const ps = depth ? [0, 1, 2] : [0, 1];
    return type === "sphere" ? ps : type === "cube" ? [...ps, 3, 4, 5] : [...ps, 6, 3, 4, 5];
  }

  /**
   * Pattern search on the objects `which` (default all): each parameter ± its step, kept when C
   * falls; all steps halve after a sweep with no gain, down to `until` of the first. With `joint`,
   * a sweep with no gain is followed, before the steps halve, by joint steps: each rotation
   * together with each centre coordinate, both signs of each (the error's valleys run along such
   * pairs — a turn whose outline a shift must follow — and single-parameter steps stall in them).
   */
  polish(
    objects: FitObject[],
    until = FINE,
    which?: number[],
    centreOnly = false,
    from = 1,
    joint = false,
  ): [FitObject[], number] {
    const step = [STEP_UV, STEP_UV, STEP_Z, STEP_ANGLE, STEP_ANGLE, STEP_ANGLE, STEP_UV];
    let cur = objects.slice(), best = this.cost(cur);
    const ks = which ?? cur.map((_, k) => k);
    for (let scale = from; scale >= until && !this.spent;) {
      let gained = false;
      for (const k of ks) {
        for (const p of centreOnly ? [0, 1] : this.params(cur, k)) {
          for (const sign of [1, -1]) {
            // A step that helps is repeated while it keeps helping.
            let went = false;
            while (!this.spent) {
              const tc = this.tryMove(cur, k, this.movedTrial(cur[k], p, sign * step[p] * scale));
              if (!(tc < best)) break;
              const o = this.keep();
              this.commit(o);
              cur = cur.slice();
              cur[k] = o;
              best = tc;
              gained = went = true;
            }
            if (went) break;
          }
        }
      }
      if (!gained && joint && !centreOnly) {
        for (const k of ks) {
          // No joint step of object k can gain more than the error within its reach.
          const { jointAt } = this.thrift;
          if (jointAt > -Infinity && this.boxResidual(cur, k, 2) <= jointAt * this.options.lambda) continue;
          const ps = this.params(cur, k);
          for (const turn of ps.filter((p) => p >= 3 && p <= 5)) {
            for (const shift of ps.filter((p) => p <= 2)) {
              for (const [a, b] of JOINT_SIGNS) {
                if (this.spent) break;
                const trial = this.movedTrial(
                  this.movedTrial(cur[k], turn, a * step[turn] * scale),
                  shift,
                  b * step[shift] * scale,
                );
                const tc = this.tryMove(cur, k, trial);
                if (tc < best) {
                  const o = this.keep();
                  this.commit(o);
                  cur = cur.slice();
                  cur[k] = o;
                  best = tc;
                  gained = true;
                  break;
                }
              }
            }
          }
        }
      }
      if (!gained) scale /= 2;
    }
    return [cur, best];
  }

  /**
   * Object k of the held hypothesis `objects` as type `type` (default its own) in each of that
   * type's dense turns, screened by one windowed render each at its centre; the best few are
   * polished (its centre, then its whole pose) and the best returned.
   */
  reposed(
    objects: FitObject[],
    k: number,
    type = objects[k].type,
    keep = SCREENED_BIRTHS,
  ): [FitObject[], number] {
    this.cost(objects);
    const tries: [FitObject, number][] = DENSE_TURNS[type].map((R) => {
      const o = { ...objects[k], type, R };
      return [o, this.tryMove(objects, k, o)];
    });
    return tries.sort((p, q) => p[1] - q[1]).slice(0, keep)
      .map(([o]) => {
        const trial = objects.slice();
        trial[k] = o;
        return this.polish(this.polish(trial, 1 / 2, [k], true)[0], COARSE, [k]);
      })
      .sort((p, q) => p[1] - q[1])[0];
  }

  /**
   * Candidate births at the residual's peak, best first: every type and a few turns, behind or in
   * front of the others, each screened by a short polish of the newcomer's centre alone.
   */
  births(objects: FitObject[], keep = 2): [FitObject[], number][] {
    if (this.spent) return [];
    const [u, v] = this.residualPeak(objects), screened: [FitObject[], number][] = [];
    for (let t = 0; t < PRIMITIVE_TYPES.length; t++) {
      for (const R of TURNS[t]) {
        for (const z of objects.length === 0 ? [0] : [BACK_Z, FRONT_Z]) {
          const newcomer = this.clamped({ type: t, u, v, z, R });
          screened.push(this.polish([...objects, newcomer], 1 / 2, [objects.length], true));
        }
      }
    }
    // The best few then get a polish of the newcomer's whole pose.
    return screened.sort((p, q) => p[1] - q[1]).slice(0, SCREENED_BIRTHS)
      .map(([trial]) => this.polish(trial, COARSE, [objects.length]))
      .sort((p, q) => p[1] - q[1]).slice(0, keep);
  }

  /** Whether two objects' boxes meet (only then can their depth order matter). */
  overlap(a: FitObject, b: FitObject): boolean {
    const p = this.box(a), q = this.box(b);
    return p[0] <= q[1] && q[0] <= p[1] && p[2] <= q[3] && q[2] <= p[3];
  }

  /** Σ of the held rendering's squared residual over object k's box (the error near it). */
  boxResidual(objects: FitObject[], k: number, grow = 0): number {
    const size = this.options.size, [i0, i1, j0, j1] = this.box(objects[k]);
    let e = 0;
    for (let i = Math.max(0, i0 - grow); i <= Math.min(size - 1, i1 + grow); i++) {
      for (let j = Math.max(0, j0 - grow); j <= Math.min(size - 1, j1 + grow); j++) {
        const d = this.held[i * size + j] - this.image[i * size + j];
        e += d * d;
      }
    }
    return e;
  }

  /** The image-plane centre of the object-sized window with the largest squared residual. */
  residualPeak(objects: FitObject[]): [number, number] {
    const { size } = this.options;
    this.cost(objects);
    // Squared residual, then its sums over w×w windows (summed-area table).
    const w = Math.max(1, Math.round(size / 5)), sat = new Float64Array((size + 1) * (size + 1));
    for (let i = 0; i < size; i++) {
      let row = 0;
      for (let j = 0; j < size; j++) {
        const d = this.image[i * size + j] - this.held[i * size + j];
        row += d * d;
        sat[(i + 1) * (size + 1) + j + 1] = sat[i * (size + 1) + j + 1] + row;
      }
    }
    let bi = 0, bj = 0, bv = -1;
    for (let i = 0; i + w <= size; i++) {
      for (let j = 0; j + w <= size; j++) {
        const s = sat[(i + w) * (size + 1) + j + w] - sat[i * (size + 1) + j + w] -
          sat[(i + w) * (size + 1) + j] + sat[i * (size + 1) + j];
        if (s > bv) [bv, bi, bj] = [s, i, j];
      }
    }
    const pixel = (2 * VIEW_HALF_WIDTH) / Math.max(1, size - 1), centre = (w - 1) / 2;
    return [-VIEW_HALF_WIDTH + (bj + centre) * pixel, VIEW_HALF_WIDTH - (bi + centre) * pixel];
  }
}

/** The starting hypothesis of a network's slots: those with presence ≥ `threshold`, in image-plane coordinates. */
export function fromPredictions(
  slots: SlotPrediction[],
  camera: Camera | undefined,
  threshold = 0.5,
): FitObject[] {
  return slots.filter((s) => s.presence >= threshold).map((s) => {
    const [u, v] = camera ? projectPoint(s.position, camera) : s.position;
    return { type: s.type, u, v, z: s.position[2], R: eulerZYX(...s.euler) };
  });
}

/**
 * A fitted hypothesis as `slots` slot predictions: its objects with presence 1 (world positions),
 * then empty slots (presence 0) up to `slots`.
 */
export function toPredictions(
  objects: FitObject[],
  camera: Camera | undefined,
  slots: number,
): SlotPrediction[] {
  const out: SlotPrediction[] = objects.map((o) => {
    const [x, y] = camera ? unprojectAtZ(o.u, o.v, o.z, camera) : [o.u, o.v];
    const euler = eulerFromMatrix(o.R);
    return { presence: 1, type: o.type, position: [x, y, o.z], euler, rotation: eulerZYX(...euler) };
  });
  while (out.length < slots) {
    out.push({ presence: 0, type: 0, position: [0, 0, 0], euler: [0, 0, 0], rotation: eulerZYX(0, 0, 0) });
  }
  return out;
}

/**
 * Fits one image from a starting hypothesis (`start`: the network's proposal, or [] for the direct
 * baseline) and optional extra candidates (`candidates`: the network's weaker slots, tried as births
 * first). See the module comment for the moves.
 */
export function fitScene(
  image: Float32Array,
  start: FitObject[],
  options: FitOptions,
  candidates: FitObject[] = [],
  raster = new Rasteriser({ size: options.size, ...(options.camera ? { camera: options.camera } : {}) }),
): FitResult {
  if (!(options.lambda >= 0)) throw new RangeError(`lambda must be ≥ 0, got ${options.lambda}`);
  if (!(Number.isInteger(options.budget) && options.budget >= 1)) {
    throw new RangeError(`budget must be an integer ≥ 1, got ${options.budget}`);
  }
  const cam = options.camera;
  if (cam && (cam.yaw !== 0 || cam.pitch !== 0)) {
    throw new RangeError(
      `camera must be at the default pose (yaw 0, pitch 0) to fit, got yaw ${cam.yaw}, pitch ${cam.pitch}`,
    );
  }
  if (image.length < options.size * options.size) {
    throw new RangeError(`image must hold ${options.size}×${options.size} values, got ${image.length}`);
  }
  if (options.joint !== undefined && typeof options.joint !== "boolean") {
    throw new TypeError(`joint must be true or false, got ${JSON.stringify(options.joint)}`);
  }
  const joint = options.joint !== false;
  const f = new Fitter(image, raster, options);
  let [objects, c] = f.polish(
    start.slice(0, f.maxObjects).map((o) => f.clamped(o)),
    COARSE,
    undefined,
    false,
    1,
    joint,
  );
  let move: FitStep["move"] = "start";
  const steps: FitStep[] = [];
  const record = () => options.record && steps.push({ move, renders: f.renders, cost: c, objects });
  record();
  const accept = (trial: FitObject[], until = COARSE, which?: number[]): boolean => {
    if (f.spent) return false;
    let tc: number;
    [trial, tc] = f.polish(trial, until, which);
    if (which) [trial, tc] = f.polish(trial, until);
    if (tc < c) {
      [objects, c] = [trial, tc];
      record();
      return true;
    }
    return false;
  };
  const pool = candidates.map((o) => f.clamped(o));
  const sse = () => c - options.lambda * objects.length;
  // A turn the network got far wrong (a cylinder seen end-on read as lying down), which the polish
  // cannot leave: each cube or cylinder with more than SCREEN_AT of error in its box is tried in its
  // dense turns at its polished centre, and the best of them polished, kept if C falls. Under
  // perspective a cylinder first tries its mirror image: a pose 60–75° off polishes into the mirror
  // basin (its outline nearly the true one's), where the dense turns near the truth score worse than
  // the wrong pose until each is polished in full.
  for (let k = 0; options.moves !== false && k < objects.length && !f.spent; k++) {
    if (PRIMITIVE_TYPES[objects[k].type] === "sphere") continue;
    f.cost(objects);
    if (f.boxResidual(objects, k) <= SCREEN_AT) continue;
    if (f.perspective && PRIMITIVE_TYPES[objects[k].type] === "cylinder") {
      move = "mirror";
      if (accept(withObject(objects, k, mirrored(objects[k])), COARSE, [k])) {
        f.cost(objects);
        if (f.boxResidual(objects, k) <= SCREEN_AT) continue;
      }
    }
    move = "type";
    const [trial, tc] = f.reposed(objects, k, objects[k].type, 1);
    if (tc < c) accept(trial, COARSE, [k]);
  }
  for (let round = 0; options.moves !== false && round < 3 && !f.spent; round++) {
    let changed = false;
    // A fine polish first, so that the gates below see the error a right pose leaves (≈ 0), not
    // the coarse search's.
    [objects, c] = f.polish(objects, FINE, undefined, false, COARSE, joint);
    // Births pay only where more than λ of squared error is left to explain. First the network's
    // weaker proposals, then the residual's peak: every type and a few turns, behind or in front
    // of the others (`births`: screened by a polish of the newcomer's centre, the best few in full).
    move = "birth";
    while (objects.length < f.maxObjects && pool.length && sse() > options.lambda && !f.spent) {
      if (accept([...objects, pool.shift()!])) changed = true;
    }
    if (objects.length < f.maxObjects && sse() > options.lambda && !f.spent) {
      const newcomer = objects.length;
      for (const [trial] of f.births(objects)) {
        if (accept(trial, COARSE, [newcomer])) {
          changed = true;
          break;
        }
      }
    }
    // The moves that change an object's type or take one out, each a function that says whether
    // it changed the fit; which comes first is the camera's (`typeFirst`).
    const rebirths = (): boolean => {
      let ch = false;
      // Rebirths, where much is left unexplained: an object taken out and the best birth put where
      // the residual then peaks (a type and pose the polish cannot reach from where it was).
      // And a split: the same with two births (one object read where two overlap).
      move = "rebirth";
      for (const twins of [false, true]) {
        for (let k = 0; k < objects.length && sse() > REBIRTH_AT * options.lambda && !f.spent; k++) {
          if (twins && objects.length >= f.maxObjects) break;
          const rest = objects.filter((_, i) => i !== k);
          let [trial] = f.births(rest, 1)[0] ?? [];
          if (trial && twins) [trial] = f.births(f.polish(trial, COARSE)[0], 1)[0] ?? [];
          if (trial && accept(trial, COARSE, [trial.length - 1])) ch = true;
        }
      }
      return ch;
    };
    const deaths = (): boolean => {
      let ch = false;
      // Deaths (the others polished after it goes: they may have been bent to share its work). One
      // object always stays: the task's scenes hold one to three.
      move = "death";
      for (let k = objects.length - 1; k >= 0 && objects.length > 1 && !f.spent; k--) {
        if (accept(objects.filter((_, i) => i !== k))) ch = true;
      }
      if (f.thrift.merges) {
        move = "merge";
        // Merges: two overlapping objects of one type replaced by one between them (as near as the
        // nearer), re-posed in its dense turns: one object fitted as two of its kind after a poor
        // first pose, which no single death undoes (the survivor is too far off to polish back).
        pairs: for (let a = 0; a < objects.length && !f.spent; a++) {
          for (let b = a + 1; b < objects.length && !f.spent; b++) {
            const p = objects[a], q = objects[b];
            if (p.type !== q.type || !f.overlap(p, q)) continue;
            const one = { ...p, u: (p.u + q.u) / 2, v: (p.v + q.v) / 2, z: Math.max(p.z, q.z) };
            const trial = [...objects.filter((_, i) => i !== a && i !== b), one];
            if (accept(f.reposed(trial, trial.length - 1)[0], COARSE, [trial.length - 1])) {
              ch = true;
              break pairs; // one merge per round
            }
          }
        }
      }
      return ch;
    };
    const typeChanges = (): boolean => {
      let ch = false;
      // Type changes, mirror flips and depth swaps, where more than λ of error is left.
      if (sse() > options.lambda) {
        move = "type";
        // The objects with more than `typeAt`·λ of error in their box, the worst first (the budget goes
        // where the error is), each as another type or (a re-pose) its own, in its dense turns (a
        // sphere's rotation says nothing about how the cube or cylinder it really is stands, and a
        // pose the network got wrong by more than the pattern search's reach is a local minimum of C).
        f.cost(objects);
        const worst = objects.map((_, k) => [k, f.boxResidual(objects, k)])
          .filter(([, e]) => e > f.thrift.typeAt * options.lambda).sort((p, q) => q[1] - p[1]).map(([k]) =>
            k
          );
        for (const k of worst) {
          for (let t = 0; t < PRIMITIVE_TYPES.length && !f.spent; t++) {
            if (t === objects[k].type && PRIMITIVE_TYPES[t] === "sphere") continue;
            if (accept(f.reposed(objects, k, t)[0], COARSE, [k])) ch = true;
          }
        }
        move = "mirror";
        // Mirror flips (`mirrored`: the object reflected through the image plane).
        for (let k = 0; k < objects.length && !f.spent; k++) {
          if (PRIMITIVE_TYPES[objects[k].type] === "sphere") continue;
          if (accept(withObject(objects, k, mirrored(objects[k])), COARSE, [k])) ch = true;
        }
        move = "swap";
        // Depth swaps of overlapping objects (orthographic: occlusion is all that shows depth).
        for (let a = 0; a < objects.length && !f.perspective; a++) {
          for (let b = a + 1; b < objects.length && !f.spent; b++) {
            if (!f.overlap(objects[a], objects[b])) continue;
            const trial = objects.slice();
            const za = objects[a].z, zb = objects[b].z === za ? za - 0.01 : objects[b].z;
            trial[a] = { ...objects[a], z: zb };
            trial[b] = { ...objects[b], z: za };
            if (f.cost(trial) < c && accept(trial)) ch = true;
          }
        }
      }
      return ch;
    };
    for (
      const stage of f.thrift.typeFirst ? [typeChanges, rebirths, deaths] : [rebirths, deaths, typeChanges]
    ) {
      if (stage()) changed = true;
    }
    if (!changed) break;
  }
  // The last polish goes on from the steps the others stopped at, down to the fine ones.
  [objects, c] = f.polish(objects, FINE, undefined, false, COARSE, joint);
  move = "final";
  record();
  return {
    objects,
    cost: c,
    sse: c - options.lambda * objects.length,
    renders: f.renders,
    trace: f.trace,
    ...(options.record ? { steps } : {}),
  };
}

/**
 * An object reflected through the image plane, R ↦ M R M with M = diag(1, 1, −1): a cube or cylinder
 * and its mirror image have the same outline under the orthographic camera (nearly the same under
 * perspective); only which faces and caps face the camera tells them apart — a Necker reversal no
 * small turn reaches.
 */
export function mirrored(o: FitObject): FitObject {
  const R = o.R.slice();
  for (const i of [2, 5, 6, 7]) R[i] = -R[i];
  return { ...o, R };
}

/** Rows `rows[0]..rows[1]` of row spans (lo at 2i, hi at 2i + 1) made empty: lo = `size` > hi = −1. */
function clearSpans(spans: Int16Array, rows: readonly [number, number], size: number): void {
  for (let i = rows[0]; i <= rows[1]; i++) spans[2 * i] = size, spans[2 * i + 1] = -1;
}

/** `objects` with object k replaced by `o` (a new array). */
function withObject(objects: FitObject[], k: number, o: FitObject): FitObject[] {
  const trial = objects.slice();
  trial[k] = o;
  return trial;
}

/** A proposal to fit from: the starting hypothesis and the weaker candidates tried as births first. */
export interface FitStart {
  objects: FitObject[];
  candidates?: FitObject[];
  /**
   * Towards the light the image is lit by, world coordinates (the orbit camera's view: `viewLight(θ)`
   * in `orbit.ts`); default (0, 0, 1), the fixed camera's. {@link fitFromStarts} reads the first start's.
   */
  light?: readonly number[];
}

/**
 * Restarts against local minima: fits from `starts[0]`, then from each next start unless the best fit
 * so far is settled — it leaves at most λ of squared error unexplained (a wrong structure or a pose
 * stuck off its peak usually leaves more; a right one rarely), holds no more objects than the start
 * it came from (a birth the proposal did not ask for is often a newcomer covering the error of a pose
 * stuck off its peak: one cylinder fitted as three), and the next start proposes as many objects as
 * it holds (two readings that disagree on the count are both fitted: the network often reads one
 * object as two overlapping ones in one of them). Keeps the fit of least C. The first start gets the
 * whole `budget`, a restart its camera's share of it; `renders` and the trace count them all. Under
 * perspective ({@link THRIFT}) the error left does not unsettle a fit — only a count the next start
 * disagrees with or a birth the proposal did not ask for does (restarts for error alone rarely
 * changed the count there).
 */
export function fitFromStarts(
  image: Float32Array,
  starts: readonly FitStart[],
  options: FitOptions,
  raster = new Rasteriser({ size: options.size, ...(options.camera ? { camera: options.camera } : {}) }),
): FitResult {
  if (starts.length === 0) throw new RangeError("starts must hold at least one proposal, got none");
  raster.setLight(starts[0].light ?? [0, 0, 1]);
  let best: FitResult | undefined, from: FitStart | undefined, renders = 0;
  const thrift = thriftOf(options);
  const trace: [number, number][] = [];
  for (const start of starts) {
    if (
      best && (best.sse <= options.lambda || thrift.settleOnCount) &&
      best.objects.length <= from!.objects.length &&
      start.objects.length === best.objects.length
    ) continue;
    const budget = best ? Math.max(1, Math.round(thrift.restartBudget * options.budget)) : options.budget;
    const fit = fitScene(image, start.objects, { ...options, budget }, start.candidates ?? [], raster);
    for (const [r, c] of fit.trace) if (c < (trace.at(-1)?.[1] ?? Infinity)) trace.push([renders + r, c]);
    renders += fit.renders;
    if (!best || fit.cost < best.cost) [best, from] = [fit, start];
  }
  return { ...best!, renders, trace };
}
