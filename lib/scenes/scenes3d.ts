/**
 * Datasets of 3D-primitive scenes (AIR §3.2): (image, slot targets) pairs — fixed sets and a
 * stream of fresh batches — the primitive gallery, per-instance boxes, dataset statistics and
 * renderer throughput. Rendering itself is in `render.ts`.
 *
 * @example
 * ```ts
 * import { sceneStatistics } from "./scenes3d.ts";
 * import { samplePrimitiveScenes } from "./primitives.ts";
 * import { Rng } from "../core/random.ts";
 * const stats = sceneStatistics(samplePrimitiveScenes(new Rng(0), 1000), { size: 64 });
 * stats.countHistogram; // [0, ~333, ~333, ~333]
 * ```
 * @module
 */
import {
  type Camera,
  eulerZYX,
  PRIMITIVE_TYPES,
  type PrimitiveType,
  samplePrimitiveScenes,
  type Scene,
  type Vec3,
} from "./primitives.ts";
import { renderBatch } from "./render.ts";
import { Rng } from "../core/random.ts";
import { PALETTE_LEVELS, type SegmentationSet } from "./sprites.ts";

/**
 * Figures of the numpy reproduction (see `docs/references.md`)
 * that this project compares against; `renderScenesPerS` is its renderer measured on this
 * project's 2-core machine, not on the reproduction's laptop.
 */
export const REPRODUCTION = {
  renderScenesPerS: 505,
  imageSize: 64,
  maxPrimitives: 3,
  nTrain: 3000,
  nTest: 500,
} as const;

/** One scene per (type, rotation): a single primitive at the origin, type-major order. */
export function primitiveGallery(rotations: Vec3[], scale?: number): Scene[] {
  return PRIMITIVE_TYPES.flatMap((type) =>
    rotations.map((
      rotation,
    ) => [{ type, position: [0, 0, 0] as Vec3, rotation, ...(scale ? { scale } : {}) }])
  );
}

/** A pixel box: left, top, width, height (pixels, inclusive extent). */
export interface PixelBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** The pixel box each instance covers in an id map (null for an instance with no visible pixel). */
export function instanceBoxes(ids: ArrayLike<number>, size: number, count: number): (PixelBox | null)[] {
  const lo = Array.from({ length: count }, () => [Infinity, Infinity]);
  const hi = Array.from({ length: count }, () => [-Infinity, -Infinity]);
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      const k = ids[i * size + j];
      if (k < 0 || k >= count) continue;
      if (j < lo[k][0]) lo[k][0] = j;
      if (i < lo[k][1]) lo[k][1] = i;
      if (j > hi[k][0]) hi[k][0] = j;
      if (i > hi[k][1]) hi[k][1] = i;
    }
  }
  return lo.map((l, k) =>
    Number.isFinite(l[0]) ? { x: l[0], y: l[1], w: hi[k][0] - l[0] + 1, h: hi[k][1] - l[1] + 1 } : null
  );
}

/** Summary of a set of scenes. */
export interface SceneStatistics {
  scenes: number;
  primitives: number;
  /** countHistogram[n] = number of scenes with n primitives. */
  countHistogram: number[];
  typeCounts: Record<PrimitiveType, number>;
  /** Positions of all primitives, per axis. */
  positions: { x: number[]; y: number[]; z: number[] };
  /** Per primitive: visible pixels / pixels it covers when rendered alone (1 = unoccluded). */
  visibleFraction: number[];
  /** Primitives with no visible pixel at all. */
  hidden: number;
  /** Mean fraction of image pixels covered by some primitive. */
  meanCoverage: number;
}

/** Counts, types, positions and occlusion of `scenes`, rendered at `size`. */
export function sceneStatistics(scenes: Scene[], options: { size: number }): SceneStatistics {
  const { size } = options;
  const maxN = scenes.reduce((m, s) => Math.max(m, s.length), 0);
  const countHistogram = new Array(maxN + 1).fill(0);
  const typeCounts = { sphere: 0, cube: 0, cylinder: 0 };
  const positions = { x: [] as number[], y: [] as number[], z: [] as number[] };
  for (const s of scenes) {
    countHistogram[s.length]++;
    for (const p of s) {
      typeCounts[p.type]++;
      positions.x.push(p.position[0]);
      positions.y.push(p.position[1]);
      positions.z.push(p.position[2]);
    }
  }
  const px = size * size;
  const visibleFraction: number[] = [];
  let covered = 0, hidden = 0;
  const chunk = 256;
  for (let start = 0; start < scenes.length; start += chunk) {
    const part = scenes.slice(start, start + chunk);
    const { ids } = renderBatch(part, { size, ids: true });
    const alone = renderBatch(part.flatMap((s) => s.map((p) => [p])), { size, ids: true }).ids!;
    let a = 0;
    part.forEach((s, b) => {
      const visible = new Array(s.length).fill(0);
      for (let p = b * px; p < (b + 1) * px; p++) {
        const k = ids![p];
        if (k < 0) continue;
        visible[k]++;
        covered++;
      }
      for (let k = 0; k < s.length; k++, a++) {
        let own = 0;
        for (let p = a * px; p < (a + 1) * px; p++) if (alone[p] >= 0) own++;
        visibleFraction.push(own > 0 ? visible[k] / own : 0);
        if (visible[k] === 0) hidden++;
      }
    });
  }
  return {
    scenes: scenes.length,
    primitives: visibleFraction.length,
    countHistogram,
    typeCounts,
    positions,
    visibleFraction,
    hidden,
    meanCoverage: scenes.length ? covered / (scenes.length * px) : 0,
  };
}

export interface ThroughputOptions {
  size: number;
  /** How long to measure, seconds. */
  seconds: number;
  /** Scenes per batch; default 1000. */
  batch?: number;
  /** Also fill the id and depth maps. */
  withMaps?: boolean;
  seed?: number;
  /** The camera (default: the reproduction's orthographic one). */
  camera?: Camera;
}

/** Renders batches of random 1–3-primitive scenes on this thread for `seconds`; returns scenes per second. */
export function renderThroughput(options: ThroughputOptions): number {
  const { size, seconds, batch = 1000, withMaps = false, seed = 0, camera } = options;
  if (!(seconds > 0)) throw new RangeError(`seconds must be > 0, got ${seconds}`);
  const scenes = samplePrimitiveScenes(new Rng(seed).child("throughput"), batch, { maxPrimitives: 3 });
  const out = withMaps ? undefined : new Float32Array(batch * size * size);
  const render = () =>
    renderBatch(scenes, { size, out, ids: withMaps, depth: withMaps, ...(camera ? { camera } : {}) });
  render(); // warm-up (JIT)
  let n = 0;
  const t0 = performance.now();
  do {
    render();
    n += batch;
  } while (performance.now() - t0 < seconds * 1000);
  return n / ((performance.now() - t0) / 1000);
}

/**
 * Rendered images with slot targets, as the reproduction lays them out: slot k holds the k-th
 * primitive by x (scenes are sorted by x), empty slots are zero with presence 0.
 * Arrays are flat: images [n, size, size], per-slot fields [n, maxSlots, …].
 */
export interface SlotDataset {
  n: number;
  size: number;
  maxSlots: number;
  scenes: Scene[];
  images: Float32Array;
  /** 1 where the slot holds a primitive. */
  presence: Float32Array;
  /** Type index into PRIMITIVE_TYPES (0 in empty slots). */
  type: Int32Array;
  /** [x, y, z] per slot. */
  position: Float32Array;
  /** ZYX Euler angles [α, β, γ] per slot. */
  euler: Float32Array;
  /** Row-major rotation matrix R = Rz(α)·Ry(β)·Rx(γ) per slot (9 numbers). */
  rotation: Float32Array;
  /** Per pixel [n, size, size], the slot whose primitive is seen there (−1: background). */
  ids: Int16Array;
}

/** Renders `scenes` (each already sorted by x) and writes their slot targets. */
export function slotDataset(
  scenes: Scene[],
  options: { size: number; maxSlots: number; camera?: Camera },
): SlotDataset {
  const { size, maxSlots, camera } = options;
  if (!Number.isInteger(maxSlots) || maxSlots < 1) {
    throw new RangeError(`maxSlots must be an integer ≥ 1, got ${maxSlots}`);
  }
  const n = scenes.length;
  const presence = new Float32Array(n * maxSlots), type = new Int32Array(n * maxSlots);
  const position = new Float32Array(n * maxSlots * 3), euler = new Float32Array(n * maxSlots * 3);
  const rotation = new Float32Array(n * maxSlots * 9);
  scenes.forEach((scene, b) => {
    if (scene.length > maxSlots) {
      throw new RangeError(`scene ${b} has ${scene.length} primitives; maxSlots is ${maxSlots}`);
    }
    scene.forEach((p, k) => {
      const i = b * maxSlots + k;
      if (k > 0 && scene[k - 1].position[0] > p.position[0]) {
        throw new RangeError(`scene ${b}: primitives must be sorted by x (slot order)`);
      }
      presence[i] = 1;
      type[i] = PRIMITIVE_TYPES.indexOf(p.type);
      position.set(p.position, i * 3);
      euler.set(p.rotation, i * 3);
      rotation.set(eulerZYX(...p.rotation), i * 9);
    });
  });
  const { images, ids } = renderBatch(scenes, { size, ids: true, ...(camera ? { camera } : {}) });
  return { n, size, maxSlots, scenes, images, presence, type, position, euler, rotation, ids: ids! };
}

/** Options of {@link sampleSlotDataset} and {@link slotBatches}. */
export interface SlotDataOptions {
  size: number;
  maxPrimitives: number;
  /** The camera the images are rendered with (default: the reproduction's orthographic one). */
  camera?: Camera;
}

/** `n` fresh random scenes (1..maxPrimitives primitives) with slot targets. */
export function sampleSlotDataset(rng: Rng, n: number, options: SlotDataOptions): SlotDataset {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be an integer ≥ 1, got ${n}`);
  const scenes = samplePrimitiveScenes(rng, n, { maxPrimitives: options.maxPrimitives });
  return slotDataset(scenes, { size: options.size, maxSlots: options.maxPrimitives, camera: options.camera });
}

/**
 * An endless stream of freshly rendered batches — every batch is new scenes, so a model never
 * sees the same image twice (the reproduction's 3000 fixed scenes are its main failure).
 */
export function* slotBatches(rng: Rng, batchSize: number, options: SlotDataOptions): Generator<SlotDataset> {
  for (;;) yield sampleSlotDataset(rng, batchSize, options);
}

/**
 * Coloured 3D-primitive scenes for the segmentation metrics: the reproduction's scenes (1–max
 * primitives) rendered with the renderer's shading, each primitive tinted by its own albedo (a
 * palette colour with at least one bright channel), and the renderer's instance ids as masks
 * (0 = background, k + 1 = primitive k; occlusion resolved by depth).
 */
export function sampleColouredPrimitives(
  rng: Rng,
  n: number,
  options: { size: number; maxPrimitives?: number },
): SegmentationSet & { scenes: Scene[]; albedos: [number, number, number][][] } {
  if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`n must be a positive integer, got ${n}`);
  const scenes = samplePrimitiveScenes(rng.child("scenes"), n, { maxPrimitives: options.maxPrimitives ?? 3 });
  const { images: grey, ids } = renderBatch(scenes, { size: options.size, ids: true });
  const px = options.size * options.size;
  const paint = rng.child("albedo");
  const albedos = scenes.map((scene) =>
    scene.map(() => {
      for (;;) {
        const c = [0, 1, 2].map(() => paint.choice(PALETTE_LEVELS)) as [number, number, number];
        if (Math.max(...c) >= 0.75) return c;
      }
    })
  );
  const images = new Float32Array(n * px * 3), masks = new Int32Array(n * px);
  for (let b = 0; b < n; b++) {
    for (let p = 0; p < px; p++) {
      const i = b * px + p, id = ids![i];
      masks[i] = id + 1;
      if (id < 0) continue;
      const a = albedos[b][id];
      for (let c = 0; c < 3; c++) images[i * 3 + c] = grey[i] * a[c];
    }
  }
  return { n, size: options.size, images, masks, counts: scenes.map((s) => s.length), scenes, albedos };
}
