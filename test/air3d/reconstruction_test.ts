import assert from "node:assert/strict";
import { reconstructionMse } from "../../lib/air3d/reconstruction.ts";
import { cameraOf } from "../../lib/air3d/camera.ts";
import { sampleSlotDataset } from "../../lib/scenes/scenes3d.ts";
import { truthPredictions } from "../fixtures.ts";
import { Rng } from "../../lib/core/random.ts";

for (const projection of ["orthographic", "perspective"] as const) {
  Deno.test(`reconstructionMse: the true scene renders the image exactly; a missing object costs its pixels (${projection})`, () => {
    const camera = cameraOf({ camera: projection }), size = 32, px = size * size;
    const d = sampleSlotDataset(new Rng(3), 6, { size, maxPrimitives: 3, camera });
    const truth = truthPredictions(d.scenes);
    assert.equal(reconstructionMse(d.images, truth, size, camera), 0);
    // Slots below presence ½ are not drawn: reading nothing costs the whole image's energy.
    const absent = truth.map((slots) => slots.map((s) => ({ ...s, presence: 0.4 })));
    const energy = d.images.reduce((a, v) => a + v * v, 0) / d.images.length;
    assert.ok(energy > 0);
    assert.ok(Math.abs(reconstructionMse(d.images, absent, size, camera) - energy) < 1e-9);
    // Dropping one object of a scene with two or more raises the error, by less than reading nothing.
    const i = d.scenes.findIndex((s) => s.length >= 2);
    const dropped = truth.map((slots, b) => (b === i ? slots.slice(1) : slots));
    const mse = reconstructionMse(d.images, dropped, size, camera);
    assert.ok(mse > 0 && mse < energy, `${mse}`);
    assert.throws(
      () => reconstructionMse(d.images.subarray(0, px), truth, size, camera),
      /images must hold 6 images of 32×32 values, got 1024 values/,
    );
  });
}
