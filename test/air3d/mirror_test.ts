import assert from "node:assert/strict";
import { mirrorImages, mirrorObject } from "../../lib/air3d/mirror.ts";
import { type FitObject, sceneOf } from "../../lib/air3d/fit.ts";
import { DEFAULT_CAMERA, eulerZYX } from "../../lib/scenes/primitives.ts";
import { Rasteriser } from "../../lib/scenes/render.ts";

const size = 32;
const objects: FitObject[] = [
  { type: 1, u: 0.4, v: -0.2, z: 0.1, R: eulerZYX(0.5, 0.3, 0.2) },
  { type: 2, u: -0.5, v: 0.3, z: -0.1, R: eulerZYX(-0.2, 0.8, 0.4) },
  { type: 0, u: 0.1, v: 0.5, z: 0.2, R: eulerZYX(0, 0, 0) },
];

for (const camera of [undefined, { ...DEFAULT_CAMERA, projection: "perspective" as const }]) {
  Deno.test(`the mirrored scene renders as the mirrored image (${camera ? "perspective" : "orthographic"})`, () => {
    const raster = new Rasteriser({ size, ...(camera ? { camera } : {}) });
    const render = (os: FitObject[]) => {
      const out = new Float32Array(size * size);
      raster.draw(sceneOf(os, camera), out, os.map((o) => o.R));
      return out;
    };
    const image = render(objects), mirrored = render(objects.map(mirrorObject));
    const flipped = mirrorImages(image, 1, size);
    let lit = 0, off = 0;
    for (let p = 0; p < size * size; p++) {
      if (image[p] > 0) lit++;
      if (Math.abs(flipped[p] - mirrored[p]) > 1e-4) off++;
    }
    assert.ok(lit > 100, `the scene shows (${lit} lit pixels)`);
    // Pixel centres are symmetric about u = 0, so only a silhouette's rounding can differ.
    assert.ok(off <= 2, `${off} pixels differ`);
  });
}

Deno.test("mirrorObject is its own inverse and keeps R a rotation; mirrorImages flips each row and checks its input", () => {
  const o = objects[0], back = mirrorObject(mirrorObject(o));
  assert.equal(back.u, o.u);
  back.R.forEach((r, k) => assert.ok(Math.abs(r - o.R[k]) < 1e-15));
  const R = mirrorObject(o).R;
  const det = R[0] * (R[4] * R[8] - R[5] * R[7]) - R[1] * (R[3] * R[8] - R[5] * R[6]) +
    R[2] * (R[3] * R[7] - R[4] * R[6]);
  assert.ok(Math.abs(det - 1) < 1e-12, `det ${det}`);
  assert.deepEqual([...mirrorImages(Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), 2, 2)], [
    2,
    1,
    4,
    3,
    6,
    5,
    8,
    7,
  ]);
  assert.throws(
    () => mirrorImages(new Float32Array(7), 2, 2),
    /images must hold 2 images of 2×2, got 7 values/,
  );
});
