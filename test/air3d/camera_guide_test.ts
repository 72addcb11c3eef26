import assert from "node:assert/strict";
import { initTf, tf } from "../../lib/core/tf.ts";
import { Rng } from "../../lib/core/random.ts";
import { CAMERA_PRIOR_STD, cameraGradient, cameraKl, cameraNet } from "../../lib/air3d/camera_guide.ts";
import { cameraErrorDeg } from "../../lib/air3d/unsup_train.ts";
import { sampleOrbitDataset } from "../../lib/air3d/orbit.ts";
import { RenderLikelihood } from "../../lib/air3d/likelihood.ts";
import { eulerZYX, PRIMITIVE_TYPES } from "../../lib/scenes/primitives.ts";

await initTf();

Deno.test("the camera guide: one mean and spread per image; its KL is 0 at the prior and grows away from it", () => {
  const net = cameraNet(new Rng(0), { size: 32, hidden: 8 });
  const { mu, logStd } = net.forward(new Float32Array(3 * 32 * 32).fill(0.2), 3);
  assert.deepEqual(mu.shape, [3]);
  assert.deepEqual(logStd.shape, [3]);
  tf.dispose([mu, logStd]);
  assert.ok(Math.abs(cameraKl(0, Math.log(CAMERA_PRIOR_STD))) < 1e-12);
  assert.ok(cameraKl(0.3, Math.log(CAMERA_PRIOR_STD)) > 0);
  assert.ok(cameraKl(0, -4) > cameraKl(0, -2));
  // s is the std of U(−40°, 40°): 80° / √12.
  assert.ok(Math.abs(CAMERA_PRIOR_STD - (80 * Math.PI / 180) / Math.sqrt(12)) < 1e-12);
  assert.throws(
    () => cameraNet(new Rng(0), { size: 20, hidden: 8 }),
    /imageSize must be a multiple of 16, got 20/,
  );
});

Deno.test("cameraErrorDeg is the mean absolute angle error in degrees", () => {
  const rad = Math.PI / 180;
  assert.ok(
    Math.abs(cameraErrorDeg(Float32Array.of(10 * rad, -5 * rad), Float32Array.of(0, 5 * rad)) - 10) < 1e-4,
  );
  assert.throws(
    () => cameraErrorDeg(new Float32Array(2), new Float32Array(3)),
    /as many angles, got 2 and 3/,
  );
});

Deno.test("∂ log p / ∂z_cam points towards the camera's true angle when the objects are right", () => {
  const size = 32, px = size * size;
  const d = sampleOrbitDataset(new Rng(5), 30, { size, maxPrimitives: 3 });
  const lik = new RenderLikelihood({ size, sigma: 0.1, blurPx: 1 });
  let towards = 0, pairs = 0;
  for (let b = 0; b < d.n; b++) {
    lik.setImage(d.images.subarray(b * px, (b + 1) * px));
    const objects = d.scenes[b].map((o) => ({
      type: PRIMITIVE_TYPES.indexOf(o.type),
      u: o.position[0],
      v: o.position[1],
      z: o.position[2],
      R: eulerZYX(...o.rotation),
    }));
    for (const off of [-0.25, 0.25]) {
      const g = cameraGradient(lik, objects, d.yaw[b] + off);
      pairs++;
      if (Math.sign(g) === -Math.sign(off)) towards++;
    }
    // At the truth the rendering is exact: log p is at its peak and the derivative near 0
    const at = Math.abs(cameraGradient(lik, objects, d.yaw[b])),
      away = Math.abs(cameraGradient(lik, objects, d.yaw[b] + 0.25));
    // (not exactly 0: the shading's max(0, n·l) has kinks, and ε is finite)
    assert.ok(at < 0.05 * away, `|g| ${at} at the truth, ${away} a quarter radian away`);
  }
  assert.equal(towards, pairs, `${towards} of ${pairs} derivatives point towards the truth`);
});
