import assert from "node:assert/strict";
import { Rng } from "../../lib/core/random.ts";
import {
  ORBIT_YAW_DEG,
  orbitCamera,
  sampleOrbitDataset,
  viewLight,
  viewMatrix,
} from "../../lib/air3d/orbit.ts";
import { DEFAULT_CAMERA, samplePrimitiveScenes } from "../../lib/scenes/primitives.ts";
import { Rasteriser } from "../../lib/scenes/render.ts";
import { reconstructionMse } from "../../lib/air3d/reconstruction.ts";
import { truthPredictions } from "../fixtures.ts";

for (const projection of ["orthographic", "perspective"] as const) {
  Deno.test(`the orbit dataset is what the turned camera photographs, lit by the world's light (${projection})`, () => {
    const size = 32, px = size * size, camera = { ...DEFAULT_CAMERA, projection };
    const d = sampleOrbitDataset(new Rng(3), 40, { size, maxPrimitives: 3, camera });
    // The same scenes as the dataset drew, rendered from the camera on its orbit with the light left at +z.
    const world = samplePrimitiveScenes(new Rng(3), 40, { maxPrimitives: 3 });
    const out = new Float32Array(px);
    let worst = 0, turned = 0;
    for (let b = 0; b < d.n; b++) {
      new Rasteriser({ size, camera: orbitCamera(d.yaw[b], camera) }).draw(world[b], out);
      for (let p = 0; p < px; p++) worst = Math.max(worst, Math.abs(out[p] - d.images[b * px + p]));
      turned = Math.max(turned, Math.abs(d.yaw[b]));
    }
    assert.ok(worst < 1e-4, `largest pixel difference ${worst}`);
    assert.ok(turned <= (ORBIT_YAW_DEG * Math.PI) / 180 && turned > 0.5, `largest |θ| ${turned}`);
    // The view's targets render the images too (the light turned with the camera).
    const truth = truthPredictions(d.scenes);
    assert.ok(reconstructionMse(d.images, truth, size, camera, d.yaw) < 1e-10);
    // In the fixed camera's light the same targets do not: the camera angle shows in the shading.
    assert.ok(reconstructionMse(d.images, truth, size, camera) > 1e-4);
    // A stream: the next call from the same generator draws other scenes and angles.
    const rng = new Rng(4), first = sampleOrbitDataset(rng, 4, { size, maxPrimitives: 3, camera });
    const second = sampleOrbitDataset(rng, 4, { size, maxPrimitives: 3, camera });
    assert.notDeepEqual(Array.from(first.yaw), Array.from(second.yaw));
    assert.notDeepEqual(first.images, second.images);
  });
}

Deno.test("the orbit's geometry: M(0) = I, l(0) = +z, the light turns against the camera", () => {
  assert.deepEqual(Array.from(viewMatrix(DEFAULT_CAMERA)).map((v) => v + 0), [1, 0, 0, 0, 1, 0, 0, 0, 1]);
  assert.deepEqual(viewLight(0), [0, 0, 1]);
  // Camera turned by θ: M·(0, 0, 1) is the light in its view.
  const M = viewMatrix(orbitCamera(0.5)), l = viewLight(0.5);
  [0, 1, 2].forEach((k) => assert.ok(Math.abs(M[k * 3 + 2] - l[k]) < 1e-12));
  assert.throws(
    () => sampleOrbitDataset(new Rng(0), 2, { size: 16, maxPrimitives: 1, maxYawDeg: 90 }),
    /maxYawDeg must be in \[0, 90\), got 90/,
  );
  assert.throws(
    () => new Rasteriser({ size: 8 }).setLight([0, 0, 0]),
    /light must be a finite non-zero 3-vector/,
  );
});
