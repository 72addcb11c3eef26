/**
 * Figures and tables of notebook 01, part 2, built from AIR-3D runs: training curves that
 * redraw live, predictions re-rendered beside the inputs, error histograms, the type confusion
 * matrix, and the results table beside the reproduction's figures. It joins the science
 * (`train.ts`) and the display (`display/`) so that neither imports the other.
 *
 * @example
 * ```ts
 * import { Notebook } from "../display/notebook.ts";
 * import { liveCurves } from "./report.ts";
 * const nb = new Notebook();
 * const curves = await liveCurves(nb, "mlp");   // pass curves.onEpoch to runAir3d
 * ```
 * @module
 */
import { confusionHeatmap, type FigureSpec, histogram, plot } from "../display/plot.ts";
import type { GridItem } from "../display/images.ts";
import type { LiveOutput, Notebook } from "../display/notebook.ts";
import type { Air3dConfig, Air3dResult, Air3dRun, EpochRecord, RefinedScores } from "./train.ts";
import { type FitStep, toPredictions } from "./fit.ts";
import { cameraOf } from "./camera.ts";
import type { SceneMetrics } from "../metrics/slots.ts";
import type { SceneStatistics } from "../scenes/scenes3d.ts";
import { type Camera, PRIMITIVE_TYPES } from "../scenes/primitives.ts";
import { renderBatch } from "../scenes/render.ts";
import { predictedScene, renderPredictions } from "./reconstruction.ts";
export { predictedScene };

/** The numpy reproduction's published figures (canonical run and its one-primitive sanity run). */
export const REPRODUCTION_RESULTS = {
  canonical: {
    count_acc: 0.812,
    presence_acc: 0.937,
    type_acc: 0.517,
    pos_mae: [0.179, 0.246, 0.188],
    rot_mae_euler: [0.78, 0.80, 0.80],
    best_epoch: 8,
    /** Its script on this project's 2-core machine (measured), seconds. */
    synth_s: 7.5,
    train_s: 16.7,
  },
  onePrimitive: { type_acc: 0.888, pos_mae: [0.069, 0.084, 0.165] },
} as const;

/** Training curves (train and validation total loss per epoch) as a figure. */
export function curvesFigure(history: EpochRecord[], title: string): FigureSpec {
  const x = history.map((r) => r.epoch);
  return {
    data: [
      { type: "scatter", mode: "lines", name: "train", x, y: history.map((r) => r.train.total) },
      { type: "scatter", mode: "lines", name: "validation", x, y: history.map((r) => r.val.total) },
      ...Object.keys(history[0]?.val ?? {}).filter((k) => k !== "total").map((k) => ({
        type: "scatter",
        mode: "lines",
        name: `val ${k}`,
        x,
        y: history.map((r) => r.val[k]),
        line: { dash: "dot" },
      })),
    ],
    layout: {
      title: { text: title },
      xaxis: { title: { text: "epoch" } },
      yaxis: { title: { text: "loss" }, type: "log" },
      height: 320,
      margin: { t: 40, b: 40 },
    },
  };
}

/** A live figure of the training curves and the `onEpoch` hook that redraws it. */
export async function liveCurves(
  nb: Notebook,
  title: string,
): Promise<{ onEpoch: (r: EpochRecord, c: Air3dConfig) => Promise<void>; finish: () => Promise<void> }> {
  const history: EpochRecord[] = [];
  const out: LiveOutput = await nb.display(`${title}: starting…`);
  const view = (c?: Air3dConfig) => {
    const last = history.at(-1);
    const label = last && c
      ? `${title} — epoch ${last.epoch}/${c.nEpochs}, ${last.seconds.toFixed(1)} s`
      : title;
    return plot(curvesFigure(history, label));
  };
  return {
    onEpoch: async (r, c) => {
      history.push(r);
      await out.update(view(c));
    },
    finish: () => out.finish(history.length ? view() : `${title}: no epochs`),
  };
}

const SHORT = { sphere: "sph", cube: "cube", cylinder: "cyl" } as const;

/** For the first `count` test scenes: input, the prediction re-rendered, and |input − re-render|. */
export function comparisonGrid(run: Air3dRun, count: number): GridItem[] {
  const { test, predictions } = run;
  const S = test.size, px = S * S;
  const n = Math.min(count, test.n);
  const camera = cameraOf(run.result.config);
  const rendered = renderPredictions(predictions.slice(0, n), S, camera);
  return Array.from({ length: n }, (_, b) => {
    const input = test.images.subarray(b * px, (b + 1) * px);
    const again = rendered.subarray(b * px, (b + 1) * px);
    const err = input.map((v, i) => Math.abs(v - again[i]));
    const truth = test.scenes[b].map((p) => SHORT[p.type]).join(",");
    const guess = predictedScene(predictions[b]).map((p) => SHORT[p.type]).join(",");
    return [
      { data: input, width: S, height: S, caption: `input: ${truth}` },
      { data: again, width: S, height: S, caption: `predicted: ${guess || "∅"}` },
      {
        data: err,
        width: S,
        height: S,
        caption: `|error| ${(err.reduce((a, v) => a + v, 0) / px).toFixed(3)}`,
      },
    ];
  }).flat();
}

/** A bar trace of `values` binned on [0, max] (binned here, so reports carry counts, not values). */
function bars(values: number[], max: number): Record<string, unknown> {
  const h = histogram(values, { bins: 30, min: 0, max });
  return { type: "bar", x: h.centers, y: h.counts, width: h.width, opacity: 0.6 };
}

/** Histograms of absolute position error per axis, one trace per run. */
export function positionErrorFigure(runs: { name: string; metrics: SceneMetrics }[]): FigureSpec {
  return {
    data: runs.flatMap(({ name, metrics }) =>
      ["x", "y", "z"].map((axis, a) => ({
        ...bars(metrics.errors.pos.map((e) => e[a]), 0.9),
        name: `${name} ${axis}`,
        xaxis: `x${a + 1}`,
        yaxis: `y${a + 1}`,
        legendgroup: name,
      }))
    ),
    layout: histogramRowLayout("Absolute position error per axis (world units)", 3),
  };
}

/** Layout of a row of `columns` overlaid-histogram panels, each with its own axes. */
function histogramRowLayout(title: string, columns: number): FigureSpec["layout"] {
  return {
    title: { text: title },
    grid: { rows: 1, columns, pattern: "independent" },
    barmode: "overlay",
    height: 300,
    margin: { t: 40, b: 40 },
  };
}

/** Histograms of the symmetry-aware rotation error (degrees) per type, one trace per run. */
export function rotationErrorFigure(runs: { name: string; metrics: SceneMetrics }[]): FigureSpec {
  return {
    data: runs.flatMap(({ name, metrics }) =>
      (["cube", "cylinder"] as const).map((type, a) => ({
        ...bars(metrics.errors.rotDeg[type], 90),
        name: `${name} ${type} (median ${metrics.rot_err_median_deg[type].toFixed(1)}°)`,
        xaxis: `x${a + 1}`,
        yaxis: `y${a + 1}`,
      }))
    ),
    layout: histogramRowLayout("Rotation error modulo symmetry, degrees (left: cubes, right: cylinders)", 2),
  };
}

/** The type confusion matrix (rows: true type, columns: predicted) as a heatmap. */
export function confusionFigure(metrics: SceneMetrics, title: string): FigureSpec {
  return confusionHeatmap(metrics.confusion, [...PRIMITIVE_TYPES], title);
}

const fmt3 = (v: readonly number[]) => v.map((x) => x.toFixed(3)).join(" / ");

/** One results-table row for a run. */
export function resultRow(name: string, r: Air3dResult): Record<string, unknown> {
  return {
    run: name,
    count_acc: r.count_acc,
    presence_acc: r.presence_acc,
    type_acc: r.type_acc,
    "pos MAE x / y / z": fmt3(r.pos_mae),
    "rot MAE Euler α / β / γ (rad)": fmt3(r.rot_mae_euler),
    "rot err median cube / cyl (°)": `${r.rot_err_median_deg.cube.toFixed(1)} / ${
      r.rot_err_median_deg.cylinder.toFixed(1)
    }`,
    best_epoch: `${r.best_epoch} / ${r.epochs_run}`,
    "synth + train (s)": `${r.synth_s.toFixed(1)} + ${r.train_s.toFixed(1)}`,
    "infer ms/image": r.infer_ms_per_image,
  };
}

/** The reproduction's row in the same columns. */
export function reproductionRow(): Record<string, unknown> {
  const r = REPRODUCTION_RESULTS.canonical;
  return {
    run: "numpy reproduction (published)",
    count_acc: r.count_acc,
    presence_acc: r.presence_acc,
    type_acc: r.type_acc,
    "pos MAE x / y / z": fmt3(r.pos_mae),
    "rot MAE Euler α / β / γ (rad)": fmt3(r.rot_mae_euler),
    "rot err median cube / cyl (°)": "—",
    best_epoch: `${r.best_epoch} / 80`,
    "synth + train (s)": `${r.synth_s} + ${r.train_s} (this machine)`,
    "infer ms/image": "—",
  };
}

/** Histogram bars of `values` in `bins` bins over [min, max] (the report carries counts, not values). */
function binned(values: number[], bins: number, min: number, max: number) {
  const h = histogram(values, { bins, min, max });
  return { x: h.centers, y: h.counts, width: h.width };
}

/**
 * The scene set at a glance: primitives per scene, types, and how visible each primitive is
 * (visible / unoccluded pixels) in one row; then the positions per axis.
 */
export function sceneStatisticsFigures(stats: SceneStatistics): [FigureSpec, FigureSpec] {
  const counts = stats.countHistogram.map((c, n) => ({ n, c })).filter((d) => d.n > 0);
  return [{
    data: [
      {
        type: "bar",
        x: counts.map((d) => `${d.n}`),
        y: counts.map((d) => d.c),
        name: "count",
        xaxis: "x",
        yaxis: "y",
      },
      {
        type: "bar",
        x: [...PRIMITIVE_TYPES],
        y: PRIMITIVE_TYPES.map((t) => stats.typeCounts[t]),
        name: "type",
        xaxis: "x2",
        yaxis: "y2",
      },
      {
        type: "bar",
        ...binned(stats.visibleFraction, 20, 0, 1),
        name: "visible fraction",
        xaxis: "x3",
        yaxis: "y3",
      },
    ],
    layout: {
      title: { text: `${stats.scenes} scenes, ${stats.primitives} primitives` },
      grid: { rows: 1, columns: 3, pattern: "independent" },
      xaxis: { title: { text: "primitives per scene" } },
      xaxis2: { title: { text: "type" } },
      xaxis3: { title: { text: "visible / unoccluded pixels" }, range: [0, 1.02] },
      yaxis: { title: { text: "scenes" } },
      showlegend: false,
      height: 340,
    },
  }, {
    data: (["x", "y", "z"] as const).map((axis) => ({
      type: "bar",
      ...binned(stats.positions[axis], 40, -1, 1),
      name: axis,
      opacity: 0.6,
    })),
    layout: {
      title: { text: "Primitive positions per axis" },
      barmode: "overlay",
      xaxis: { title: { text: "world coordinate" } },
      height: 320,
    },
  }];
}

/** Renderer throughput (scenes/s, log scale) per image size, with and without the id and depth maps, beside the reproduction's. */
export function renderThroughputFigure(
  speed: { size: number; image: number; withMaps: number }[],
  reproduction: { imageSize: number; renderScenesPerS: number },
): FigureSpec {
  const sizes = speed.map((s) => `${s.size}×${s.size}`);
  return {
    data: [
      { type: "bar", name: "image", x: sizes, y: speed.map((s) => s.image) },
      { type: "bar", name: "image + ids + depth", x: sizes, y: speed.map((s) => s.withMaps) },
      {
        type: "bar",
        name: "numpy reproduction",
        x: [`${reproduction.imageSize}×${reproduction.imageSize}`],
        y: [reproduction.renderScenesPerS],
      },
    ],
    layout: {
      title: { text: "Renderer throughput, one thread (log scale)" },
      yaxis: { type: "log", title: { text: "scenes / s" } },
      barmode: "group",
      height: 360,
    },
  };
}

// ---------------------------------------------------------------- render-and-compare

/**
 * Error against effort: for each fitted set, the mean over images of the best cost C found so far
 * (squared error + λ·count) after r renders, on a log axis of r. Each image's trace is a step
 * function; an image whose fit stopped early keeps its last value.
 */
export function fitCurvesFigure(runs: { name: string; traces: [number, number][][] }[]): FigureSpec {
  const maxR = Math.max(2, ...runs.flatMap((r) => r.traces.map((t) => t[t.length - 1]?.[0] ?? 1)));
  const grid = [...new Set(Array.from({ length: 40 }, (_, i) => Math.round(maxR ** ((i + 1) / 40))))];
  return {
    data: runs.map(({ name, traces }) => ({
      type: "scatter",
      mode: "lines",
      name,
      x: grid,
      y: grid.map((r) => {
        let sum = 0, n = 0;
        for (const t of traces) {
          let best = NaN;
          for (const [renders, cost] of t) if (renders <= r) best = cost;
          if (Number.isFinite(best)) sum += best, n++;
        }
        return n ? sum / n : null;
      }),
    })),
    layout: {
      title: { text: "Render-and-compare: mean cost C = squared error + λ·count against renders spent" },
      xaxis: { title: { text: "renders per image" }, type: "log" },
      yaxis: { title: { text: "mean C over images (images started)" }, type: "log" },
    },
  };
}

/** One row of the amortised / refined / direct table. */
export function refinedRow(
  name: string,
  r:
    & Pick<RefinedScores, "count_acc" | "type_acc" | "pos_mae" | "rot_err_median_deg" | "infer_ms_per_image">
    & Partial<RefinedScores>,
): Record<string, unknown> {
  return {
    run: name,
    count_acc: r.count_acc,
    type_acc: r.type_acc,
    "pos MAE x / y / z": fmt3(r.pos_mae),
    "rot err median cube / cyl (°)": `${r.rot_err_median_deg.cube.toFixed(1)} / ${
      r.rot_err_median_deg.cylinder.toFixed(1)
    }`,
    "ms / image": r.infer_ms_per_image,
    "renders / image": r.renders_per_image ?? "—",
    λ: r.lambda ?? "—",
    failure_rate: r.failure_rate ?? "—",
  };
}

/**
 * A fit step by step (from `fitScene` with `record`): the input, then the hypothesis after each
 * accepted move re-rendered, captioned with the move, its renders and C.
 */
export function fitStepsGrid(
  image: Float32Array,
  steps: FitStep[],
  options: { size: number; camera?: Camera; caption?: string },
): GridItem[] {
  const { size, camera } = options;
  const scenes = steps.map((s) => predictedScene(toPredictions(s.objects, camera, s.objects.length)));
  const rendered = renderBatch(scenes, { size, ...(camera ? { camera } : {}) }).images;
  return [
    { data: image, width: size, height: size, caption: options.caption ?? "input" },
    ...steps.map((s, i) => ({
      data: rendered.subarray(i * size * size, (i + 1) * size * size),
      width: size,
      height: size,
      caption: `${s.move} · ${s.renders} renders · C ${s.cost.toFixed(1)} · ${
        scenes[i].map((p) => SHORT[p.type]).join(",") || "∅"
      }`,
    })),
  ];
}
