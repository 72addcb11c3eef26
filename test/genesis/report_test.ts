import assert from "node:assert/strict";
import {
  decompositionItems,
  nearestLabel,
  simulateGeco,
  softMasks,
  syntheticPredictions,
} from "../../lib/genesis/report.ts";
import { argmaxMasks, batchMaskScores } from "../../lib/metrics/segmentation.ts";
import { sampleSprites } from "../../lib/scenes/sprites.ts";
import { Rng } from "../../lib/core/random.ts";

Deno.test("softMasks: 0.9 on the assigned mask, the rest shared; argmax gives the assignment back", () => {
  const m = softMasks(1, 3, 4, (_b, p) => p % 3);
  for (let p = 0; p < 4; p++) {
    const at = [0, 1, 2].map((k) => m[k * 4 + p]);
    assert.ok(Math.abs(at.reduce((a, b) => a + b) - 1) < 1e-6);
    assert.equal(Math.max(...at), at[p % 3]);
  }
  assert.deepEqual([...argmaxMasks(m, 3)], [0, 1, 2, 0]);
  assert.throws(() => softMasks(1, 3, 1, () => 3), /mask 3 of pixel 0 is not in 0..2/);
});

Deno.test("nearestLabel finds the nearest object ring by ring, and 0 beyond r", () => {
  const S = 7, labels = new Int32Array(S * S);
  labels[3 * S + 6] = 2; // (6, 3)
  labels[0] = 1; // (0, 0)
  assert.equal(nearestLabel(labels, S, 0, 3 * S + 4, 2), 2); // two columns left of the object
  assert.equal(nearestLabel(labels, S, 0, 3 * S + 3, 2), 0); // three away: out of reach
  assert.equal(nearestLabel(labels, S, 0, 1 * S + 1, 1), 1);
});

Deno.test("synthetic predictions: exact scores 1 everywhere; spill and merge keep fg-ARI at 1 but lose covering", () => {
  const set = sampleSprites(new Rng(3), 6, { size: 24, maxSprites: 3 });
  const scores = syntheticPredictions(set, 5, 3).map(([name, masks]) => ({
    name,
    ...batchMaskScores(set.masks, masks, { n: set.n, k: 5 }),
  }));
  assert.equal(scores[0].name, "exact");
  for (const key of ["ari", "fgAri", "sc", "msc"] as const) assert.ok(Math.abs(scores[0][key] - 1) < 1e-9);
  for (const s of scores.slice(1)) {
    assert.ok(Math.abs(s.fgAri - 1) < 1e-9, `${s.name}: fg-ARI ${s.fgAri}`);
    assert.ok(s.sc < 1, `${s.name}: SC ${s.sc}`);
  }
});

Deno.test("simulateGeco: β falls while err > goal, then rises once the goal is met; first and last steps kept", () => {
  const sim = simulateGeco(100, 4000, new Rng(0));
  assert.equal(sim.steps[0], 0);
  assert.equal(sim.steps.at(-1), 3999);
  const low = Math.min(...sim.betas), at = sim.betas.indexOf(low);
  assert.ok(low < sim.betas[0] && sim.betas.at(-1)! > low, "β falls, then rises");
  assert.ok(sim.emas[at] < 1.05, "it turns near the goal");
  assert.deepEqual(simulateGeco(100, 4000, new Rng(0)), sim, "same seed, same run");
});

Deno.test("decompositionItems: input, reconstruction, argmax, then π_k·μ_k per slot", () => {
  const K = 2, G = 2, gp = G * G;
  const images = new Float32Array(gp * 3).fill(0.5);
  const masks = Float32Array.of(1, 1, 0, 0, 0, 0, 1, 1); // slot 1 holds the top row, slot 2 the bottom
  const components = new Float32Array(K * gp * 3).fill(0.8);
  const items = decompositionItems(images, { masks, components, recon: images }, 1, K, G);
  assert.deepEqual(items.map((i) => i.caption), ["input", "Σ π_k μ_k", "argmax π", "π_1·μ_1", "π_2·μ_2"]);
  assert.deepEqual([...items[3].data].map((v) => +v.toFixed(2)), [
    0.8,
    0.8,
    0.8,
    0.8,
    0.8,
    0.8,
    0,
    0,
    0,
    0,
    0,
    0,
  ]);
});
