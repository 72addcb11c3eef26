/**
 * What notebook 03 shows of the GQN, computed here so tests reach it: the ring of cameras as a 3D
 * plot, the epipolar read by depth, query predictions beside the truth and the nearest-view baseline,
 * training curves, and the spread of generated samples as context views are added.
 *
 * @example
 * ```ts
 * import { Rng } from "../core/random.ts";
 * import { sampleQueryBatch } from "../scenes/views.ts";
 * import { cameraRingFigure } from "./report.ts";
 * const batch = sampleQueryBatch(new Rng(0), { batch: 1, size: 32, m: 5 });
 * const spec = cameraRingFigure(batch.scenes[0], batch.cameras[0]); // plotly scatter3d traces
 * ```
 * @module
 */
import type { FigureSpec } from "../display/plot.ts";
import type { GridItem } from "../display/images.ts";
import type { Gqn } from "./model.ts";
import { EPIPOLAR_FEATURES, EPIPOLAR_TOP, epipolarRead } from "./epipolar.ts";
import { predictQueries, sampleVariance, sliceBatch, withInputs } from "./train.ts";
import { tf, toArray } from "../core/tf.ts";
import { Rng } from "../core/random.ts";
import type { Camera } from "../scenes/primitives.ts";
import {
  FLOOR_RADIUS,
  FLOOR_Y,
  nearestViewPrediction,
  type QueryBatch,
  queryMse,
  type RingScene,
  VIEW_DIM,
} from "../scenes/views.ts";

const css = (c: readonly number[]) => `rgb(${c.map((v) => Math.round(v * 255)).join(",")})`;

/** The same scenes and queries with only the first `m` context views of each. */
export function withContexts(batch: QueryBatch, m: number): QueryBatch {
  if (!(Number.isInteger(m) && m >= 1 && m <= batch.m)) {
    throw new RangeError(`m must be an integer in 1..${batch.m}, got ${m}`);
  }
  const px = batch.size * batch.size * 3;
  const context = new Float32Array(batch.b * m * px), contextV = new Float32Array(batch.b * m * VIEW_DIM);
  for (let b = 0; b < batch.b; b++) {
    context.set(batch.context.subarray(b * batch.m * px, (b * batch.m + m) * px), b * m * px);
    contextV.set(
      batch.contextV.subarray(b * batch.m * VIEW_DIM, (b * batch.m + m) * VIEW_DIM),
      b * m * VIEW_DIM,
    );
  }
  return {
    ...batch,
    m,
    context,
    contextV,
    cameras: batch.cameras.map((cams) => [...cams.slice(0, m), cams[batch.m]]),
  };
}

/** One row of {@link varianceByContext}. */
export interface VarianceRow {
  /** Context views given. */
  m: number;
  /** Mean per-pixel variance across generated samples. */
  sample_variance: number;
  /** MSE of one generated sample against the true query. */
  query_mse: number;
  /** MSE of the nearest context view. */
  nearest_mse: number;
}

/**
 * For each M in `ms`: the GQN's sample variance and query MSE on the same scenes and queries given
 * their first M context views (`batch` must carry at least max(ms) views per scene).
 */
export async function varianceByContext(
  model: Gqn,
  batch: QueryBatch,
  ms: number[],
  samples: number,
  rng: Rng,
): Promise<VarianceRow[]> {
  const rows: VarianceRow[] = [];
  for (const m of ms) {
    const sub = withContexts(batch, m);
    const pred = await predictQueries(model, sub, rng.child(`mse${m}`));
    rows.push({
      m,
      sample_variance: await sampleVariance(model, sub, samples, rng.child(`var${m}`)),
      query_mse: queryMse(sub, pred),
      nearest_mse: queryMse(sub, nearestViewPrediction(sub)),
    });
  }
  return rows;
}

/**
 * A plotly 3D figure of one scene: the floor disc's rim, each primitive as a marker in its albedo,
 * and each camera as a marker with a line along its view direction towards the origin (the last
 * camera is drawn as the query).
 */
export function cameraRingFigure(
  scene: RingScene,
  cameras: Camera[],
  title = "Cameras on the ring",
): FigureSpec {
  const rim = Array.from({ length: 65 }, (_, i) => (2 * Math.PI * i) / 64);
  // Plotly's 3D y axis is drawn as depth; we pass world (x, z, y) so the world's up is plotly's z.
  const data: Record<string, unknown>[] = [{
    type: "scatter3d",
    mode: "lines",
    name: "floor",
    x: rim.map((a) => FLOOR_RADIUS * Math.cos(a)),
    y: rim.map((a) => FLOOR_RADIUS * Math.sin(a)),
    z: rim.map(() => FLOOR_Y),
    line: { color: css(scene.floor), width: 4 },
  }, {
    type: "scatter3d",
    mode: "markers",
    name: "objects",
    x: scene.primitives.map((p) => p.position[0]),
    y: scene.primitives.map((p) => p.position[2]),
    z: scene.primitives.map((p) => p.position[1]),
    text: scene.primitives.map((p) => p.type),
    marker: {
      size: 10,
      color: scene.albedos.map(css),
      symbol: scene.primitives.map((p) => p.type === "cube" ? "square" : "circle"),
    },
  }];
  cameras.forEach((cam, k) => {
    const query = k === cameras.length - 1;
    const d = cam.distance * 0.5; // drawn at half distance so the scene stays readable
    const cp = Math.cos(cam.pitch);
    const pos = [d * cp * Math.sin(cam.yaw), d * Math.sin(cam.pitch), d * cp * Math.cos(cam.yaw)];
    data.push({
      type: "scatter3d",
      mode: "lines+markers+text",
      name: query ? "query camera" : `context ${k + 1}`,
      x: [pos[0], 0.3 * pos[0]],
      y: [pos[2], 0.3 * pos[2]],
      z: [pos[1], 0.3 * pos[1]],
      text: [query ? "query" : `${k + 1}`, ""],
      marker: { size: [6, 0], color: query ? "#d62728" : "#1f77b4" },
      line: { color: query ? "#d62728" : "#1f77b4", width: 3 },
      showlegend: false,
    });
  });
  return {
    data,
    layout: {
      title: { text: title },
      height: 440,
      scene: {
        xaxis: { title: { text: "x" } },
        yaxis: { title: { text: "z" } },
        zaxis: { title: { text: "y (up)" } },
        aspectmode: "data",
      },
      margin: { l: 0, r: 0, t: 40, b: 0 },
    },
  };
}

/**
 * Grid items for `shown` queries: the context views, then the true query, the GQN's prediction and
 * the nearest-view baseline, each RGB [S, S, 3].
 */
export function queryItems(batch: QueryBatch, prediction: Float32Array, shown: number): GridItem[] {
  const S = batch.size, px = S * S * 3, near = nearestViewPrediction(batch);
  const rgb = (data: Float32Array, caption: string): GridItem => ({
    data,
    width: S,
    height: S,
    channels: 3,
    caption,
  });
  const items: GridItem[] = [];
  for (let b = 0; b < Math.min(shown, batch.b); b++) {
    for (let k = 0; k < batch.m; k++) {
      items.push(
        rgb(batch.context.subarray((b * batch.m + k) * px, (b * batch.m + k + 1) * px), `context ${k + 1}`),
      );
    }
    items.push(rgb(batch.query.subarray(b * px, (b + 1) * px), "true query"));
    items.push(rgb(prediction.subarray(b * px, (b + 1) * px), "GQN"));
    items.push(rgb(near.subarray(b * px, (b + 1) * px), "nearest view"));
  }
  return items;
}

/** Training curves: −ELBO and KL per step (left), σ (right), from the run's trace. */
export function gqnTraceFigure(trace: [number, number, number, number][]): FigureSpec {
  const step = trace.map((t) => t[0]);
  return {
    data: [
      { x: step, y: trace.map((t) => t[1]), name: "−ELBO (nats per scene)", type: "scatter", mode: "lines" },
      { x: step, y: trace.map((t) => t[2]), name: "KL (nats)", type: "scatter", mode: "lines", yaxis: "y2" },
      { x: step, y: trace.map((t) => t[3]), name: "σ", type: "scatter", mode: "lines", yaxis: "y3" },
    ],
    layout: {
      title: { text: "Training: −ELBO, KL and the pixel σ schedule" },
      xaxis: { title: { text: "step" }, domain: [0, 0.85] },
      yaxis: { title: { text: "−ELBO" } },
      yaxis2: { title: { text: "KL" }, overlaying: "y", side: "right" },
      yaxis3: { title: { text: "σ" }, overlaying: "y", side: "right", position: 0.95, anchor: "free" },
      height: 360,
    },
  };
}

/** Held-out query MSE over training time beside the two baselines (flat lines). */
export function gqnCurveFigure(curve: [number, number][], nearest: number, mean: number): FigureSpec {
  const t = curve.map((c) => c[0]);
  const flat = (v: number) => t.map(() => v);
  return {
    data: [
      {
        x: t,
        y: curve.map((c) => c[1]),
        name: "GQN (one prior sample)",
        type: "scatter",
        mode: "lines+markers",
      },
      {
        x: t,
        y: flat(nearest),
        name: "nearest context view",
        type: "scatter",
        mode: "lines",
        line: { dash: "dash" },
      },
      {
        x: t,
        y: flat(nearest / 2),
        name: "½ × nearest view (target)",
        type: "scatter",
        mode: "lines",
        line: { dash: "dot" },
      },
      {
        x: t,
        y: flat(mean),
        name: "mean training image",
        type: "scatter",
        mode: "lines",
        line: { dash: "dashdot" },
      },
    ],
    layout: {
      title: { text: "Held-out query MSE during training" },
      xaxis: { title: { text: "training seconds" } },
      yaxis: { title: { text: "MSE per pixel channel" }, type: "log" },
      height: 340,
    },
  };
}

/** The spread of the query samples (per-pixel variance across samples) against the number of context views. */
export function varianceFigure(rows: { m: number; sample_variance: number }[]): FigureSpec {
  return {
    data: [{
      x: rows.map((r) => r.m),
      y: rows.map((r) => r.sample_variance),
      type: "scatter",
      mode: "lines+markers",
      name: "sample variance",
    }],
    layout: {
      title: { text: "Per-pixel variance across samples vs context views" },
      xaxis: { title: { text: "context views M" } },
      yaxis: { title: { text: "variance" } },
      height: 320,
    },
  };
}

/** The first scene of `batch`: its M context views and the true query, as one row of grid items. */
export function contextItems(batch: QueryBatch): GridItem[] {
  const S = batch.size, px = S * S * 3;
  const view = (data: Float32Array, caption: string): GridItem => ({
    data,
    width: S,
    height: S,
    channels: 3,
    caption,
  });
  return [
    ...Array.from(
      { length: batch.m },
      (_, k) => view(batch.context.subarray(k * px, (k + 1) * px), `context ${k + 1}`),
    ),
    view(batch.query.subarray(0, px), "true query"),
  ];
}

/** The scene representation r = Σ_k ψ(x_k, v_k) of every scene of a batch, flattened [B, G, G, R]. */
export async function representationOf(model: Gqn, batch: QueryBatch): Promise<Float32Array> {
  return (await toArray(withInputs(model, batch, (inp) => tf.tidy(() => model.represent(inp))))).data;
}

/** Algorithm S3 keeping the canvas after each layer: η^g(u_1), …, η^g(u_L), each [B, S, S, 3]. */
export async function canvasLayers(model: Gqn, batch: QueryBatch, rng: Rng): Promise<Float32Array[]> {
  const shown = withInputs(model, batch, (inp) => tf.tidy(() => model.generateLayers(inp, rng)));
  const out: Float32Array[] = [];
  for (const t of shown) out.push((await toArray(t)).data);
  return out;
}

/**
 * `samples` sampled renderings of the first scene's query for each number of context views in `ms`
 * (a row per M; sample s of M = k draws from `Rng("sample{k}/{s}")`, so a grid repeats).
 */
export async function contextSampleItems(
  model: Gqn,
  batch: QueryBatch,
  ms: number[],
  samples: number,
): Promise<GridItem[]> {
  const S = batch.size, scene = sliceBatch(batch, 0, 1), items: GridItem[] = [];
  for (const k of ms) {
    const sub = withContexts(scene, k);
    for (let s = 0; s < samples; s++) {
      items.push({
        data: await predictQueries(model, sub, new Rng(`sample${k}/${s}`)),
        width: S,
        height: S,
        channels: 3,
        caption: `M=${k}, sample ${s + 1}`,
      });
    }
  }
  return items;
}

/**
 * The epipolar read of the first scene's query view, one image per depth: at each pixel, the mean
 * colour μ_d the context views show at the ray's d-th point (black where no view holds it in frame).
 * An object appears sharp in the slices at its own height and smeared in the others.
 */
export function epipolarSliceItems(batch: QueryBatch, depths: number): GridItem[] {
  const S = batch.size, n = S * S, read = epipolarRead(sliceBatch(batch, 0, 1), depths);
  return Array.from({ length: depths }, (_, d) => {
    const data = new Float32Array(n * 3);
    for (let p = 0; p < n; p++) {
      for (let c = 0; c < 3; c++) data[p * 3 + c] = read[(p * depths + d) * EPIPOLAR_FEATURES + c];
    }
    const height = EPIPOLAR_TOP * (1 - d / (depths - 1));
    return { data, width: S, height: S, channels: 3, caption: `${height.toFixed(2)} above the floor` };
  });
}
