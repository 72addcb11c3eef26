import assert from "node:assert/strict";
import { initTf, liveTensors } from "../../lib/core/tf.ts";
import { Air } from "../../lib/air/model.ts";
import { defaultAirConfig } from "../../lib/air/config.ts";
import { evaluateAir } from "../../lib/air/eval.ts";
import { runAirMnist } from "../../lib/air/train.ts";
import {
  airMasks,
  airResultRow,
  countConfusionFigure,
  countCurvesFigure,
  explain,
  explanationItems,
  liveAirCurves,
  perCountAccuracy,
  scanHeatmaps,
  sceneItems,
  STEP_COLOURS,
  trainingCurvesFigure,
} from "../../lib/air/report.ts";
import { Notebook } from "../../lib/display/notebook.ts";
import { REPRODUCTION_SCENES, sampleMultiMnist } from "../../lib/scenes/multi_mnist.ts";
import { Rng } from "../../lib/core/random.ts";
import { batchMaskScores } from "../../lib/metrics/segmentation.ts";
import { fakeMnist, small } from "../fixtures.ts";

await initTf();

const model = (presInit: number) => new Air({ ...small().air, presInit }, new Rng(4));

Deno.test("explain: the mode pass on host; reconstruction = clip(Σ written); batching changes nothing", async () => {
  const mnist = await fakeMnist();
  const scenes = sampleMultiMnist(new Rng(0), mnist.test, 7, REPRODUCTION_SCENES);
  const air = model(2); // every step starts present
  const before = liveTensors();
  const ex = await explain(air, scenes.images, 7);
  assert.equal(liveTensors(), before, "no tensors leak");
  const px = 32 * 32, N = 3;
  assert.deepEqual([...ex.counts], new Array(7).fill(3));
  assert.equal(ex.where.length, 7 * N * 3);
  for (let i = 0; i < 7 * px; i++) {
    const sum = ex.written.reduce((a, w) => a + w[i], 0);
    assert.ok(Math.abs(ex.recon[i] - Math.min(1, Math.max(0, sum))) < 1e-5, `pixel ${i}`);
  }
  assert.deepEqual(await explain(air, scenes.images, 7, 3), ex);
  // The counts agree with the evaluation's confusion matrix (same mode pass).
  const ev = await evaluateAir(air, scenes);
  assert.equal(ev.confusion.reduce((a, r) => a + r[3], 0), 7);
  await assert.rejects(() => explain(air, scenes.images, 8), /n must be an integer in 1..7/);
  // An absent step writes nothing.
  const none = await explain(model(-8), scenes.images, 2);
  assert.deepEqual([...none.counts], [0, 0]);
  assert.ok(none.written.every((w) => w.every((v) => v === 0)) && none.recon.every((v) => v === 0));
  air.dispose();
});

Deno.test("grids: step boxes in step colours, one row of 2 + N images per scene; true boxes", async () => {
  const mnist = await fakeMnist();
  const scenes = sampleMultiMnist(new Rng(1), mnist.test, 4, REPRODUCTION_SCENES);
  const air = model(2);
  const ex = await explain(air, scenes.images, 4);
  const items = explanationItems(ex, scenes, [0, 2]);
  assert.equal(items.length, 2 * (2 + 3));
  assert.deepEqual(items[0].boxes!.map((b) => b.color), STEP_COLOURS.slice(0, 3));
  assert.equal(items[0].boxes![0].label, "1");
  assert.match(items[0].caption!, /true \d, inferred 3/);
  assert.throws(() => explanationItems(ex, scenes, [4]), /index 4 is outside/);
  const truth = sceneItems(scenes, [0, 1, 2, 3]);
  truth.forEach((it, b) => {
    assert.equal(it.boxes!.length, scenes.counts[b]);
    assert.match(it.caption!, new RegExp(`^${scenes.counts[b]} digit`));
  });
  air.dispose();
});

Deno.test("scan heatmaps count each present step's window centre once, in the right cell", () => {
  // Hand-made explanation: 3 images, 2 steps; step 2 present in one image only.
  const ex = {
    n: 3,
    canvas: 32,
    steps: 2,
    counts: Int32Array.of(1, 2, 0),
    zPres: Float32Array.of(1, 0, 1, 1, 0, 0),
    presProb: new Float32Array(6),
    // (s, x, y): centre (−1, −1) = pixel 0's centre; (1, 1) = the last pixel's; (0, 0) the middle.
    where: Float32Array.of(0.2, -1, -1, 0.2, 0, 0, 0.2, 1, 1, 0.2, 0, 0, 0.2, 0, 0, 0.2, 0, 0),
    recon: new Float32Array(3 * 1024),
    written: [new Float32Array(3 * 1024), new Float32Array(3 * 1024)],
  };
  const fig = scanHeatmaps(ex, 4);
  const z = fig.data.map((d) => d.z as number[][]);
  assert.equal(z[0].flat().reduce((a, v) => a + v, 0), 2);
  assert.equal(z[0][0][0], 1); // top-left
  assert.equal(z[0][3][3], 1); // bottom-right
  assert.equal(z[1].flat().reduce((a, v) => a + v, 0), 1);
  assert.equal(z[1][2][2], 1); // centre 16.5 px → bin 2 of 4 (8 px each)
  assert.equal(fig.data[1].xaxis, "x2");
  assert.deepEqual(fig.data.map((d) => [d.zmin, d.zmax]), [[0, 1], [0, 1]]);
  assert.throws(() => scanHeatmaps(ex, 0), /bins must be/);
});

Deno.test("curves, confusion, result rows; the live figure redraws on each evaluation", async () => {
  const mnist = await fakeMnist();
  const nb = new Notebook();
  const live = await liveAirCurves(nb, "AIR");
  const { result, trainer } = await runAirMnist({ ...small(), maxSteps: 2 }, mnist, { onEval: live.onEval });
  await live.finish();
  trainer.dispose();
  assert.equal(live.points.length, 2);
  // The placeholder, then one redraw per evaluation and the final view, all of the same output.
  const updates = nb.shown.filter((b) => "x-update-of" in b);
  assert.equal(updates.length, 3);
  assert.equal(new Set(updates.map((b) => b["x-update-of"])).size, 1);
  const fig = trainingCurvesFigure(live.points, "t");
  assert.deepEqual(fig.data[0].y, result.count_acc_curve.map(([, a]) => a));
  const both = countCurvesFigure([{ name: "a", result }, { name: "b", result }], "g");
  assert.deepEqual(both.data.map((d) => d.name), ["a", "b"]);
  assert.deepEqual(both.data[1].x, result.count_acc_curve.map(([s]) => s));
  const conf = countConfusionFigure({ confusion: [[2, 0], [1, 3]] }, "c");
  assert.deepEqual(conf.data[0].x, ["0", "1"]);
  assert.equal(perCountAccuracy([[2, 0, 0], [1, 3, 0], [0, 0, 0]]), "0: 2/2 · 1: 3/4");
  const row = airResultRow("run", result);
  assert.equal(row.count_acc, +result.count_acc.toFixed(3));
  assert.equal(row["train → test counts"], "0,1,2 → 0,1,2");
  assert.equal(row.model, "AIR");
  assert.ok(defaultAirConfig().canvas === 50 && row.canvas === "32×32");
});

Deno.test("airMasks: background where no step wrote more than the threshold, else the step with most ink", () => {
  // one 2×2 image, 2 steps: pixel 0 empty, 1 step 1's, 2 both (step 2 more), 3 faint ink only
  const ex = {
    n: 1,
    canvas: 2,
    steps: 2,
    counts: Int32Array.of(2),
    zPres: Float32Array.of(1, 1),
    presProb: new Float32Array(2),
    where: new Float32Array(6),
    recon: new Float32Array(4),
    written: [Float32Array.of(0, 0.9, 0.3, 0.02), Float32Array.of(0, 0, 0.6, 0.01)],
  };
  const m = airMasks(ex);
  assert.equal(m.length, 3 * 4);
  for (let p = 0; p < 4; p++) {
    assert.ok(Math.abs(m[p] + m[4 + p] + m[8 + p] - 1) < 1e-6, `pixel ${p} sums to 1`);
  }
  const label = (p: number) => [0, 1, 2].reduce((best, k) => (m[k * 4 + p] > m[best * 4 + p] ? k : best), 0);
  assert.deepEqual([0, 1, 2, 3].map(label), [0, 1, 2, 0]);
  // scored against the truth it matches: everything perfect
  const s = batchMaskScores(Int32Array.of(0, 1, 2, 0), m, { n: 1, k: 3 });
  assert.deepEqual([s.fgAri, s.msc], [1, 1]);
  assert.throws(() => airMasks(ex, 0), /inkThreshold must be > 0/);
});
