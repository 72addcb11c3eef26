import assert from "node:assert/strict";
import {
  instanceBoxes,
  primitiveGallery,
  renderThroughput,
  sceneStatistics,
} from "../../lib/scenes/scenes3d.ts";
import { renderScene } from "../../lib/scenes/render.ts";
import { samplePrimitiveScenes, type Scene } from "../../lib/scenes/primitives.ts";
import { Rng } from "../../lib/core/random.ts";

Deno.test("gallery: one scene per type and rotation, type-major", () => {
  const g = primitiveGallery([[0, 0, 0], [0.5, 0.5, 0]]);
  assert.deepEqual(g.map((s) => s[0].type), ["sphere", "sphere", "cube", "cube", "cylinder", "cylinder"]);
  assert.deepEqual(g[3][0].rotation, [0.5, 0.5, 0]);
});

Deno.test("instance boxes bound exactly the pixels of each id", () => {
  const ids = Int16Array.from([-1, -1, -1, -1, -1, 0, 0, -1, -1, 0, 1, 1, -1, -1, -1, 1]);
  assert.deepEqual(instanceBoxes(ids, 4, 3), [{ x: 1, y: 1, w: 2, h: 2 }, { x: 2, y: 2, w: 2, h: 2 }, null]);
  // A sphere of radius 0.4 at the origin spans 0.8 of the 3.2-wide view.
  const r = renderScene([{ type: "sphere", position: [0, 0, 0], rotation: [0, 0, 0] }], { size: 64 });
  const [b] = instanceBoxes(r.ids, 64, 1);
  assert.ok(b && Math.abs(b.w - 0.8 / 3.2 * 63) <= 1.5 && b.w === b.h, JSON.stringify(b));
});

Deno.test("statistics count scenes, types and occlusion", () => {
  const far = {
    type: "cube" as const,
    position: [0, 0, -0.3] as [number, number, number],
    rotation: [0, 0, 0] as [number, number, number],
  };
  const near = {
    ...far,
    type: "sphere" as const,
    position: [0, 0, 0.3] as [number, number, number],
    scale: 0.5,
  };
  const side = { ...far, position: [0.8, 0.8, 0] as [number, number, number] };
  const scenes: Scene[] = [[far, near], [side]];
  const s = sceneStatistics(scenes, { size: 64 });
  assert.deepEqual(s.countHistogram, [0, 1, 1]);
  assert.deepEqual(s.typeCounts, { sphere: 1, cube: 2, cylinder: 0 });
  assert.equal(s.primitives, 3);
  assert.equal(s.visibleFraction[1], 1); // the near sphere
  assert.equal(s.visibleFraction[2], 1);
  assert.ok(s.visibleFraction[0] < 0.5 && s.visibleFraction[0] > 0, "cube mostly hidden by the sphere");
  assert.equal(s.hidden, 0);
  const many = sceneStatistics(samplePrimitiveScenes(new Rng(2), 300), { size: 32 });
  assert.equal(many.positions.x.length, many.primitives);
  assert.ok(many.meanCoverage > 0.02 && many.meanCoverage < 0.5);
});

Deno.test("throughput is measured and positive", () => {
  assert.ok(renderThroughput({ size: 16, seconds: 0.05, batch: 50 }) > 0);
  assert.throws(() => renderThroughput({ size: 16, seconds: 0 }), /seconds must be > 0/);
});

Deno.test("slot datasets: targets follow the scenes, x-ordered; streams are fresh and seeded", async () => {
  const { sampleSlotDataset, slotBatches, slotDataset } = await import("../../lib/scenes/scenes3d.ts");
  const { eulerZYX } = await import("../../lib/scenes/primitives.ts");
  const d = sampleSlotDataset(new Rng(5), 40, { size: 16, maxPrimitives: 3 });
  assert.equal(d.images.length, 40 * 256);
  d.scenes.forEach((s, b) => {
    for (let k = 0; k < 3; k++) {
      const i = b * 3 + k, p = s[k];
      assert.equal(d.presence[i], p ? 1 : 0);
      if (!p) continue;
      assert.equal(d.type[i], ["sphere", "cube", "cylinder"].indexOf(p.type));
      assert.deepEqual(
        Array.from(d.position.subarray(i * 3, i * 3 + 3)),
        Array.from(Float32Array.from(p.position)),
      );
      const r = eulerZYX(...p.rotation);
      for (let m = 0; m < 9; m++) assert.ok(Math.abs(d.rotation[i * 9 + m] - r[m]) < 1e-6);
      if (k > 0) assert.ok(s[k - 1].position[0] <= p.position[0]);
    }
  });
  // ids: the slot seen at each pixel, as the renderer's instance ids of the scene (−1: background).
  const { renderScene } = await import("../../lib/scenes/render.ts");
  assert.deepEqual(d.ids.subarray(3 * 256, 4 * 256), renderScene(d.scenes[3], { size: 16 }).ids);
  assert.ok(d.ids.some((v) => v >= 0) && d.ids.some((v) => v < 0));
  const a = slotBatches(new Rng(9), 8, { size: 16, maxPrimitives: 2 });
  const b = slotBatches(new Rng(9), 8, { size: 16, maxPrimitives: 2 });
  const a1 = a.next().value!, a2 = a.next().value!;
  assert.deepEqual(a1.images, b.next().value!.images); // same seed → same stream
  assert.notDeepEqual(a1.images, a2.images); // every batch is new
  assert.throws(() => slotDataset(d.scenes, { size: 16, maxSlots: 2 }), /maxSlots is 2/);
  assert.throws(
    () =>
      slotDataset([[d.scenes[0][0], { ...d.scenes[0][0], position: [-2, 0, 0] }]], { size: 8, maxSlots: 3 }),
    /sorted by x/,
  );
  assert.throws(() => sampleSlotDataset(new Rng(0), 0, { size: 8, maxPrimitives: 3 }), /n must be/);
});
