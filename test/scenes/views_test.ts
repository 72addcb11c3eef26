import assert from "node:assert/strict";
import { Rng } from "../../lib/core/random.ts";
import { AMBIENT, DIFFUSE } from "../../lib/scenes/primitives.ts";
import { cameraFrame } from "../../lib/scenes/render.ts";
import {
  FLOOR_Y,
  LIGHT,
  meanTrainingImage,
  nearestContext,
  nearestViewPrediction,
  OBJECT_SCALE,
  queryMse,
  renderView,
  type RingScene,
  sampleQueryBatch,
  sampleRingScene,
  sampleTestSet,
  SKY,
  VIEW_DIM,
  viewpoint,
} from "../../lib/scenes/views.ts";

const close = (a: number, b: number, tol = 1e-6) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

Deno.test("viewpoint: (w, cos yaw, sin yaw, cos pitch, sin pitch) with w the unit camera position", () => {
  assert.deepEqual([...viewpoint({ yaw: 0, pitch: 0, distance: 5 })], [0, 0, 1, 1, 0, 1, 0]);
  const cam = { yaw: 1.1, pitch: 0.6, distance: 5 };
  const v = viewpoint(cam);
  const { c } = cameraFrame(cam);
  for (let i = 0; i < 3; i++) close(v[i], c[i] / 5, 1e-6);
  close(v[3], Math.cos(1.1)),
    close(v[4], Math.sin(1.1)),
    close(v[5], Math.cos(0.6)),
    close(v[6], Math.sin(0.6));
});

Deno.test("renderView: sky, shaded floor and albedo × shade on objects", () => {
  const scene: RingScene = {
    primitives: [{
      type: "cube",
      position: [0, FLOOR_Y + OBJECT_SCALE, 0],
      rotation: [0, 0, 0],
      scale: OBJECT_SCALE,
    }],
    albedos: [[0.8, 0.4, 0.2]],
    floor: [0.5, 0.4, 0.3],
  };
  const S = 32, img = renderView(scene, { yaw: 0, pitch: 0.6, distance: 5 }, S);
  const px = (i: number, j: number) => [0, 1, 2].map((c) => img[(i * S + j) * 3 + c]);
  assert.deepEqual(
    px(0, 0).map((v) => +v.toFixed(5)),
    SKY.map((v) => +v.toFixed(5)),
    "top-left corner is sky",
  );
  const k = AMBIENT + DIFFUSE * LIGHT[1];
  const floor = px(25, 16); // world y ≈ −1 on the image: the floor disc in front of the cube
  floor.forEach((v, c) => close(v, scene.floor[c] * k, 1e-5));
  const centre = px(S / 2 + 2, S / 2); // the cube's face
  assert.ok(centre[0] > 0 && centre[0] !== floor[0]);
  close(centre[1] / centre[0], 0.5, 1e-5);
  close(centre[2] / centre[0], 0.25, 1e-5);
  for (const v of img) assert.ok(v >= 0 && v <= 1);
});

Deno.test("ring scenes: 1–3 primitives resting on the floor, apart, turned only about the vertical", () => {
  const rng = new Rng(4), counts = new Set<number>();
  for (let s = 0; s < 200; s++) {
    const sc = sampleRingScene(rng);
    counts.add(sc.primitives.length);
    assert.equal(sc.albedos.length, sc.primitives.length);
    for (const [i, p] of sc.primitives.entries()) {
      close(p.position[1], FLOOR_Y + OBJECT_SCALE);
      assert.equal(p.rotation[0], 0), assert.equal(p.rotation[2], 0);
      for (const q of sc.primitives.slice(i + 1)) {
        assert.ok(Math.hypot(p.position[0] - q.position[0], p.position[2] - q.position[2]) >= 0.9);
      }
    }
  }
  assert.deepEqual([...counts].sort(), [1, 2, 3]);
});

Deno.test("sampleQueryBatch follows Algorithm S1: one M per batch in range, same seed → same batch", () => {
  const opts = { batch: 3, size: 16, minContext: 2, maxContext: 4 };
  const ms = new Set<number>();
  for (let s = 0; s < 30; s++) {
    const b = sampleQueryBatch(new Rng(s), opts);
    ms.add(b.m);
    assert.equal(b.context.length, 3 * b.m * 16 * 16 * 3);
    assert.equal(b.contextV.length, 3 * b.m * VIEW_DIM);
    assert.equal(b.query.length, 3 * 16 * 16 * 3);
    assert.equal(b.cameras[0].length, b.m + 1);
  }
  assert.deepEqual([...ms].sort(), [2, 3, 4]);
  const a = sampleQueryBatch(new Rng(9), opts), b = sampleQueryBatch(new Rng(9), opts);
  assert.deepEqual(a.context, b.context);
  assert.deepEqual(a.queryV, b.queryV);
  assert.equal(sampleQueryBatch(new Rng(1), { ...opts, m: 7 }).m, 7);
  const test = sampleTestSet(new Rng(2), 2, { size: 16, minContext: 1, maxContext: 3 });
  assert.deepEqual(test.map((g) => [g.m, g.b]), [[1, 2], [2, 2], [3, 2]]);
});

Deno.test("nearest-view baseline picks the closest camera; it is exact when a context shares the query camera", () => {
  const batch = sampleQueryBatch(new Rng(3), { batch: 4, size: 16, m: 4 });
  const near = nearestContext(batch);
  for (let b = 0; b < 4; b++) {
    const q = batch.cameras[b][4];
    const angle = (k: number) => {
      const c = batch.cameras[b][k];
      const dot = Math.cos(q.pitch) * Math.cos(c.pitch) * Math.cos(q.yaw - c.yaw) +
        Math.sin(q.pitch) * Math.sin(c.pitch);
      return Math.acos(Math.min(1, dot));
    };
    for (let k = 0; k < 4; k++) assert.ok(angle(near[b]) <= angle(k) + 1e-9);
  }
  // Replace context 2 of every scene by the query view itself: the baseline becomes exact.
  const px = 16 * 16 * 3;
  for (let b = 0; b < 4; b++) {
    batch.context.set(batch.query.subarray(b * px, (b + 1) * px), (b * 4 + 2) * px);
    batch.contextV.set(batch.queryV.subarray(b * VIEW_DIM, (b + 1) * VIEW_DIM), (b * 4 + 2) * VIEW_DIM);
  }
  assert.deepEqual([...nearestContext(batch)], [2, 2, 2, 2]);
  assert.equal(queryMse(batch, nearestViewPrediction(batch)), 0);
});

Deno.test("mean training image and queryMse", () => {
  const mean = meanTrainingImage(new Rng(0), 50, { size: 8 });
  assert.equal(mean.length, 8 * 8 * 3);
  for (const v of mean) assert.ok(v >= 0 && v <= 1);
  close(mean[0], SKY[0], 1e-6); // the top-left corner is always sky
  const batch = sampleQueryBatch(new Rng(1), { batch: 2, size: 8, m: 1 });
  let se = 0;
  for (let i = 0; i < batch.query.length; i++) se += (batch.query[i] - mean[i % mean.length]) ** 2;
  close(queryMse(batch, mean), se / batch.query.length, 1e-9);
  assert.throws(() => queryMse(batch, new Float32Array(5)), /prediction must hold/);
});

Deno.test("bad view options name the field", () => {
  const rng = new Rng(0);
  assert.throws(() => sampleQueryBatch(rng, { batch: 0, size: 16 }), /batch must be a positive integer/);
  assert.throws(() => sampleQueryBatch(rng, { batch: 1, size: 3 }), /size must be an integer in 4\.\.512/);
  assert.throws(() => sampleQueryBatch(rng, { batch: 1, size: 16, maxPrimitives: 4 }), /maxPrimitives/);
  assert.throws(() => sampleQueryBatch(rng, { batch: 1, size: 16, pitch: [0.5, 2] }), /pitch must be/);
  assert.throws(
    () => sampleQueryBatch(rng, { batch: 1, size: 16, minContext: 3, maxContext: 2 }),
    /maxContext must be an integer in minContext/,
  );
  assert.throws(() => sampleQueryBatch(rng, { batch: 1, size: 16, m: 0 }), /m must be an integer in 1\.\.64/);
  assert.throws(
    () => sampleQueryBatch(rng, { batch: 1, size: 16, colour: 1 } as never),
    /unknown view option "colour"/,
  );
});
