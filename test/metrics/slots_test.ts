import assert from "node:assert/strict";
import {
  assign,
  CUBE_SYMMETRIES,
  det3,
  eulerFromMatrix,
  geodesicAngle,
  matMul3,
  median,
  permutations,
  rotationError,
  scoreScenes,
  type SlotPrediction,
} from "../../lib/metrics/slots.ts";
import { eulerZYX, type Scene } from "../../lib/scenes/primitives.ts";
import { Rng } from "../../lib/core/random.ts";

const deg = (r: number) => r * 180 / Math.PI;

Deno.test("cube symmetry group: 24 distinct proper rotations, closed under composition", () => {
  assert.equal(CUBE_SYMMETRIES.length, 24);
  const key = (m: ArrayLike<number>) => Array.from(m, (v) => Math.round(v)).join(",");
  const keys = new Set(CUBE_SYMMETRIES.map(key));
  assert.equal(keys.size, 24);
  for (const a of CUBE_SYMMETRIES) {
    assert.equal(det3(a), 1);
    for (const b of CUBE_SYMMETRIES) assert.ok(keys.has(key(matMul3(a, b))));
  }
});

Deno.test("geodesic angle and Euler round trip", () => {
  const rng = new Rng(3);
  for (let i = 0; i < 50; i++) {
    const e: [number, number, number] = [rng.uniform(-3, 3), rng.uniform(-1.5, 1.5), rng.uniform(-3, 3)];
    const r = eulerZYX(...e);
    assert.ok(geodesicAngle(r, eulerZYX(...eulerFromMatrix(r))) < 1e-6);
  }
  // A turn of θ about z is θ away from the identity.
  assert.ok(Math.abs(geodesicAngle(eulerZYX(0, 0, 0), eulerZYX(0.7, 0, 0)) - 0.7) < 1e-9);
});

Deno.test("rotation error is zero on symmetries, the true angle off them", () => {
  const rng = new Rng(4);
  for (let i = 0; i < 20; i++) {
    const r = eulerZYX(rng.uniform(0, Math.PI), rng.uniform(0, Math.PI), rng.uniform(0, Math.PI));
    for (const s of CUBE_SYMMETRIES) assert.ok(rotationError("cube", matMul3(r, s), r) < 1e-6);
    // Cylinder: any turn about its own (local y) axis, and the end-over-end flip.
    assert.ok(rotationError("cylinder", matMul3(r, eulerZYX(0, rng.uniform(0, 6), 0)), r) < 1e-6);
    assert.ok(rotationError("cylinder", matMul3(r, eulerZYX(Math.PI, 0, 0)), r) < 1e-6);
  }
  // 10° about x: a cube is 10° off; a cylinder tilts its axis by 10°.
  const i3 = eulerZYX(0, 0, 0), tilt = eulerZYX(0, 0, 10 * Math.PI / 180);
  assert.ok(Math.abs(deg(rotationError("cube", tilt, i3)) - 10) < 1e-6);
  assert.ok(Math.abs(deg(rotationError("cylinder", tilt, i3)) - 10) < 1e-6);
  // 45° about z: the largest a cube can be off about one face axis; a cylinder (axis y) 45° too.
  assert.ok(Math.abs(deg(rotationError("cube", eulerZYX(Math.PI / 4, 0, 0), i3)) - 45) < 1e-6);
  assert.ok(Number.isNaN(rotationError("sphere", tilt, i3)));
  assert.throws(() => rotationError("cone" as "cube", tilt, i3), /unknown type/);
});

Deno.test("assignment finds the cheapest matching; permutations are complete", () => {
  assert.equal(permutations(3).length, 6);
  assert.equal(new Set(permutations(4).map((p) => p.join())).size, 24);
  assert.deepEqual(assign([[5, 1, 9], [1, 5, 9]]), [1, 0]);
  assert.deepEqual(assign([[3, 2, 1], [1, 2, 3], [2, 1, 3]]), [2, 0, 1]);
  assert.throws(() => assign([[1], [2]]), /rows/);
  assert.equal(median([3, 1, NaN, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
});

function predictionFor(scene: Scene, slots: number): SlotPrediction[] {
  return Array.from({ length: slots }, (_, k) => {
    const p = scene[k];
    if (!p) {
      return { presence: 0.1, type: 0, position: [0, 0, 0], rotation: eulerZYX(0, 0, 0), euler: [0, 0, 0] };
    }
    return {
      presence: 0.9,
      type: ["sphere", "cube", "cylinder"].indexOf(p.type),
      position: [...p.position],
      rotation: eulerZYX(...p.rotation),
      euler: [...p.rotation],
    };
  });
}

Deno.test("scores: perfect predictions score perfectly; a swap costs slot matching, not Hungarian", () => {
  const scenes: Scene[] = [
    [
      { type: "cube", position: [-0.5, 0, 0], rotation: [0.1, 0.2, 0.3] },
      { type: "sphere", position: [0.5, 0.2, 0.1], rotation: [0, 0, 0] },
    ],
    [{ type: "cylinder", position: [0, 0.3, 0], rotation: [1, 1, 1] }],
  ];
  const perfect = scenes.map((s) => predictionFor(s, 3));
  for (const m of ["slot", "hungarian"] as const) {
    const r = scoreScenes(scenes, perfect, m);
    assert.equal(r.count_acc, 1);
    assert.equal(r.presence_acc, 1);
    assert.equal(r.type_acc, 1);
    assert.deepEqual(r.pos_mae, [0, 0, 0]);
    assert.ok(r.rot_err_median_deg.cube < 1e-4 && r.rot_err_median_deg.cylinder < 1e-4);
    assert.deepEqual(r.confusion, [[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
  }
  const swapped = perfect.map((p) => p.slice());
  [swapped[0][0], swapped[0][1]] = [swapped[0][1], swapped[0][0]];
  assert.equal(scoreScenes(scenes, swapped, "slot").type_acc, 1 / 3);
  assert.equal(scoreScenes(scenes, swapped, "hungarian").type_acc, 1);
  // One missed primitive: count wrong for that scene.
  const missed = perfect.map((p) => p.map((s) => ({ ...s })));
  missed[1][0].presence = 0.2;
  assert.equal(scoreScenes(scenes, missed, "slot").count_acc, 0.5);
  // A missed primitive whose slot read no type (−1): a wrong type, and out of the confusion matrix.
  missed[1][0].type = -1;
  const unread = scoreScenes(scenes, missed, "hungarian");
  assert.equal(unread.type_acc, 2 / 3);
  assert.deepEqual(unread.confusion, [[1, 0, 0], [0, 1, 0], [0, 0, 0]]);
  assert.throws(() => scoreScenes(scenes, perfect.slice(0, 1), "slot"), /2 scenes but 1/);
  assert.throws(() => scoreScenes(scenes, perfect, "x" as "slot"), /matching must be/);
});
