import assert from "node:assert/strict";
import { initTf } from "../../lib/core/tf.ts";
import { Rng } from "../../lib/core/random.ts";
import { Gqn } from "../../lib/gqn/model.ts";
import {
  cameraRingFigure,
  canvasLayers,
  contextItems,
  contextSampleItems,
  epipolarSliceItems,
  gqnCurveFigure,
  gqnTraceFigure,
  queryItems,
  representationOf,
  varianceByContext,
  withContexts,
} from "../../lib/gqn/report.ts";
import { nearestViewPrediction, queryMse, sampleQueryBatch, VIEW_DIM } from "../../lib/scenes/views.ts";

import { tinyGqn } from "../fixtures.ts";

await initTf();
const tiny = tinyGqn;

Deno.test("withContexts keeps the first M views of every scene and the same query", () => {
  const batch = sampleQueryBatch(new Rng(0), { batch: 3, size: 8, m: 4 });
  const sub = withContexts(batch, 2), px = 8 * 8 * 3;
  assert.equal(sub.m, 2);
  assert.deepEqual(sub.query, batch.query);
  for (let b = 0; b < 3; b++) {
    for (let k = 0; k < 2; k++) {
      assert.deepEqual(
        sub.context.subarray((b * 2 + k) * px, (b * 2 + k + 1) * px),
        batch.context.subarray((b * 4 + k) * px, (b * 4 + k + 1) * px),
      );
      assert.deepEqual(
        sub.contextV.subarray((b * 2 + k) * VIEW_DIM, (b * 2 + k + 1) * VIEW_DIM),
        batch.contextV.subarray((b * 4 + k) * VIEW_DIM, (b * 4 + k + 1) * VIEW_DIM),
      );
    }
    assert.deepEqual(sub.cameras[b], [batch.cameras[b][0], batch.cameras[b][1], batch.cameras[b][4]]);
  }
  assert.throws(() => withContexts(batch, 5), /m must be an integer in 1\.\.4/);
});

Deno.test("varianceByContext: one row per M, nearest-view MSE as the baseline computes it", async () => {
  const model = new Gqn(tiny(), new Rng(0));
  const batch = sampleQueryBatch(new Rng(1), { batch: 4, size: 16, m: 3 });
  const rows = await varianceByContext(model, batch, [1, 3], 3, new Rng(2));
  assert.deepEqual(rows.map((r) => r.m), [1, 3]);
  for (const r of rows) assert.ok(r.sample_variance > 0 && r.query_mse > 0);
  const sub = withContexts(batch, 1);
  assert.ok(Math.abs(rows[0].nearest_mse - queryMse(sub, nearestViewPrediction(sub))) < 1e-9);
  model.dispose();
});

Deno.test("figure and grid builders", () => {
  const batch = sampleQueryBatch(new Rng(3), { batch: 2, size: 8, m: 3 });
  const ring = cameraRingFigure(batch.scenes[0], batch.cameras[0]);
  assert.equal(ring.data.length, 2 + 4); // floor, objects, 3 contexts + query
  assert.equal((ring.data[1].x as number[]).length, batch.scenes[0].primitives.length);
  assert.equal(ring.data.at(-1)!.name, "query camera");
  const items = queryItems(batch, new Float32Array(2 * 8 * 8 * 3), 2);
  assert.deepEqual(items.slice(0, 6).map((i) => i.caption), [
    "context 1",
    "context 2",
    "context 3",
    "true query",
    "GQN",
    "nearest view",
  ]);
  assert.equal(items.length, 12);
  assert.equal(gqnTraceFigure([[10, 5, 1, 2], [20, 4, 1, 0.7]]).data.length, 3);
  const curve = gqnCurveFigure([[0, 0.1], [5, 0.02]], 0.03, 0.02);
  assert.deepEqual(curve.data[2].y, [0.015, 0.015]);
});

Deno.test("contextItems and contextSampleItems: the first scene's views, then samples per M that repeat", async () => {
  const batch = sampleQueryBatch(new Rng(2), { batch: 2, size: 16, m: 3 });
  const px = 16 * 16 * 3;
  const views = contextItems(batch);
  assert.deepEqual(views.map((v) => v.caption), ["context 1", "context 2", "context 3", "true query"]);
  assert.deepEqual(views[1].data, batch.context.subarray(px, 2 * px));
  assert.deepEqual(views[3].data, batch.query.subarray(0, px));
  const model = new Gqn(tiny(), new Rng(0));
  const items = await contextSampleItems(model, batch, [1, 3], 2);
  assert.deepEqual(items.map((i) => i.caption), [
    "M=1, sample 1",
    "M=1, sample 2",
    "M=3, sample 1",
    "M=3, sample 2",
  ]);
  assert.equal(items[0].data.length, px);
  assert.deepEqual(
    (await contextSampleItems(model, batch, [1, 3], 2)).map((i) => i.data),
    items.map((i) => i.data),
  );
  assert.notDeepEqual(items[0].data, items[1].data, "two samples differ");
  model.dispose();
});

Deno.test("epipolarSliceItems: one image per depth; with the query's own camera as context, each slice is the query", () => {
  const batch = sampleQueryBatch(new Rng(4), { batch: 2, size: 8, m: 1 });
  const slices = epipolarSliceItems(batch, 3);
  assert.deepEqual(slices.map((s) => s.caption), [
    "0.90 above the floor",
    "0.45 above the floor",
    "0.00 above the floor",
  ]);
  assert.ok(slices.every((s) => s.width === 8 && s.data.length === 8 * 8 * 3));
  const self = { ...batch, context: batch.query.slice(), cameras: batch.cameras.map((c) => [c[1], c[1]]) };
  for (const s of epipolarSliceItems(self, 3)) {
    s.data.forEach((v, i) => assert.ok(Math.abs(v - self.query[i]) < 1e-5));
  }
});

Deno.test("representationOf sums over views in any order; canvasLayers gives one image per layer", async () => {
  const model = new Gqn(tiny(), new Rng(0));
  const batch = sampleQueryBatch(new Rng(1), { batch: 2, size: 16, m: 3 });
  const px = 16 * 16 * 3, V = VIEW_DIM;
  const reversed = { ...batch, context: batch.context.slice(), contextV: batch.contextV.slice() };
  for (let b = 0; b < 2; b++) {
    for (let k = 0; k < 3; k++) {
      reversed.context.set(
        batch.context.subarray((b * 3 + k) * px, (b * 3 + k + 1) * px),
        (b * 3 + 2 - k) * px,
      );
      reversed.contextV.set(
        batch.contextV.subarray((b * 3 + k) * V, (b * 3 + k + 1) * V),
        (b * 3 + 2 - k) * V,
      );
    }
  }
  const [a, r] = [await representationOf(model, batch), await representationOf(model, reversed)];
  assert.equal(a.length, 2 * 4 * 4 * tiny().rChannels);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - r[i]) < 1e-5);
  const layers = await canvasLayers(model, batch, new Rng(3));
  assert.equal(layers.length, tiny().layers);
  for (const l of layers) assert.equal(l.length, 2 * px);
  assert.deepEqual(await canvasLayers(model, batch, new Rng(3)), layers);
  model.dispose();
});
