import assert from "node:assert/strict";
import { Rng } from "../../lib/core/random.ts";
import { sampleOrbitDataset } from "../../lib/air3d/orbit.ts";
import { RenderLikelihood } from "../../lib/air3d/likelihood.ts";
import { refineWithLight } from "../../lib/air3d/light_refine.ts";
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

Deno.test("the light refinement refuses a bad number of halvings by name", () => {
  const lik = new RenderLikelihood({ size: 16, sigma: 0.1, blurPx: 1 });
  lik.setImage(new Float32Array(256));
  assert.throws(
    () => refineWithLight(lik, [], 0, { halvings: -1 }),
    /halvings must be an integer ≥ 0, got -1/,
  );
});
