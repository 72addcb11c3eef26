/**
 * Where each step of a recurrent inference network attends, as the AIR paper draws it (Fig. 3, bottom
 * right; Fig. 7, right): one panel per step, a 2-D histogram of that step's attention centre over the
 * images where the step found something.
 *
 * @example
 * ```ts
 * import { stepHeatmaps } from "./step_heatmaps.ts";
 * // Two steps, three images: step 1 always near the left, step 2 present once.
 * const fig = stepHeatmaps([[[1, 1], [2, 1], [1, 2]], [null, [7, 7], null]], {
 *   range: [0, 8],
 *   bins: 4,
 *   unit: "px",
 *   title: "where each step attends",
 * });
 * fig.data.length; // 2
 * ```
 * @module
 */
import type { FigureSpec } from "./plot.ts";

/** Options of {@link stepHeatmaps}. */
export interface StepHeatmapOptions {
  /** The extent [lo, hi] of both coordinates. */
  range: [number, number];
  /** Bins per axis. */
  bins: number;
  /** The coordinates' unit, for the axis titles ("px", "world"). */
  unit: string;
  title: string;
  /** Whether y grows downwards (pixel rows; default) or upwards (world coordinates). */
  yDown?: boolean;
  /** Each step's colour (cycled); default a blue. */
  colours?: readonly string[];
}

/**
 * `centres[t][b]`: step t's attention centre [x, y] on image b, or null where the step is absent.
 * Centres outside the range land in the edge bins.
 */
export function stepHeatmaps(
  centres: (readonly [number, number] | null)[][],
  o: StepHeatmapOptions,
): FigureSpec {
  const { range: [lo, hi], bins } = o;
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`bins must be an integer ≥ 1, got ${bins}`);
  if (!(hi > lo)) throw new RangeError(`range must be [lo, hi] with hi > lo, got [${lo}, ${hi}]`);
  const edge = (hi - lo) / bins, colours = o.colours ?? ["#1f77b4"], yDown = o.yDown ?? true;
  const mids = Array.from({ length: bins }, (_, i) => lo + (i + 0.5) * edge);
  const bin = (v: number) => Math.min(bins - 1, Math.max(0, Math.floor((v - lo) / edge)));
  const N = centres.length;
  const data = centres.map((step, t) => {
    const z = Array.from({ length: bins }, () => new Array(bins).fill(0));
    let present = 0;
    for (const c of step) {
      if (!c) continue;
      z[bin(c[1])][bin(c[0])]++;
      present++;
    }
    const axis = t === 0 ? "" : String(t + 1);
    return {
      type: "heatmap",
      z,
      x: mids,
      y: mids,
      name: `step ${t + 1} (${present} present)`,
      colorscale: [[0, "#ffffff"], [1, colours[t % colours.length]]],
      zmin: 0,
      zmax: Math.max(1, ...z.flat()), // a step that is never present stays white
      showscale: false,
      xaxis: `x${axis}`,
      yaxis: `y${axis}`,
      hovertemplate: `step ${t + 1}: x %{x:.2f}, y %{y:.2f}: %{z} images<extra></extra>`,
    };
  });
  const axes: Record<string, unknown> = {};
  for (let t = 0; t < N; t++) {
    const k = t === 0 ? "" : String(t + 1);
    axes[`xaxis${k}`] = {
      title: { text: `step ${t + 1}: x (${o.unit})` },
      range: [lo, hi],
      constrain: "domain",
    };
    axes[`yaxis${k}`] = {
      range: yDown ? [hi, lo] : [lo, hi],
      scaleanchor: `x${k}`,
      title: { text: t === 0 ? `y (${o.unit})` : "" },
    };
  }
  return {
    data,
    layout: {
      title: { text: o.title },
      grid: { rows: 1, columns: N, pattern: "independent" },
      height: 320,
      margin: { t: 50, b: 50 },
      ...axes,
    },
  };
}
