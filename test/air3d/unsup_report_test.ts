import assert from "node:assert/strict";
import {
  attentionHeatmaps,
  inferenceGrid,
  unsupCurveFigure,
  unsupRow,
  varianceRows,
} from "../../lib/air3d/unsup_report.ts";
import type { CurvePoint } from "../../lib/air3d/unsup_train.ts";
import { sampleSlotDataset } from "../../lib/scenes/scenes3d.ts";
import { Rng } from "../../lib/core/random.ts";
import { eulerZYX } from "../../lib/scenes/primitives.ts";

const point = (seconds: number, count_acc: number): CurvePoint => ({
  step: seconds,
  seconds,
  elbo: 0,
  count_acc,
  type_acc: 0.5,
  pos_mae: [0.1, 0.1, 0.1],
  rot_err_median_deg: { cube: 10, cylinder: 20 },
  camera_err_deg: null,
  liveTensors: 1,
});

Deno.test("unsupCurveFigure draws the count only for runs of several objects", () => {
  const curve = [point(0, 0.3), point(10, 0.7)];
  const one = unsupCurveFigure([{ name: "a", curve }], "t");
  const three = unsupCurveFigure([{ name: "a", curve, count: true }], "t");
  assert.equal(three.data.length, one.data.length + 1);
  const counts = three.data.find((d) => String(d.name).endsWith("count acc"))!;
  assert.deepEqual(counts.y, [0.3, 0.7]);
  assert.ok(!one.data.some((d) => String(d.name).endsWith("count acc")));
  // The orbit camera's error is drawn where the curve has it.
  const orbit = unsupCurveFigure(
    [{ name: "o", curve: curve.map((p) => ({ ...p, camera_err_deg: 12 })) }],
    "t",
  );
  assert.deepEqual(orbit.data.find((d) => String(d.name).endsWith("camera angle (°)"))!.y, [12, 12]);
  assert.ok(!one.data.some((d) => String(d.name).includes("camera")));
});

Deno.test("unsupRow, varianceRows and inferenceGrid lay out a run's figures", () => {
  const r = {
    count_acc: 0.9,
    type_acc: 0.8,
    pos_mae: [0.01, 0.02, 0.3] as [number, number, number],
    rot_err_median_deg: { cube: 3, cylinder: 4 },
  };
  assert.equal(unsupRow("m", r, { count: true }).count_acc, 0.9);
  assert.equal(unsupRow("m", r)["x / y MAE"], "0.010 / 0.020");
  assert.ok(!("count_acc" in unsupRow("m", r)));
  const rows = varianceRows({ reinforce: { variance: 4, meanNorm2: 2, ratio: 2 } });
  assert.equal(rows[0]["Var / ‖mean‖²"], 2);
  const test = sampleSlotDataset(new Rng(0), 2, { size: 16, maxPrimitives: 3 });
  const empty = [{
    presence: 0,
    type: 0,
    position: [0, 0, 0] as [number, number, number],
    euler: [0, 0, 0] as [number, number, number],
    rotation: eulerZYX(0, 0, 0),
  }];
  const grid = inferenceGrid(test, [{ name: "none", predictions: [empty, empty] }], 2, "orthographic");
  assert.equal(grid.length, 4); // per scene: the input, then the method's rendering
  assert.equal(grid[1].caption, "none: ∅");
  assert.ok(grid[1].data.every((v) => v === 0));
});

Deno.test("attentionHeatmaps bins each step's centre over the images where it found an object", () => {
  const slot = (x: number, y: number, presence = 1) => ({
    presence,
    type: 0,
    position: [x, y, 0] as [number, number, number],
    euler: [0, 0, 0] as [number, number, number],
    rotation: eulerZYX(0, 0, 0),
  });
  // Two images, two steps: step 1 at the lower left and the upper right; step 2 once (the other absent).
  const fig = attentionHeatmaps(
    [[slot(-1.5, -1.5), slot(0.1, 0.1)], [slot(1.5, 1.5), slot(0, 0, 0.2)]],
    2,
    4,
  );
  const z = fig.data.map((d) => d.z as number[][]);
  assert.equal(z[0][0][0], 1); // row = y bin (upwards), column = x bin
  assert.equal(z[0][3][3], 1);
  assert.equal(z[1].flat().reduce((a, v) => a + v, 0), 1);
  assert.equal(z[1][2][2], 1);
  assert.equal(fig.data[1].name, "step 2 (1 present)");
});
