import assert from "node:assert/strict";
import { Rng } from "../../lib/core/random.ts";
import { sampleOrbitDataset } from "../../lib/air3d/orbit.ts";
import { RenderLikelihood } from "../../lib/air3d/likelihood.ts";
import { ORBIT_YAW_GRID, refineObjects, refineWithLight } from "../../lib/air3d/light_refine.ts";
import { cameraOf } from "../../lib/air3d/camera.ts";
import { sampleSlotDataset } from "../../lib/scenes/scenes3d.ts";
import { type FitObject, fromPredictions } from "../../lib/air3d/fit.ts";
import { axisRotation } from "../../lib/scenes/primitives.ts";
import { matMul3 } from "../../lib/metrics/slots.ts";
import { truthPredictions } from "../fixtures.ts";

Deno.test("the light read with the objects: from a camera angle 12° off and a cube turned 8°, both come back", () => {
  const size = 32, px = size * size;
  const d = sampleOrbitDataset(new Rng(11), 30, { size, maxPrimitives: 1 });
  const truth = truthPredictions(d.scenes);
  const lik = new RenderLikelihood({ size, sigma: 0.1, blurPx: 1 });
  let before = 0, after = 0, tried = 0;
  for (let i = 0; i < d.n && tried < 4; i++) {
    const [o] = fromPredictions(truth[i], undefined);
    if (o.type !== 1) continue; // cubes: the shading a turn can trade against the light
    tried++;
    lik.setImage(d.images.subarray(i * px, (i + 1) * px));
    const start: FitObject = { ...o, R: matMul3(axisRotation(1, (8 * Math.PI) / 180), o.R) };
    const yaw0 = d.yaw[i] + (12 * Math.PI) / 180;
    lik.setLight([-Math.sin(yaw0), 0, Math.cos(yaw0)]);
    const lp0 = lik.logLik([start]);
    const r = refineWithLight(lik, [start], yaw0);
    assert.ok(r.logLik >= lp0, "log p never falls");
    assert.ok(r.renders > 0);
    before += Math.abs(yaw0 - d.yaw[i]);
    after += Math.abs(r.yaw - d.yaw[i]);
  }
  assert.equal(tried, 4);
  assert.ok(after < 0.25 * before, `camera error ${after / tried} rad, from ${before / tried}`);
});

Deno.test("the light read over the whole orbit: from a start 35° off, beyond the ±15° search, the angle comes back", () => {
  const size = 32, px = size * size, deg = Math.PI / 180;
  assert.equal(ORBIT_YAW_GRID.length, 19);
  assert.ok(
    Math.abs(ORBIT_YAW_GRID[0] + 45 * deg) < 1e-12 && Math.abs(ORBIT_YAW_GRID[18] - 45 * deg) < 1e-12,
  );
  const d = sampleOrbitDataset(new Rng(12), 40, { size, maxPrimitives: 1 });
  const truth = truthPredictions(d.scenes);
  const lik = new RenderLikelihood({ size, sigma: 0.1, blurPx: 1 });
  let near = 0, whole = 0, tried = 0;
  for (let i = 0; i < d.n && tried < 3; i++) {
    const [o] = fromPredictions(truth[i], undefined);
    if (o.type !== 1 || Math.abs(d.yaw[i]) < 15 * deg) continue; // cubes, the camera well off centre
    tried++;
    lik.setImage(d.images.subarray(i * px, (i + 1) * px));
    const far = d.yaw[i] - Math.sign(d.yaw[i]) * 35 * deg; // 35° off, towards the other side
    near += Math.abs(refineWithLight(lik, [o], far).yaw - d.yaw[i]);
    whole += Math.abs(refineWithLight(lik, [o], 0, { grid: ORBIT_YAW_GRID }).yaw - d.yaw[i]);
  }
  assert.equal(tried, 3);
  assert.ok(whole / tried < 3 * deg, `whole orbit: camera error ${whole / tried / deg}°`);
  assert.ok(
    near > 3 * whole,
    `the ±15° search from 35° off: ${near / tried / deg}°, whole orbit ${whole / tried / deg}°`,
  );
});

Deno.test("the light refinement refuses a bad number of halvings by name", () => {
  const lik = new RenderLikelihood({ size: 16, sigma: 0.1, blurPx: 1 });
  lik.setImage(new Float32Array(256));
  assert.throws(
    () => refineWithLight(lik, [], 0, { halvings: -1 }),
    /halvings must be an integer ≥ 0, got -1/,
  );
});

Deno.test("the objects read again with the light held: a misread type comes back, a depth 0.2 off within a third of that (perspective)", () => {
  const size = 64, px = size * size, camera = cameraOf({ camera: "perspective" })!;
  const d = sampleSlotDataset(new Rng(5), 40, { size, maxPrimitives: 1, camera });
  const truth = truthPredictions(d.scenes);
  const lik = new RenderLikelihood({ size, sigma: 0.1, blurPx: 1, camera });
  let tried = 0;
  for (let i = 0; i < d.n && tried < 3; i++) {
    const [o] = fromPredictions(truth[i], camera);
    if (o.type !== 1) continue; // cubes, read as cylinders 0.2 too far and turned 6°
    tried++;
    lik.setImage(d.images.subarray(i * px, (i + 1) * px));
    const start: FitObject = {
      ...o,
      type: 2,
      z: o.z - 0.2,
      R: matMul3(axisRotation(2, (6 * Math.PI) / 180), o.R),
    };
    const lp0 = lik.logLik([start]);
    const r = refineObjects(lik, [start], 0);
    assert.ok(r.logLik > lp0, "log p rises");
    assert.equal(r.yaw, 0, "the light is held");
    assert.equal(r.objects[0].type, 1, "the cube is read as a cube again");
    const dz = Math.abs(r.objects[0].z - o.z);
    assert.ok(
      dz < 0.2 / 3,
      `depth ${r.objects[0].z} against ${o.z}: off by more than a third of the start's 0.2`,
    );
  }
  assert.equal(tried, 3);
});
