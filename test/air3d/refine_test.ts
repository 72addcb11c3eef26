import assert from "node:assert/strict";
import { applyCounts, calibrateLambda, chooseCounts, countCosts, LAMBDAS } from "../../lib/air3d/refine.ts";
import { eulerZYX, PRIMITIVE_TYPES, type Scene } from "../../lib/scenes/primitives.ts";
import { renderScene } from "../../lib/scenes/render.ts";
import type { SlotPrediction } from "../../lib/metrics/slots.ts";

const slot = (p: Scene[number] | null, presence: number): SlotPrediction => ({
  presence,
  type: p ? PRIMITIVE_TYPES.indexOf(p.type) : 0,
  position: p ? [...p.position] : [0, 0, 0],
  rotation: eulerZYX(...(p?.rotation ?? [0, 0, 0])),
  euler: p ? [...p.rotation] : [0, 0, 0],
});

Deno.test("re-rendering costs: the true objects explain the image exactly, in some depth order", () => {
  // Two overlapping primitives, the cube behind (apart in depth, so they do not interpenetrate).
  const scene: Scene = [
    { type: "sphere", position: [-0.1, 0, 1], rotation: [0, 0, 0] },
    { type: "cube", position: [0.15, 0.1, -1], rotation: [0.3, 0.2, 0.1] },
  ];
  const size = 32;
  const { image } = renderScene(scene, { size });
  // The model got both objects but put z at the mean, and added a doubtful third.
  const flat = scene.map((p) => ({
    ...p,
    position: [p.position[0], p.position[1], 0] as [number, number, number],
  }));
  const predictions = [[slot(flat[1], 0.7), slot(flat[0], 0.9), slot(null, 0.05)]];
  const [costs] = countCosts(image, predictions, { size });
  assert.equal(costs.length, 4);
  assert.ok(Math.abs(costs[0] - image.reduce((a, v) => a + v * v, 0)) < 1e-3);
  assert.ok(costs[1] > 1, `one object leaves error: ${costs[1]}`);
  assert.ok(costs[2] < 1e-9, `two objects in the right depth order explain it: ${costs[2]}`);
  assert.equal(costs[3], Infinity); // presence below MIN_PRESENCE: never kept
  assert.deepEqual(chooseCounts([costs], 4), [2]);
  assert.deepEqual(chooseCounts([costs], 1e9, 1), [1]); // a huge λ keeps the fewest allowed
  assert.deepEqual(chooseCounts([costs], 1e9), [0]);
  // Kept: the most present slots, presence 1; the rest 0.
  assert.deepEqual(applyCounts(predictions, [2])[0].map((p) => p.presence), [1, 1, 0]);
  assert.deepEqual(applyCounts(predictions, [1])[0].map((p) => p.presence), [0, 1, 0]);
  assert.throws(() => chooseCounts([costs], -1), /lambda must be ≥ 0/);
  assert.throws(() => countCosts(image, [[], []], { size }), /must hold 2 images/);
});

Deno.test("λ calibration: the λ that counts the validation scenes best, middle of ties", () => {
  // Scene A: a second object removes 10 of error (real); scene B: a third removes 3 (spurious).
  const costs = [[100, 20, 10, 9.5], [100, 30, 5, 2]];
  const counts = [2, 2];
  const { lambda, accuracy } = calibrateLambda(costs, counts, 1);
  assert.equal(accuracy, 1);
  // λ ∈ (3, 10) counts both right: the candidates 4, 6, 8 → the middle one.
  assert.equal(lambda, 6);
  assert.ok(LAMBDAS.includes(lambda));
  assert.throws(() => calibrateLambda(costs, [2]), /one number per scene \(2\)/);
});
