import assert from "node:assert/strict";
import { encodeIdx, parseSplit } from "../../lib/scenes/mnist.ts";
import {
  boxToWhere,
  PAPER_SCENES,
  REPRODUCTION_SCENES,
  resizeArea,
  sampleMultiMnist,
  validateSpec,
  whereToBox,
} from "../../lib/scenes/multi_mnist.ts";
import { Rng } from "../../lib/core/random.ts";

/** Twenty fake 28×28 digits: a filled 14×14 square of value 0.6 in the middle, label i mod 10. */
const split = await parseSplit(
  encodeIdx(
    [20, 28, 28],
    new Uint8Array(20 * 784).map((_, k) => {
      const r = Math.floor((k % 784) / 28), c = k % 28;
      return r >= 7 && r < 21 && c >= 7 && c < 21 ? 153 : 0;
    }),
  ),
  encodeIdx([20], Uint8Array.from({ length: 20 }, (_, i) => i % 10)),
);

Deno.test("area resize keeps the mean and shrinks a square to a square", () => {
  const src = new Float32Array(784).map((_, k) => (k % 3) / 2);
  const out = resizeArea(src, 28, 21);
  const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
  assert.ok(Math.abs(mean(out) - mean(src)) < 1e-6);
  const sq = resizeArea(new Float32Array(16).fill(1), 4, 2);
  assert.deepEqual([...sq], [1, 1, 1, 1]);
});

Deno.test("scenes: uniform counts, digits inside the canvas, no saturation, instance maps, same seed → same scenes", () => {
  for (const spec of [PAPER_SCENES, REPRODUCTION_SCENES]) {
    const s = sampleMultiMnist(new Rng(1), split, 300, spec);
    const C = spec.canvas;
    assert.equal(s.images.length, 300 * C * C);
    const hist = [0, 0, 0];
    for (let b = 0; b < s.n; b++) {
      hist[s.counts[b]]++;
      assert.equal(s.boxes[b].length, s.counts[b]);
      for (const box of s.boxes[b]) {
        assert.ok(box.x >= 0 && box.y >= 0 && box.x + box.size <= C && box.y + box.size <= C);
        if (spec === REPRODUCTION_SCENES) assert.ok(box.size >= 12 && box.size <= 18);
        else assert.ok(box.size >= 16 && box.size <= 32, String(box.size));
      }
      const img = s.images.subarray(b * C * C, (b + 1) * C * C);
      assert.ok(img.every((v) => v >= 0 && v <= 1));
      // Every inked pixel of digit k lies in its box; empty scenes are blank.
      const ids = s.instances.subarray(b * C * C, (b + 1) * C * C);
      ids.forEach((id, p) => {
        if (id === 0) return;
        const box = s.boxes[b][id - 1], r = Math.floor(p / C), c = p % C;
        assert.ok(r >= box.y && r < box.y + box.size && c >= box.x && c < box.x + box.size);
      });
      if (s.counts[b] === 0) assert.ok(img.every((v) => v === 0));
    }
    assert.ok(hist.every((h) => h > 70), String(hist));
    const again = sampleMultiMnist(new Rng(1), split, 300, spec);
    assert.deepEqual(again.images, s.images);
  }
});

Deno.test("boxes map to z_where; bad specs name the field", () => {
  const [s, x, y] = boxToWhere({ x: 0, y: 30, size: 20, label: 3 }, 50);
  assert.ok(Math.abs(s - 20 / 49) < 1e-12);
  assert.ok(Math.abs(x - (-1 + 2 * 9.5 / 49)) < 1e-12 && Math.abs(y - (-1 + 2 * 39.5 / 49)) < 1e-12);
  // …and back: whereToBox inverts it.
  const back = whereToBox([s, x, y], 50);
  for (const [k, v] of [["x", 0], ["y", 30], ["size", 20]] as const) {
    assert.ok(Math.abs(back[k] - v) < 1e-9, k);
  }
  assert.throws(() => validateSpec({ ...PAPER_SCENES, canvas: 3 }), /canvas must be/);
  assert.throws(() => validateSpec({ ...PAPER_SCENES, counts: [0, 9] }), /counts must be integers 0–5/);
  assert.throws(
    () => validateSpec({ ...REPRODUCTION_SCENES, size: { kind: "uniform", min: 20, max: 12 } }),
    /size.min/,
  );
  assert.throws(
    () => validateSpec({ ...REPRODUCTION_SCENES, canvas: 16, size: { kind: "uniform", min: 12, max: 18 } }),
    /do not fit/,
  );
  assert.throws(() => sampleMultiMnist(new Rng(0), split, -1), /n must be/);
});
