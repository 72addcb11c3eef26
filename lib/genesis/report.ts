/**
 * What notebook 04 shows of GENESIS, computed here so tests reach it: synthetic predictions that
 * make the metrics' blind spots visible (soft masks from a hard assignment, a spill into the
 * background, a merge), a simulated GECO run, the GECO figures, and the per-slot decomposition
 * grid (input, reconstruction Σ_k π_k μ_k, argmax π, then π_k·μ_k for each slot).
 *
 * @example
 * ```ts
 * import { softMasks } from "./report.ts";
 * // two images of two pixels, K = 3: every pixel to mask 1
 * const masks = softMasks(2, 3, 2, () => 1); // [2, 3, 2]: 0.9 on mask 1, 0.05 on the others
 * ```
 * @module
 */
import type { Rng } from "../core/random.ts";
import { colorizeIds, type GridItem } from "../display/images.ts";
import type { FigureSpec } from "../display/plot.ts";
import { argmaxMasks } from "../metrics/segmentation.ts";
import type { SegmentationSet } from "../scenes/sprites.ts";
import { Geco } from "./pieces.ts";

/**
 * Soft masks [n, K, P] from a hard assignment of each pixel to a mask: 0.9 on the chosen mask, the
 * remaining 0.1 shared by the others (so the argmax is the assignment and every mask sums to 1).
 */
export function softMasks(
  n: number,
  K: number,
  P: number,
  assign: (b: number, p: number) => number,
): Float32Array {
  const out = new Float32Array(n * K * P).fill(0.1 / (K - 1));
  for (let b = 0; b < n; b++) {
    for (let p = 0; p < P; p++) {
      const k = assign(b, p);
      if (!(Number.isInteger(k) && k >= 0 && k < K)) {
        throw new RangeError(`mask ${k} of pixel ${p} is not in 0..${K - 1}`);
      }
      out[(b * K + k) * P + p] = 0.9;
    }
  }
  return out;
}

/**
 * The label of the nearest object pixel within `r` pixels (max-norm rings, nearest ring first) of
 * pixel `p` of image `b`, or 0 when there is none; `labels` is [n, S, S] with 0 = background.
 */
export function nearestLabel(labels: Int32Array, S: number, b: number, p: number, r: number): number {
  const x = p % S, y = Math.floor(p / S), at = b * S * S;
  for (let d = 1; d <= r; d++) {
    for (let dy = -d; dy <= d; dy++) {
      for (let dx = -d; dx <= d; dx++) {
        const xx = x + dx, yy = y + dy;
        if (xx < 0 || yy < 0 || xx >= S || yy >= S) continue;
        const v = labels[at + yy * S + xx];
        if (v > 0) return v;
      }
    }
  }
  return 0;
}

/**
 * Three synthetic decompositions of a set's scenes as K soft masks (slot k = object k, slot 0 =
 * background): exact; a spill, each object's mask taking the background within `spill` pixels of
 * it; and a merge, the first object's pixels given to the background's mask.
 */
export function syntheticPredictions(set: SegmentationSet, K: number, spill = 6): [string, Float32Array][] {
  const S = set.size, P = S * S;
  const label = (b: number, p: number) => set.masks[b * P + p];
  return [
    ["exact", softMasks(set.n, K, P, label)],
    [
      `spill (${spill} px into the background)`,
      softMasks(set.n, K, P, (b, p) => label(b, p) || nearestLabel(set.masks, S, b, p, spill)),
    ],
    [
      "merge first sprite into background",
      softMasks(set.n, K, P, (b, p) => (label(b, p) === 1 ? 0 : label(b, p))),
    ],
  ];
}

/** A GECO run on a simulated error curve, sampled at about 400 steps. */
export interface GecoSimulation {
  steps: number[];
  betas: number[];
  /** err_ema / goal. */
  emas: number[];
}

/**
 * GECO (Rezende & Viola 2018) driven by a made-up reconstruction error that starts 2.5× above the
 * goal and decays to 0.8× it, with 5 % noise: β falls while err > goal and rises once it is met.
 */
export function simulateGeco(goal: number, steps: number, rng: Rng): GecoSimulation {
  const geco = new Geco({ goal });
  const out: GecoSimulation = { steps: [], betas: [], emas: [] };
  const every = Math.max(1, Math.floor(steps / 400));
  for (let t = 0; t < steps; t++) {
    const err = goal * (0.8 + 1.7 * Math.exp(-t / (steps / 8))) * (1 + rng.normal(0, 0.05));
    geco.update(err);
    if (t % every === 0 || t === steps - 1) {
      out.steps.push(t);
      out.betas.push(geco.beta);
      out.emas.push(geco.errEma! / goal);
    }
  }
  return out;
}

/** Two curves on one x axis, the second (β) on a log axis at the right. */
function withBeta(
  x: number[],
  y: number[],
  beta: number[],
  names: { title: string; y: string; series: string },
  height: number,
): FigureSpec {
  return {
    data: [
      { x, y, name: names.series, type: "scatter", mode: "lines" },
      { x, y: beta, name: "β", type: "scatter", mode: "lines", yaxis: "y2" },
    ],
    layout: {
      title: { text: names.title },
      xaxis: { title: { text: "step" } },
      yaxis: { title: { text: names.y } },
      yaxis2: { title: { text: "β" }, overlaying: "y", side: "right", type: "log" },
      height,
    },
  };
}

/** The simulated GECO run: err_ema / goal and β against the step. */
export function gecoSimulationFigure(sim: GecoSimulation): FigureSpec {
  return withBeta(sim.steps, sim.emas, sim.betas, {
    title: "GECO on a simulated run: β falls while err > goal, rises once the goal is met",
    y: "err_ema / goal",
    series: "err_ema / goal",
  }, 360);
}

/** GECO during a training run, from the run's `geco_trace` rows [step, err per channel, KL, β]. */
export function gecoTraceFigure(trace: [number, number, number, number][], goal: number): FigureSpec {
  return withBeta(trace.map((t) => t[0]), trace.map((t) => t[1]), trace.map((t) => t[3]), {
    title: `GECO during training (goal ${goal} nats per channel)`,
    y: "err = −log p(x|z) / (3·H·W)",
    series: "err per channel (nats)",
  }, 340);
}

/**
 * The decomposition grid of the first `shown` scenes: per scene the input, the reconstruction
 * Σ_k π_k μ_k, the argmax of π, then π_k·μ_k for each of the K slots (3 + K items a row).
 */
export function decompositionItems(
  images: Float32Array,
  dec: { masks: Float32Array; components: Float32Array; recon: Float32Array },
  shown: number,
  K: number,
  G: number,
): GridItem[] {
  const gp = G * G,
    rgb = (data: Float32Array, caption: string): GridItem => ({
      data,
      width: G,
      height: G,
      channels: 3,
      caption,
    });
  const items: GridItem[] = [];
  for (let b = 0; b < shown; b++) {
    items.push(rgb(images.subarray(b * gp * 3, (b + 1) * gp * 3), "input"));
    items.push(rgb(dec.recon.subarray(b * gp * 3, (b + 1) * gp * 3), "Σ π_k μ_k"));
    items.push({
      ...colorizeIds(argmaxMasks(dec.masks.subarray(b * K * gp, (b + 1) * K * gp), K), G, G),
      caption: "argmax π",
    });
    for (let k = 0; k < K; k++) {
      const slot = b * K + k, pi = dec.masks.subarray(slot * gp, (slot + 1) * gp);
      const part = new Float32Array(gp * 3);
      for (let p = 0; p < gp; p++) {
        for (let c = 0; c < 3; c++) part[p * 3 + c] = pi[p] * dec.components[(slot * gp + p) * 3 + c];
      }
      items.push(rgb(part, `π_${k + 1}·μ_${k + 1}`));
    }
  }
  return items;
}
