/**
 * Figures and tables of notebook 02 (AIR on multi-MNIST), built from a trained model and its
 * runs: what each step of the guide explains (attention boxes coloured by step, as in the
 * paper's Fig. 3, and the window each step wrote), the scanning policy as heatmaps of where each
 * step attends, live training curves, the count confusion matrix, and result rows beside the
 * published figures. It joins the science (`model.ts`, `train.ts`) and the display
 * (`display/`) so that neither imports the other.
 *
 * @example
 * ```ts
 * import { explain, explanationItems } from "./report.ts";
 * import { imageGrid } from "../display/images.ts";
 * // const ex = await explain(trainer.air, test.images, 8);     // a mode pass on 8 scenes
 * // await nb.show(imageGrid(explanationItems(ex, test, [0, 1, 2]), { columns: 5 }));
 * ```
 * @module
 */
import { tf } from "../core/tf.ts";
import type { Air } from "./model.ts";
import { countsOf } from "./elbo.ts";
import type { AirEval } from "./eval.ts";
import type { AirResult, AirRunHooks } from "./train.ts";
import { confusionHeatmap, type FigureSpec, plot } from "../display/plot.ts";
import type { GridItem } from "../display/images.ts";
import type { LiveOutput, Notebook } from "../display/notebook.ts";
import { stepHeatmaps } from "../display/step_heatmaps.ts";
import { INK, type Scenes, whereToBox } from "../scenes/multi_mnist.ts";

/** Box colours of steps 1, 2, 3, … (red, green, blue first, as in the paper's Fig. 3). */
export const STEP_COLOURS = [
  "#e6194b",
  "#2ca02c",
  "#1f6fff",
  "#ff9f1c",
  "#9467bd",
  "#8c564b",
  "#17becf",
  "#7f7f7f",
];

/** The published and reproduced counting figures this project compares with. */
export const PUBLISHED_AIR = {
  /** The numpy reproduction, 32×32, 0–2 digits: its best validation count accuracy. */
  reproduction32: { count_acc: 0.797, seeds: "0.785–0.845 over three seeds (its script, this machine)" },
  /** Pyro's `examples/air`, 50×50: ~4 h on a GPU, one seed. */
  pyro50: { count_acc: 0.987 },
  /** Another PyTorch port, 50×50: about one seed in five fails. */
  pytorchPort50: { count_acc: 0.983 },
} as const;

/** What the guide made of a set of images (mode of q): host copies, one entry per image. */
export interface Explanation {
  n: number;
  canvas: number;
  steps: number;
  /** Inferred counts [n]. */
  counts: Int32Array;
  /** z_pres [n·N] (0/1 at the mode). */
  zPres: Float32Array;
  /** q(z_pres,t = 1) [n·N]. */
  presProb: Float32Array;
  /** Poses (s, x, y) [n·N·3] in normalised units (see `whereToBox`). */
  where: Float32Array;
  /** The reconstruction Σ_t z_pres,t · window_t, clipped to [0, 1], [n·C²]. */
  recon: Float32Array;
  /** Per step t, the window it wrote onto the canvas times z_pres,t, [N] × [n·C²]. */
  written: Float32Array[];
}

/** Runs the guide at its mode on the first `n` images (`images` [≥n, C²]) in batches. */
export async function explain(
  air: Air,
  images: Float32Array,
  n: number,
  batchSize = 250,
): Promise<Explanation> {
  const C = air.config.canvas, N = air.config.steps, px = C * C;
  if (!Number.isInteger(n) || n < 1 || n * px > images.length) {
    throw new RangeError(`n must be an integer in 1..${Math.floor(images.length / px)}, got ${n}`);
  }
  const ex: Explanation = {
    n,
    canvas: C,
    steps: N,
    counts: new Int32Array(n),
    zPres: new Float32Array(n * N),
    presProb: new Float32Array(n * N),
    where: new Float32Array(n * N * 3),
    recon: new Float32Array(n * px),
    written: Array.from({ length: N }, () => new Float32Array(n * px)),
  };
  for (let start = 0; start < n; start += batchSize) {
    const m = Math.min(batchSize, n - start);
    const kept = tf.tidy(() => {
      const x = tf.tensor2d(images.subarray(start * px, (start + m) * px), [m, px]);
      const pass = air.forward(x, { kind: "mode" });
      const w = pass.written.map((w, t) => tf.mul(w, pass.zPres.slice([0, t], [m, 1])));
      return [pass.zPres, pass.presProb, pass.where, tf.clipByValue(pass.canvas, 0, 1), tf.stack(w)];
    });
    const [zPres, presProb, where, recon, w] = await Promise.all(
      kept.map((t) => t.data() as Promise<Float32Array>),
    );
    tf.dispose(kept);
    ex.zPres.set(zPres, start * N);
    ex.presProb.set(presProb, start * N);
    ex.where.set(where, start * N * 3);
    ex.counts.set(countsOf(zPres, N), start);
    ex.recon.set(recon, start * px);
    for (let t = 0; t < N; t++) ex.written[t].set(w.subarray(t * m * px, (t + 1) * m * px), start * px);
  }
  return ex;
}

/**
 * AIR's decomposition as K = N + 1 soft masks [n, N + 1, C²], for scoring with `metrics/segmentation.ts`:
 * mask 0 is the background, mask t the window step t wrote (times z_pres,t). A pixel's masks
 * are proportional to (τ, w_1, …, w_N) with τ = `inkThreshold`, so the argmax puts it in the
 * step that wrote the most ink there, or in the background where no step wrote more than τ —
 * by default the rule the scenes' instance maps follow (ink > `INK`, 0.05).
 */
export function airMasks(ex: Explanation, inkThreshold = INK): Float32Array {
  if (!(inkThreshold > 0)) throw new RangeError(`inkThreshold must be > 0, got ${inkThreshold}`);
  const px = ex.canvas * ex.canvas, K = ex.steps + 1;
  const masks = new Float32Array(ex.n * K * px);
  for (let b = 0; b < ex.n; b++) {
    for (let p = 0; p < px; p++) {
      let sum = inkThreshold;
      for (let t = 0; t < ex.steps; t++) sum += Math.max(0, ex.written[t][b * px + p]);
      masks[b * K * px + p] = inkThreshold / sum;
      for (let t = 0; t < ex.steps; t++) {
        masks[(b * K + t + 1) * px + p] = Math.max(0, ex.written[t][b * px + p]) / sum;
      }
    }
  }
  return masks;
}

/** The colour of step t (0-based), cycling through `STEP_COLOURS`. */
const stepColour = (t: number) => STEP_COLOURS[t % STEP_COLOURS.length];

/** Step t's attention window on image b as a pixel box, or null when the step is absent. */
function stepBox(ex: Explanation, b: number, t: number): { x: number; y: number; size: number } | null {
  const k = b * ex.steps + t;
  return ex.zPres[k] > 0.5 ? whereToBox(ex.where.subarray(k * 3, k * 3 + 3), ex.canvas) : null;
}

const imageOf = (data: Float32Array, b: number, C: number) => ({
  data: data.subarray(b * C * C, (b + 1) * C * C),
  width: C,
  height: C,
});

/** Scenes with their true digit boxes and labels. */
export function sceneItems(scenes: Scenes, indices: number[]): GridItem[] {
  const C = scenes.canvas;
  return indices.map((b) => ({
    ...imageOf(scenes.images, b, C),
    caption: `${scenes.counts[b]} digit(s)${
      scenes.boxes[b].length ? ": " + scenes.boxes[b].map((d) => d.label).join(", ") : ""
    }`,
    boxes: scenes.boxes[b].map((d) => ({ x: d.x, y: d.y, w: d.size, h: d.size, color: "#ffd400" })),
  }));
}

/**
 * Per scene, one row: the input with each present step's attention window (coloured by step),
 * the reconstruction, and the window each step wrote (blank when the step is absent).
 */
export function explanationItems(ex: Explanation, scenes: Scenes, indices: number[]): GridItem[] {
  const C = ex.canvas, N = ex.steps;
  return indices.flatMap((b) => {
    if (!(b >= 0 && b < ex.n)) throw new RangeError(`index ${b} is outside the explained 0..${ex.n - 1}`);
    const boxes = [];
    for (let t = 0; t < N; t++) {
      const box = stepBox(ex, b, t);
      if (box) {
        boxes.push({ x: box.x, y: box.y, w: box.size, h: box.size, color: stepColour(t), label: `${t + 1}` });
      }
    }
    const err = ex.recon.subarray(b * C * C, (b + 1) * C * C).reduce(
      (a, v, i) => a + (v - scenes.images[b * C * C + i]) ** 2,
      0,
    ) / (C * C);
    return [
      {
        ...imageOf(scenes.images, b, C),
        caption: `true ${scenes.counts[b]}, inferred ${ex.counts[b]}`,
        boxes,
      },
      { ...imageOf(ex.recon, b, C), caption: `reconstruction, MSE ${err.toFixed(4)}` },
      ...ex.written.map((w, t) => ({
        ...imageOf(w, b, C),
        caption: `step ${t + 1}: q(z_pres) ${ex.presProb[b * N + t].toFixed(2)}${
          ex.zPres[b * N + t] > 0.5 ? "" : " (absent)"
        }`,
      })),
    ];
  });
}

/**
 * The scanning policy: for each step, a 2-D histogram (`bins`×`bins` over the canvas) of the
 * attention window's centre over the images where that step is present (the paper's Fig. 3,
 * bottom right).
 */
export function scanHeatmaps(ex: Explanation, bins = 10): FigureSpec {
  const centres = Array.from({ length: ex.steps }, (_, t) =>
    Array.from({ length: ex.n }, (_, b) => {
      const box = stepBox(ex, b, t);
      return box ? [box.x + box.size / 2, box.y + box.size / 2] as const : null;
    }));
  return stepHeatmaps(centres, {
    range: [0, ex.canvas],
    bins,
    unit: "px",
    title: "Scanning policy: where each step attends (window centres, present steps)",
    colours: STEP_COLOURS,
  });
}

/** One held-out evaluation during training. */
export type CurvePoint = Parameters<NonNullable<AirRunHooks["onEval"]>>[0];

/** Held-out count accuracy (left axis) and ELBO (right axis) against training seconds. */
export function trainingCurvesFigure(points: CurvePoint[], title: string): FigureSpec {
  const x = points.map((p) => p.seconds);
  return {
    data: [
      {
        type: "scatter",
        mode: "lines+markers",
        name: "held-out count accuracy",
        x,
        y: points.map((p) => p.countAcc),
      },
      {
        type: "scatter",
        mode: "lines+markers",
        name: "held-out ELBO (nats)",
        x,
        y: points.map((p) => p.elbo),
        yaxis: "y2",
        line: { dash: "dot" },
      },
    ],
    layout: {
      title: { text: title },
      xaxis: { title: { text: "training time (s)" } },
      yaxis: { title: { text: "count accuracy" }, range: [0, 1.02] },
      yaxis2: { title: { text: "ELBO" }, overlaying: "y", side: "right" },
      height: 320,
      margin: { t: 40, b: 40 },
      legend: { orientation: "h", y: -0.25 },
    },
  };
}

/** Held-out count accuracy against training time for several runs (e.g. AIR vs DAIR generalisation). */
export function countCurvesFigure(runs: { name: string; result: AirResult }[], title: string): FigureSpec {
  return {
    data: runs.map(({ name, result }) => ({
      type: "scatter",
      mode: "lines+markers",
      name,
      x: result.count_acc_curve.map(([s]) => s),
      y: result.count_acc_curve.map(([, a]) => a),
    })),
    layout: {
      title: { text: title },
      xaxis: { title: { text: "training time (s)" } },
      yaxis: { title: { text: "held-out count accuracy" }, range: [0, 1.02] },
      height: 340,
      margin: { t: 40, b: 40 },
    },
  };
}

/** A live figure of the training curves and the `onEval` hook that redraws it. */
export async function liveAirCurves(
  nb: Notebook,
  title: string,
): Promise<{ points: CurvePoint[]; onEval: (p: CurvePoint) => void; finish: () => Promise<void> }> {
  const points: CurvePoint[] = [];
  const out: LiveOutput = await nb.display(`${title}: starting…`);
  const view = () => {
    const last = points.at(-1);
    return plot(trainingCurvesFigure(
      points,
      last
        ? `${title} — ${last.seconds.toFixed(0)} s, step ${last.step}, count acc ${last.countAcc.toFixed(3)}`
        : title,
    ));
  };
  let chain = Promise.resolve();
  return {
    points,
    onEval: (p) => {
      points.push(p);
      chain = chain.then(() => out.update(view()));
    },
    finish: async () => {
      await chain;
      await out.finish(points.length ? view() : `${title}: no evaluations`);
    },
  };
}

/** The held-out count confusion matrix (counts 0..N) as a heatmap. */
export function countConfusionFigure(ev: Pick<AirEval, "confusion">, title: string): FigureSpec {
  return confusionHeatmap(ev.confusion, ev.confusion.map((_, k) => String(k)), title);
}

/** Correct / total for each true count k that occurs, as "k: correct/total · …". */
export function perCountAccuracy(confusion: number[][]): string {
  return confusion.flatMap((row, k) => {
    const total = row.reduce((a, v) => a + v, 0);
    return total ? [`${k}: ${row[k]}/${total}`] : [];
  }).join(" · ");
}

/** One results-table row for a run. */
export function airResultRow(name: string, r: AirResult): Record<string, unknown> {
  const c = r.config;
  return {
    run: name,
    canvas: `${c.air.canvas}×${c.air.canvas}`,
    model: c.air.model.toUpperCase(),
    estimator: c.estimator,
    "train → test counts": `${c.trainCounts.join(",")} → ${c.testCounts.join(",")}`,
    count_acc: +r.count_acc.toFixed(3),
    "per count (correct/total)": perCountAccuracy(r.count_confusion),
    "ELBO (nats)": +r.elbo.toFixed(1),
    recon_mse: +r.recon_mse.toFixed(4),
    steps: r.steps,
    train_s: r.train_s,
    "images/s": r.images_per_s,
  };
}
