/**
 * Walks every figure the lib builds — each exported function of the report modules and of
 * display/plot.ts whose name ends in Figure, Figures or Heatmap(s) — and fails on a title given as
 * a plain string (plotly.js 4 draws only `{ text }` titles). A new figure builder without an entry
 * here fails the test too.
 */
import assert from "node:assert/strict";
import * as plotModule from "../../lib/display/plot.ts";
import * as airReport from "../../lib/air/report.ts";
import * as air3dReport from "../../lib/air3d/report.ts";
import * as unsupReport from "../../lib/air3d/unsup_report.ts";
import * as stepModule from "../../lib/display/step_heatmaps.ts";
import * as gqnReport from "../../lib/gqn/report.ts";
import * as genesisReport from "../../lib/genesis/report.ts";
import { type FigureSpec, stringTitles } from "../../lib/display/plot.ts";
import { defaultAirRunConfig } from "../../lib/air/config.ts";
import type { AirResult } from "../../lib/air/train.ts";
import type { SceneMetrics } from "../../lib/metrics/slots.ts";
import { samplePrimitiveScenes } from "../../lib/scenes/primitives.ts";
import { sceneStatistics } from "../../lib/scenes/scenes3d.ts";
import { sampleQueryBatch } from "../../lib/scenes/views.ts";
import { Rng } from "../../lib/core/random.ts";

const metrics: SceneMetrics = {
  count_acc: 1,
  presence_acc: 1,
  type_acc: 1,
  pos_mae: [0.1, 0.1, 0.2],
  rot_mae_euler: [0, 0, 0],
  rot_err_median_deg: { cube: 10, cylinder: 5 },
  confusion: [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
  errors: { pos: [[0.1, 0.1, 0.2]], rotDeg: { cube: [10], cylinder: [5] } },
};
const airResult: AirResult = {
  count_acc: 0.9,
  count_confusion: [[1, 0], [0, 1]],
  elbo: 1,
  recon_mse: 0.1,
  steps: 2,
  train_s: 1,
  images_per_s: 1,
  count_acc_curve: [[0, 0], [1, 0.9]],
  config: defaultAirRunConfig(),
};
const explanation = {
  n: 1,
  canvas: 8,
  steps: 2,
  counts: Int32Array.of(1),
  zPres: Float32Array.of(1, 0),
  presProb: Float32Array.of(0.9, 0.1),
  where: Float32Array.of(0.5, 0, 0, 0.5, 0, 0),
  recon: new Float32Array(64),
  written: [new Float32Array(64), new Float32Array(64)],
};
const slot = {
  presence: 1,
  type: 0,
  position: [0.2, -0.3, 0] as [number, number, number],
  euler: [0, 0, 0] as [number, number, number],
  rotation: Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1),
};
const curvePoint = {
  step: 0,
  seconds: 0,
  elbo: 1,
  count_acc: 0.5,
  type_acc: 0.5,
  pos_mae: [0.1, 0.1, 0.1] as [number, number, number],
  rot_err_median_deg: { cube: 10, cylinder: 20 },
  camera_err_deg: 12,
  liveTensors: 1,
};
const batch = sampleQueryBatch(new Rng(0), { batch: 1, size: 8, m: 2 });

/** Each figure builder with inputs; the keys must be exactly the builders the modules export. */
const builders: Record<string, () => FigureSpec | FigureSpec[]> = {
  confusionHeatmap: () => plotModule.confusionHeatmap([[1, 0], [0, 1]], ["a", "b"], "t"),
  scanHeatmaps: () => airReport.scanHeatmaps(explanation, 4),
  trainingCurvesFigure: () =>
    airReport.trainingCurvesFigure([{ seconds: 0, step: 0, countAcc: 0, elbo: 1 }, {
      seconds: 1,
      step: 2,
      countAcc: 0.5,
      elbo: 2,
    }], "t"),
  countCurvesFigure: () => airReport.countCurvesFigure([{ name: "a", result: airResult }], "t"),
  countConfusionFigure: () => airReport.countConfusionFigure({ confusion: [[1, 0], [0, 1]] }, "t"),
  curvesFigure: () =>
    air3dReport.curvesFigure([{
      epoch: 1,
      step: 1,
      seconds: 1,
      lr: 1e-3,
      train: { total: 1 },
      val: { total: 1, type: 0.5 },
      liveTensors: 0,
    }], "t"),
  positionErrorFigure: () => air3dReport.positionErrorFigure([{ name: "a", metrics }]),
  rotationErrorFigure: () => air3dReport.rotationErrorFigure([{ name: "a", metrics }]),
  confusionFigure: () => air3dReport.confusionFigure(metrics, "t"),
  sceneStatisticsFigures: () =>
    air3dReport.sceneStatisticsFigures(sceneStatistics(samplePrimitiveScenes(new Rng(0), 5), { size: 16 })),
  renderThroughputFigure: () =>
    air3dReport.renderThroughputFigure([{ size: 64, image: 1e5, withMaps: 5e4 }], {
      imageSize: 64,
      renderScenesPerS: 500,
    }),
  fitCurvesFigure: () =>
    air3dReport.fitCurvesFigure([{ name: "refined", traces: [[[1, 9], [40, 2]], [[1, 4]]] }]),
  stepHeatmaps: () =>
    stepModule.stepHeatmaps([[[1, 1], null]], { range: [0, 4], bins: 2, unit: "px", title: "t" }),
  attentionHeatmaps: () => unsupReport.attentionHeatmaps([[slot, slot], [slot]], 2, 4),
  unsupCurveFigure: () =>
    unsupReport.unsupCurveFigure([{ name: "a", curve: [curvePoint], count: true }], "t"),
  likelihoodSliceFigure: () =>
    unsupReport.likelihoodSliceFigure(
      [{ name: "u", delta: [-1, 0, 1], logLik: [0, 1, 0], derivative: [1, 0, -1] }],
      "t",
      "u",
    ),
  cameraRingFigure: () => gqnReport.cameraRingFigure(batch.scenes[0], batch.cameras[0]),
  gqnTraceFigure: () => gqnReport.gqnTraceFigure([[1, 5, 1, 2], [10, 4, 1, 0.7]]),
  gqnCurveFigure: () => gqnReport.gqnCurveFigure([[0, 0.1], [5, 0.02]], 0.03, 0.02),
  varianceFigure: () =>
    gqnReport.varianceFigure([{ m: 1, sample_variance: 0.01 }, { m: 5, sample_variance: 0.001 }]),
  gecoSimulationFigure: () =>
    genesisReport.gecoSimulationFigure(genesisReport.simulateGeco(100, 50, new Rng(0))),
  gecoTraceFigure: () => genesisReport.gecoTraceFigure([[1, 1, 1, 1], [5, 0.8, 2, 0.5]], -1.3),
};

Deno.test("every figure the lib builds gives its titles as { text }", () => {
  const exported = [plotModule, airReport, air3dReport, unsupReport, stepModule, gqnReport, genesisReport]
    .flatMap((m) =>
      Object.entries(m).filter(([name, v]) => typeof v === "function" && /.(Figures?|Heatmaps?)$/.test(name))
        .map(([name]) => name)
    );
  assert.deepEqual(Object.keys(builders).sort(), exported.sort(), "a figure builder has no entry here");
  for (const [name, build] of Object.entries(builders)) {
    const specs = [build()].flat();
    for (const spec of specs) {
      assert.ok(Array.isArray(spec.data) && spec.data.length > 0, `${name}: no traces`);
      assert.deepEqual(stringTitles(spec.layout), [], `${name} has plain-string titles`);
      assert.ok((spec.layout?.title as { text?: string } | undefined)?.text, `${name} has no title`);
    }
  }
});
