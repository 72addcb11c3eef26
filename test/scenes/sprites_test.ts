import assert from "node:assert/strict";
import { drawSprites, insideShape, sampleSprites, type Sprite } from "../../lib/scenes/sprites.ts";
import { Rng } from "../../lib/core/random.ts";
import { sampleColouredPrimitives } from "../../lib/scenes/scenes3d.ts";
import { renderBatch } from "../../lib/scenes/render.ts";

Deno.test("shapes: centre inside, far corners outside; the heart is not symmetric top to bottom", () => {
  for (const s of ["square", "ellipse", "heart"] as const) {
    assert.ok(insideShape(s, 0, 0), `${s} contains its centre`);
    assert.ok(!insideShape(s, 1.2, 1.2), `${s} excludes (1.2, 1.2)`);
  }
  let top = 0, bottom = 0;
  for (let i = -50; i <= 50; i++) {
    for (let j = 1; j <= 50; j++) {
      if (insideShape("heart", i / 50, j / 50)) top++;
      if (insideShape("heart", i / 50, -j / 50)) bottom++;
    }
  }
  assert.notEqual(top, bottom);
});

Deno.test("drawing: later sprites occlude earlier ones in the image and the instance map", () => {
  const S = 16;
  const a: Sprite = { shape: "square", x: 8, y: 8, scale: 5, angle: 0, colour: [1, 0, 0] };
  const b: Sprite = { shape: "square", x: 10, y: 8, scale: 3, angle: 0, colour: [0, 0, 1] };
  const image = new Float32Array(S * S * 3), mask = new Int32Array(S * S);
  drawSprites([a, b], [0.5, 0.5, 0.5], S, image, mask);
  const at = (x: number, y: number) => ({
    m: mask[y * S + x],
    c: [...image.subarray((y * S + x) * 3, (y * S + x) * 3 + 3)],
  });
  assert.deepEqual(at(10, 8), { m: 2, c: [0, 0, 1] }); // b on top
  assert.deepEqual(at(5, 8), { m: 1, c: [1, 0, 0] }); // a where b is not
  assert.deepEqual(at(0, 0), { m: 0, c: [0.5, 0.5, 0.5] }); // background
  // Pixel count of the unrotated square: side 2·0.8·5 = 8 px.
  drawSprites([a], [0, 0, 0], S, image, mask);
  assert.equal(mask.filter((v) => v === 1).length, 64);
});

Deno.test("sampling: counts in range, every sprite visible, colours differ from the background, seeded", () => {
  const set = sampleSprites(new Rng(4), 40, { size: 32 });
  assert.equal(set.images.length, 40 * 32 * 32 * 3);
  for (let i = 0; i < set.n; i++) {
    assert.ok(set.counts[i] >= 1 && set.counts[i] <= 4);
    const ids = new Set(set.masks.subarray(i * 1024, (i + 1) * 1024));
    for (let k = 1; k <= set.counts[i]; k++) assert.ok(ids.has(k), `scene ${i}: sprite ${k} visible`);
    assert.ok(Math.max(...ids) === set.counts[i]);
    // The background colour (at any background pixel) is no sprite's colour.
    const p = set.masks.subarray(i * 1024, (i + 1) * 1024).indexOf(0);
    if (p >= 0) {
      const bg = [...set.images.subarray((i * 1024 + p) * 3, (i * 1024 + p) * 3 + 3)];
      for (const s of set.sprites[i]) assert.notDeepEqual(s.colour, bg);
    }
  }
  const again = sampleSprites(new Rng(4), 40, { size: 32 });
  assert.deepEqual(again.images, set.images);
  assert.deepEqual(again.masks, set.masks);
  assert.throws(
    () => sampleSprites(new Rng(0), 2, { maxSprites: 0, minSprites: 1 }),
    /maxSprites \(0\) must be at least/,
  );
  assert.throws(() => sampleSprites(new Rng(0), 2, { scales: [0.7] }), /scales must be fractions/);
  assert.throws(() => sampleSprites(new Rng(0), 0), /n must be a positive integer/);
});

Deno.test("coloured primitives: masks are the renderer's ids + 1, pixels tinted by their primitive's albedo", () => {
  const set = sampleColouredPrimitives(new Rng(2), 6, { size: 32 });
  const again = sampleColouredPrimitives(new Rng(2), 6, { size: 32 });
  assert.deepEqual(again.images, set.images);
  const { images: grey, ids } = renderBatch(set.scenes, { size: 32, ids: true });
  for (let i = 0; i < 6 * 1024; i++) {
    assert.equal(set.masks[i], ids![i] + 1);
    const b = Math.floor(i / 1024);
    const albedo = ids![i] < 0 ? [0, 0, 0] : set.albedos[b][ids![i]];
    for (let c = 0; c < 3; c++) assert.ok(Math.abs(set.images[i * 3 + c] - grey[i] * albedo[c]) < 1e-6);
  }
  for (let b = 0; b < 6; b++) {
    assert.equal(set.counts[b], set.scenes[b].length);
    for (const a of set.albedos[b]) assert.ok(Math.max(...a) >= 0.75, "a bright albedo");
  }
  assert.throws(() => sampleColouredPrimitives(new Rng(0), 0, { size: 32 }), /n must be a positive integer/);
});
