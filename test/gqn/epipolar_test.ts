import assert from "node:assert/strict";
import { Rng } from "../../lib/core/random.ts";
import {
  depthFromFloorContact,
  EPIPOLAR_FEATURES,
  epipolarRead,
  SURFACE_RANGE,
} from "../../lib/gqn/epipolar.ts";
import { FLOOR_ID, type QueryBatch, sampleQueryBatch, SKY_ID, viewGeometry } from "../../lib/scenes/views.ts";

const S = 16, D = 6, F = EPIPOLAR_FEATURES;

/** A batch whose M context views are all taken from the query camera itself. */
function selfViewed(m: number): QueryBatch {
  const batch = sampleQueryBatch(new Rng(2), { batch: 3, size: S, m });
  const px = S * S * 3;
  for (let b = 0; b < batch.b; b++) {
    const cams = batch.cameras[b];
    for (let k = 0; k < m; k++) {
      cams[k] = cams[m];
      batch.context.set(batch.query.subarray(b * px, (b + 1) * px), (b * m + k) * px);
    }
  }
  return batch;
}

Deno.test("a context view from the query's own camera: every depth on a ray reads the query pixel itself", () => {
  const batch = selfViewed(2), read = epipolarRead(batch, D);
  assert.equal(read.length, 3 * S * S * D * F);
  for (let b = 0; b < 3; b++) {
    for (let p = 0; p < S * S; p++) {
      for (let d = 0; d < D; d++) {
        const at = ((b * S * S + p) * D + d) * F;
        for (let ch = 0; ch < 3; ch++) {
          const want = batch.query[(b * S * S + p) * 3 + ch];
          assert.ok(Math.abs(read[at + ch] - want) < 1e-5, `scene ${b} pixel ${p} depth ${d}`);
        }
        assert.ok(read[at + 3] < 1e-9, "two identical views agree"); // disagreement
        assert.equal(read[at + 4], 1); // both views hold the point in frame
      }
    }
  }
});

Deno.test("the last depth is the floor: where a context view sees the same floor, it reads the floor's colour", () => {
  const batch = sampleQueryBatch(new Rng(7), { batch: 12, size: S, m: 1 });
  const read = epipolarRead(batch, D);
  let checked = 0, onDisc = 0, floorPixels = 0;
  for (let b = 0; b < batch.b; b++) {
    const [ctx, query] = batch.cameras[b];
    const qg = viewGeometry(batch.scenes[b], query, S), cg = viewGeometry(batch.scenes[b], ctx, S);
    const floorColour = (() => { // the floor is one colour: any context floor pixel shows it
      const p = cg.ids.indexOf(FLOOR_ID);
      return p < 0
        ? null
        : Array.from(batch.context.subarray(b * S * S * 3 + p * 3, b * S * S * 3 + p * 3 + 3));
    })();
    // Context pixels whose 3×3 neighbourhood is all floor: a bilinear read there is exactly the floor colour.
    const allFloor = (i: number, j: number) => {
      for (let di = -1; di <= 1; di++) {
        for (let dj = -1; dj <= 1; dj++) {
          const y = i + di, x = j + dj;
          if (y < 0 || x < 0 || y >= S || x >= S || cg.ids[y * S + x] !== FLOOR_ID) return false;
        }
      }
      return true;
    };
    for (let p = 0; p < S * S; p++) {
      if (qg.ids[p] !== FLOOR_ID) continue;
      floorPixels++;
      const at = ((b * S * S + p) * D + D - 1) * F;
      if (read[at + 5] === 1) onDisc++;
      if (!floorColour) continue;
      // Where the query's floor point falls in the context image: find the context pixel nearest it.
      let best = -1, bestD = Infinity;
      for (let q = 0; q < S * S; q++) {
        if (cg.ids[q] !== FLOOR_ID) continue;
        const dd = (cg.points[q * 3] - qg.points[p * 3]) ** 2 +
          (cg.points[q * 3 + 2] - qg.points[p * 3 + 2]) ** 2;
        if (dd < bestD) [best, bestD] = [q, dd];
      }
      if (best < 0 || bestD > 0.01 || !allFloor(Math.floor(best / S), best % S)) continue;
      for (let ch = 0; ch < 3; ch++) assert.ok(Math.abs(read[at + ch] - floorColour[ch]) < 1e-5);
      checked++;
    }
  }
  assert.ok(checked > 50, `only ${checked} floor pixels checked`);
  assert.equal(onDisc, floorPixels, "every floor pixel's last sample lies on the floor disc");
});

Deno.test("one context view: no disagreement; the in-frame share is 0 or 1", () => {
  const batch = sampleQueryBatch(new Rng(3), { batch: 2, size: S, m: 1 });
  const read = epipolarRead(batch, D);
  for (let at = 0; at < read.length; at += F) {
    assert.equal(read[at + 3], 0);
    assert.ok(read[at + 4] === 0 || read[at + 4] === 1);
  }
});

Deno.test("the foot read: the same six numbers per depth, then the colour at the floor below P_d", () => {
  const batch = sampleQueryBatch(new Rng(4), { batch: 2, size: S, m: 2 });
  const plain = epipolarRead(batch, D), withFoot = epipolarRead(batch, D, undefined, true), G = F + 3;
  assert.equal(withFoot.length, 2 * S * S * D * G);
  for (let i = 0; i < 2 * S * S * D; i++) {
    for (let k = 0; k < F; k++) assert.equal(withFoot[i * G + k], plain[i * F + k]);
    // The last depth lies on the floor: it is its own foot, so the foot shows its colour.
    if (i % D === D - 1) {
      for (let ch = 0; ch < 3; ch++) assert.equal(withFoot[i * G + F + ch], plain[i * F + ch]);
    }
  }
});

Deno.test("depth from the image alone: exact on the floor, +∞ on the sky, an object's foot behind its surface", () => {
  const batch = sampleQueryBatch(new Rng(5), { batch: 20, size: 32, m: 1 });
  const err: number[] = [];
  let objects = 0;
  for (let b = 0; b < batch.b; b++) {
    const truth = viewGeometry(batch.scenes[b], batch.cameras[b][0], 32),
      guess = depthFromFloorContact(batch, b, 0);
    for (let p = 0; p < 32 * 32; p++) {
      if (truth.ids[p] === SKY_ID) assert.equal(guess[p], Infinity, `scene ${b} pixel ${p}: sky`);
      else if (truth.ids[p] === FLOOR_ID) {
        assert.ok(Math.abs(guess[p] - truth.depth[p]) < 1e-4, `floor ${b}/${p}`);
      } else {
        objects++;
        if (!Number.isNaN(guess[p])) err.push(guess[p] - truth.depth[p]);
      }
    }
  }
  // Most object pixels get a foot; it lies at or a little behind the pixel's own surface (≤ a cube's depth).
  assert.ok(err.length > 0.8 * objects, `${err.length} of ${objects} object pixels told`);
  err.sort((a, b) => a - b);
  assert.ok(err[Math.floor(0.05 * err.length)] > -0.1 && err[Math.floor(0.95 * err.length)] < 0.7, `${err}`);
});

Deno.test("the surface cue: on a floor point the view sees δ = 0; above the floor, free space, δ > 0", () => {
  const batch = selfViewed(1), withCue = epipolarRead(batch, D, undefined, false, true), G = F + 3;
  assert.equal(withCue.length, 3 * S * S * D * G);
  let floors = 0;
  for (let b = 0; b < 3; b++) {
    const truth = viewGeometry(batch.scenes[b], batch.cameras[b][1], S);
    for (let p = 0; p < S * S; p++) {
      if (truth.ids[p] !== FLOOR_ID) continue;
      floors++;
      for (let d = 0; d < D; d++) {
        const at = ((b * S * S + p) * D + d) * G + F; // max δ, min δ, share of views that told
        assert.equal(withCue[at + 2], 1);
        // The query camera is the view: P_d lies on the pixel's own ray, which meets the floor at the last depth.
        if (d === D - 1) assert.ok(Math.abs(withCue[at]) < 1e-4, `floor: δ ${withCue[at]}`);
        else assert.ok(withCue[at] > 0 && withCue[at] <= SURFACE_RANGE, `free: δ ${withCue[at]}`);
      }
    }
  }
  assert.ok(floors > 50);
});

Deno.test("bad depth counts are refused by name", () => {
  const batch = sampleQueryBatch(new Rng(3), { batch: 1, size: S, m: 1 });
  assert.throws(() => epipolarRead(batch, 1), /depths must be an integer in 2\.\.64, got 1/);
  assert.throws(() => epipolarRead(batch, 2.5), /depths/);
});
