/**
 * Figures and tables of notebook 05 (AIR-3D without labels), built from `unsup_train.ts` runs: the
 * learning curve that redraws live, test images beside the scenes each method inferred (re-rendered),
 * the estimators' spread, and the results table. It joins the science and the display (`display/`)
 * so that neither imports the other.
 *
 * @example
 * ```ts
 * import { Notebook } from "../display/notebook.ts";
 * import { liveUnsupCurve } from "./unsup_report.ts";
 * const nb = new Notebook();
 * const live = await liveUnsupCurve(nb, "unsupervised"); // pass live.onCurve to runUnsupervised
 * ```
 * @module
 */
import type { FigureSpec } from "../display/plot.ts";
import { plot } from "../display/plot.ts";
import type { GridItem } from "../display/images.ts";
import type { LiveOutput, Notebook } from "../display/notebook.ts";
import type { SlotPrediction } from "../metrics/slots.ts";
import type { SlotDataset } from "../scenes/scenes3d.ts";
import { VIEW_HALF_WIDTH } from "../scenes/primitives.ts";
import { stepHeatmaps } from "../display/step_heatmaps.ts";
import { cameraOf } from "./camera.ts";
import { predictedScene, renderPredictions } from "./reconstruction.ts";
import type { CurvePoint, UnsupConfig, UnsupResult } from "./unsup_train.ts";

/**
 * Type accuracy (and, for runs of several objects, `count`, the count accuracy) and the median
 * rotation errors against training time, one set of traces per run.
 */
export function unsupCurveFigure(
  runs: { name: string; curve: CurvePoint[]; count?: boolean }[],
  title: string,
): FigureSpec {
  const data = runs.flatMap(({ name, curve, count }, r) => {
    const x = curve.map((p) => p.seconds);
    const dash = ["solid", "dot", "dash"][r % 3];
    return [
      ...(count
        ? [{
          type: "scatter",
          mode: "lines+markers",
          name: `${name}: count acc`,
          x,
          y: curve.map((p) => p.count_acc),
        }]
        : []),
      {
        type: "scatter",
        mode: "lines+markers",
        name: `${name}: type acc`,
        x,
        y: curve.map((p) => p.type_acc),
      },
      {
        type: "scatter",
        mode: "lines+markers",
        name: `${name}: cube rot (°)`,
        x,
        y: curve.map((p) => p.rot_err_median_deg.cube),
        yaxis: "y2",
        line: { dash },
      },
      {
        type: "scatter",
        mode: "lines+markers",
        name: `${name}: cylinder rot (°)`,
        x,
        y: curve.map((p) => p.rot_err_median_deg.cylinder),
        yaxis: "y2",
        line: { dash },
      },
      // The orbit camera's angle error, where the run has one.
      ...(curve.some((p) => p.camera_err_deg !== null)
        ? [{
          type: "scatter",
          mode: "lines+markers",
          name: `${name}: camera angle (°)`,
          x,
          y: curve.map((p) => p.camera_err_deg),
          yaxis: "y2",
          line: { dash: "longdash" },
        }]
        : []),
    ];
  });
  return {
    data,
    layout: {
      title: { text: title },
      xaxis: { title: { text: "training time (s)" } },
      yaxis: { title: { text: "accuracy" }, range: [0, 1] },
      yaxis2: {
        title: { text: "median rotation error (°)" },
        overlaying: "y",
        side: "right",
        rangemode: "tozero",
      },
      height: 360,
      margin: { t: 40, b: 40 },
      legend: { orientation: "h", y: -0.25 },
    },
  };
}

/** A live figure of one run's learning curve (with its count accuracy if `count`) and the `onCurve` hook that redraws it. */
export async function liveUnsupCurve(
  nb: Notebook,
  title: string,
  count = false,
): Promise<{ onCurve: (p: CurvePoint, curve: CurvePoint[]) => Promise<void>; finish: () => Promise<void> }> {
  let points: CurvePoint[] = [];
  const out: LiveOutput = await nb.display(`${title}: starting…`);
  const view = () => {
    const last = points.at(-1);
    return plot(
      unsupCurveFigure(
        [{ name: title, curve: points, count }],
        `${title} — ${last ? `${last.seconds.toFixed(0)} s, step ${last.step}` : ""}`,
      ),
    );
  };
  return {
    onCurve: async (_p, curve) => {
      points = curve;
      await out.update(view());
    },
    finish: () => out.finish(points.length ? view() : `${title}: no points`),
  };
}

const SHORT = { sphere: "sph", cube: "cube", cylinder: "cyl" } as const;

/**
 * Where each of the guide's steps attends (the paper's Fig. 7, right): for step t, a histogram of the
 * centre (x, y) it read over the images where it found an object. `predictions[b][t]` is step t's slot
 * of image b (as `predictSingle` gives them, one slot per step).
 */
export function attentionHeatmaps(predictions: SlotPrediction[][], steps: number, bins = 12): FigureSpec {
  const centres = Array.from({ length: steps }, (_, t) =>
    predictions.map((slots) => {
      const s = slots[t];
      return s && s.presence > 0.5 ? [s.position[0], s.position[1]] as const : null;
    }));
  return stepHeatmaps(centres, {
    range: [-VIEW_HALF_WIDTH, VIEW_HALF_WIDTH],
    bins,
    unit: "world",
    yDown: false,
    title: "Where each step attends: the centre it read, over the images where it found an object",
    colours: ["#1f77b4", "#d62728", "#2ca02c"],
  });
}

/**
 * For the first `count` test scenes: the input, then each method's inferred scene re-rendered (its
 * caption the type it read). Rows are scenes. A method's `yaw` (the orbit camera's angle per image)
 * lights its renderings as that camera sees them.
 */
export function inferenceGrid(
  test: SlotDataset,
  methods: { name: string; predictions: SlotPrediction[][]; yaw?: Float32Array | null }[],
  count: number,
  projection: UnsupConfig["projection"],
): GridItem[] {
  const S = test.size, px = S * S, n = Math.min(count, test.n), camera = cameraOf({ camera: projection });
  // The orbit camera: each scene drawn in the light of the camera angle the method read (`yaw`).
  const renders = methods.map((m) =>
    renderPredictions(m.predictions.slice(0, n), S, camera, m.yaw ?? undefined)
  );
  return Array.from({ length: n }, (_, b) => [
    {
      data: test.images.subarray(b * px, (b + 1) * px),
      width: S,
      height: S,
      caption: `input: ${test.scenes[b].map((p) => SHORT[p.type]).join(",")}`,
    },
    ...methods.map((m, k) => ({
      data: renders[k].subarray(b * px, (b + 1) * px),
      width: S,
      height: S,
      caption: `${m.name}: ${predictedScene(m.predictions[b]).map((p) => SHORT[p.type]).join(",") || "∅"}`,
    })),
  ]).flat();
}

/** One results-table row (with `count_acc` first when `count`: scenes of several objects). */
export function unsupRow(
  name: string,
  r: Pick<UnsupResult, "count_acc" | "type_acc" | "pos_mae" | "rot_err_median_deg">,
  extra: {
    seconds?: number;
    msPerImage?: number;
    reconMse?: number;
    count?: boolean;
  } = {},
): Record<string, unknown> {
  return {
    method: name,
    ...(extra.count ? { count_acc: r.count_acc } : {}),
    type_acc: r.type_acc,
    "x / y MAE": `${r.pos_mae[0].toFixed(3)} / ${r.pos_mae[1].toFixed(3)}`,
    "rot median cube / cyl (°)": `${r.rot_err_median_deg.cube.toFixed(1)} / ${
      r.rot_err_median_deg.cylinder.toFixed(1)
    }`,
    "recon MSE": extra.reconMse ?? "—",
    "train s": extra.seconds ?? "—",
    "ms / image": extra.msPerImage ?? "—",
  };
}

/** The estimators' spread as table rows (App. A's comparison). */
export function varianceRows(v: NonNullable<UnsupResult["estimator_variance"]>): Record<string, unknown>[] {
  const names: Record<string, string> = {
    reinforce: "REINFORCE, no baseline",
    reinforce_nvil: "REINFORCE − NVIL baseline b(x)",
    enumerate: "the type summed out (3 renders)",
  };
  return Object.entries(v).map(([k, s]) => ({
    estimator: names[k] ?? k,
    "Σ Var": s.variance,
    "‖mean‖²": s.meanNorm2,
    "Var / ‖mean‖²": s.ratio,
  }));
}

/** log p (left axis) and its finite-difference derivative (right axis) along one latent. */
export function likelihoodSliceFigure(
  slices: { name: string; delta: number[]; logLik: number[]; derivative: number[] }[],
  title: string,
  xTitle: string,
): FigureSpec {
  return {
    data: slices.flatMap((s) => [
      { type: "scatter", mode: "lines", name: `${s.name}: log p`, x: s.delta, y: s.logLik },
      {
        type: "scatter",
        mode: "lines",
        name: `${s.name}: ∂ log p (finite differences)`,
        x: s.delta,
        y: s.derivative,
        yaxis: "y2",
        line: { dash: "dot" },
      },
    ]),
    layout: {
      title: { text: title },
      xaxis: { title: { text: xTitle } },
      yaxis: { title: { text: "log p(x | z) (nats)" } },
      yaxis2: { title: { text: "derivative" }, overlaying: "y", side: "right", zeroline: true },
      height: 340,
      margin: { t: 40, b: 40 },
      legend: { orientation: "h", y: -0.3 },
    },
  };
}
