import assert from "node:assert/strict";
import { Rng } from "../../lib/core/random.ts";
import { FLOOR_ID, sampleQueryBatch, seenByContext, SKY_ID, viewGeometry } from "../../lib/scenes/views.ts";
import { colourHitRate, objectMse, queryGeometry, varianceBySeen } from "../../lib/gqn/scores.ts";

const batch = sampleQueryBatch(new Rng(3), { batch: 6, size: 24, m: 2 });
const geometry = queryGeometry(batch);
const n = 24 * 24;

Deno.test("object scores: the true query scores 0 and 1; objects painted in the floor's colour score 0", () => {
  assert.equal(objectMse(batch, batch.query, geometry), 0);
  assert.equal(colourHitRate(batch, batch.query, geometry), 1);
  // Each object pixel repainted with the floor colour at the same shade: the objects vanish into the floor.
  const floorPainted = batch.query.slice();
  for (let b = 0; b < batch.b; b++) {
    const { albedos, floor } = batch.scenes[b];
    geometry.query[b].ids.forEach((id, p) => {
      if (id < 0) return;
      const a = albedos[id],
        k = a.indexOf(Math.max(...a)),
        t = (b * n + p) * 3,
        s = batch.query[t + k] / a[k];
      for (let c = 0; c < 3; c++) floorPainted[t + c] = floor[c] * s;
    });
  }
  assert.equal(colourHitRate(batch, floorPainted, geometry), 0);
  assert.ok(objectMse(batch, floorPainted, geometry) > 0.01);
  // A mean image (one image for all scenes) is accepted; a wrong length is an error naming it.
  assert.ok(Number.isFinite(objectMse(batch, batch.query.subarray(0, n * 3), geometry)));
  assert.throws(
    () => objectMse(batch, new Float32Array(5), geometry),
    /prediction must hold 6×1728 or 1728 floats, got 5/,
  );
});

Deno.test("view geometry: ids match the image's kinds; every non-sky pixel is seen by a context at the query's own pose", () => {
  const scene = batch.scenes[0], cam = batch.cameras[0][batch.m];
  const g = viewGeometry(scene, cam, 24);
  let objects = 0, floor = 0, sky = 0;
  g.ids.forEach((id) => id >= 0 ? objects++ : id === FLOOR_ID ? floor++ : id === SKY_ID && sky++);
  assert.ok(objects > 0 && floor > 0 && sky > 0, `${objects} object, ${floor} floor, ${sky} sky pixels`);
  g.ids.forEach((id, p) => assert.equal(Number.isNaN(g.points[p * 3]), id === SKY_ID));
  const same = seenByContext(g, [{ cam, geometry: g }], 24);
  g.ids.forEach((id, p) => assert.equal(same[p], id === SKY_ID ? 0 : 1, `pixel ${p}`));
  // From the opposite side of the ring much of what the query shows is hidden (the objects' far faces, the floor behind them).
  const back = { ...cam, yaw: cam.yaw + Math.PI };
  const opposite = seenByContext(g, [{ cam: back, geometry: viewGeometry(scene, back, 24) }], 24);
  const nonSky = g.ids.filter((id) => id !== SKY_ID).length;
  const seenBack = opposite.reduce((a, v) => a + v, 0);
  assert.ok(seenBack < nonSky, `${seenBack} of ${nonSky} seen from behind`);
});

Deno.test("varianceBySeen: samples that differ only where no context looked have all their variance there", () => {
  const a = batch.query.slice(), b = batch.query.slice();
  let changed = 0;
  for (let s = 0; s < batch.b; s++) {
    const { ids } = geometry.query[s], seen = geometry.seen[s];
    for (let p = 0; p < n; p++) {
      if (ids[p] === SKY_ID || seen[p]) continue;
      b[(s * n + p) * 3] += 0.5;
      changed++;
    }
  }
  assert.ok(changed > 0, "some query pixels are unseen by the 2 contexts");
  const v = varianceBySeen(batch, [a, b], geometry);
  assert.equal(v.seen, 0);
  assert.ok(v.unseen > 0 && v.ratio === Infinity);
  assert.ok(v.unseenShare > 0 && v.unseenShare < 1);
  assert.throws(
    () => varianceBySeen(batch, [a], geometry),
    /samples must hold at least 2 predictions, got 1/,
  );
  // By kind: a change on the unseen object pixels alone shows there and nowhere else; the object shares count pixels.
  const c = batch.query.slice(), counts = [0, 0, 0, 0]; // [seen][object] as 2·seen + object
  for (let s = 0; s < batch.b; s++) {
    const { ids } = geometry.query[s], seen = geometry.seen[s];
    for (let p = 0; p < n; p++) {
      if (ids[p] === SKY_ID) continue;
      counts[2 * seen[p] + (ids[p] >= 0 ? 1 : 0)]++;
      if (!seen[p] && ids[p] >= 0) c[(s * n + p) * 3 + 1] += 0.3;
    }
  }
  const k = varianceBySeen(batch, [a, c], geometry).byKind;
  assert.ok(counts[1] > 0, "some unseen pixels show an object");
  assert.ok(Math.abs(k.unseen_object - 0.3 ** 2 / 2 / 3) < 1e-6, `${k.unseen_object}`); // (0.3²/2) in one channel of 3
  assert.deepEqual([k.seen_floor, k.seen_object, k.unseen_floor], [0, 0, 0]);
  assert.equal(k.object_share_unseen, counts[1] / (counts[0] + counts[1]));
  assert.equal(k.object_share_seen, counts[3] / (counts[2] + counts[3]));
});
