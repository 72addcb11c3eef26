import assert from "node:assert/strict";
import { blurImage, blurSupport, gaussianKernel, RenderLikelihood } from "../../lib/air3d/likelihood.ts";
import { Rng } from "../../lib/core/random.ts";
import { DEFAULT_CAMERA, eulerZYX, expRotation } from "../../lib/scenes/primitives.ts";
import { renderScene } from "../../lib/scenes/render.ts";
import { matMul3, rotationError } from "../../lib/metrics/slots.ts";

const size = 32;

Deno.test("gaussianKernel sums to 1 and is symmetric; blurImage keeps an image's mass away from the edges", () => {
  const k = gaussianKernel(1.5);
  assert.equal(k.length, 2 * Math.ceil(4.5) + 1);
  assert.ok(Math.abs(k.reduce((a, v) => a + v, 0) - 1) < 1e-6);
  for (let i = 0; i < k.length; i++) assert.ok(Math.abs(k[i] - k[k.length - 1 - i]) < 1e-7);
  const img = new Float32Array(size * size);
  img[16 * size + 16] = 1;
  const out = blurImage(img, size, k, new Float32Array(size * size), new Float32Array(size * size));
  assert.ok(Math.abs(out.reduce((a, v) => a + v, 0) - 1) < 1e-5);
  assert.ok(Math.abs(out[16 * size + 15] - out[16 * size + 17]) < 1e-7 && out[16 * size + 16] < 1);
  // Zero outside: a pixel on the border loses the mass that falls off.
  img.fill(0)[0] = 1;
  const edge = blurImage(img, size, k, new Float32Array(size * size), new Float32Array(size * size));
  assert.ok(edge.reduce((a, v) => a + v, 0) < 0.5);
  assert.deepEqual(Array.from(gaussianKernel(0)), [1]);
  assert.throws(() => gaussianKernel(-1), /blurPx must be a finite number ≥ 0, got -1/);
});

/** The separable blur written out: rows then columns, Σ_t k[t]·src[p + t − r] over the pixels inside the image. */
function referenceBlur(src: Float32Array, n: number, k: Float32Array): Float32Array {
  const r = (k.length - 1) / 2, rows = new Float32Array(n * n), out = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let t = -r; t <= r; t++) if (j + t >= 0 && j + t < n) acc += k[t + r] * src[i * n + j + t];
      rows[i * n + j] = acc;
    }
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let t = -r; t <= r; t++) if (i + t >= 0 && i + t < n) acc += k[t + r] * rows[(i + t) * n + j];
      out[i * n + j] = acc;
    }
  }
  return out;
}

Deno.test("blurImage and blurSupport equal the blur written out, bit for bit on images that are 0 outside a box, edges and empty included", () => {
  const rng = new Rng(3), n = size * size;
  const boxes = [[0, 0, 0, 0], [5, 9, 12, 20], [0, 31, 0, 31], [28, 31, 2, 6], [10, 10, 30, 31], [
    -1,
    -1,
    -1,
    -1,
  ]];
  for (const blurPx of [1, 2.5]) {
    const k = gaussianKernel(blurPx);
    for (const [i0, i1, j0, j1] of boxes) {
      const img = new Float32Array(n);
      for (let i = i0; i >= 0 && i <= i1; i++) {
        for (let j = j0; j <= j1; j++) img[i * size + j] = rng.uniform() < 0.7 ? rng.uniform() : 0;
      }
      const full = referenceBlur(img, size, k);
      assert.deepEqual(blurImage(img, size, k, new Float32Array(n), new Float32Array(n)), full);
      // Stale values in the buffers must not leak into the result.
      const out = new Float32Array(n).fill(7), scratch = new Float32Array(n).fill(-3);
      assert.deepEqual(
        blurSupport(img, size, k, out, scratch),
        full,
        `box ${[i0, i1, j0, j1]}, blur ${blurPx}`,
      );
    }
  }
});

Deno.test("RenderLikelihood: the truth scores highest, and the finite-difference gradient points at it", () => {
  const R = eulerZYX(0.3, 0.5, 0.2);
  const x =
    renderScene([{ type: "cube", position: [0.2, 0.1, 0], rotation: [0.3, 0.5, 0.2] }], { size }).image;
  const lik = new RenderLikelihood({ size, sigma: 0.1, blurPx: 1 });
  lik.setImage(x);
  const truth = { type: 1, u: 0.2, v: 0.1, z: 0, R };
  const best = lik.logLik([truth]);
  for (const du of [-0.15, 0.15]) {
    const off = { ...truth, u: 0.2 + du };
    assert.ok(lik.logLik([off]) < best);
    const g = lik.gradient([off], 0);
    assert.equal(Math.sign(g[0]), -Math.sign(du), `∂/∂u at Δu = ${du}: ${g[0]}`);
    assert.equal(g[2], 0); // orthographic: depth does not show
  }
  // log p's normaliser: SSE 0 gives −P·log(σ√(2π)).
  lik.setImage(new Float32Array(size * size));
  assert.ok(Math.abs(lik.logLik([]) + size * size * Math.log(0.1 * Math.sqrt(2 * Math.PI))) < 1e-6);
  assert.throws(() => new RenderLikelihood({ size, sigma: 0, blurPx: 1 }), /sigma must be > 0, got 0/);
  assert.throws(() => lik.setImage(new Float32Array(10)), /image must hold 32×32 values, got 10/);
});

Deno.test("ascent on the finite-difference turn gradient recovers a cube's rotation (modulo symmetry)", () => {
  const Rt = eulerZYX(0.3, 0.5, 0.2);
  const x =
    renderScene([{ type: "cube", position: [0, 0, 0], rotation: [0.3, 0.5, 0.2] }], { size: 48 }).image;
  const lik = new RenderLikelihood({ size: 48, sigma: 0.1, blurPx: 1 });
  lik.setImage(x);
  let R = matMul3(expRotation([0.3, -0.2, 0.15]), Rt);
  const before = rotationError("cube", R, Rt);
  for (let it = 0; it < 40; it++) {
    const g = lik.gradient([{ type: 1, u: 0, v: 0, z: 0, R }], 0, "turns");
    const n = Math.hypot(g[3], g[4], g[5]) || 1;
    R = matMul3(expRotation([g[3], g[4], g[5]].map((v) => (0.03 * v) / n)), R);
  }
  const after = rotationError("cube", R, Rt);
  assert.ok(after < 0.1 * before && after < 0.05, `error ${before} → ${after} rad`);
  assert.equal(lik.renders, 40 * 6); // 2 renders per turn axis
});

Deno.test("RenderLikelihood under the perspective camera: depth has a gradient, towards the true z", () => {
  const camera = { ...DEFAULT_CAMERA, projection: "perspective" as const };
  const x =
    renderScene([{ type: "sphere", position: [0, 0, 0.2], rotation: [0, 0, 0] }], { size, camera }).image;
  const lik = new RenderLikelihood({ size, sigma: 0.1, blurPx: 1, camera });
  lik.setImage(x);
  const g = lik.gradient([{ type: 0, u: 0, v: 0, z: -0.1, R: eulerZYX(0, 0, 0) }], 0, "centre");
  assert.ok(g[2] > 0, `∂/∂z = ${g[2]}`);
  assert.deepEqual([g[3], g[4], g[5]], [0, 0, 0]);
});

Deno.test("logLikFromBase equals logLik for scenes one object away from the base, under both cameras", () => {
  const scene = [
    {
      type: "cube" as const,
      position: [-0.3, 0.2, 0] as [number, number, number],
      rotation: [0.3, 0.5, 0.2] as [number, number, number],
    },
    {
      type: "cylinder" as const,
      position: [0.35, -0.1, 0.1] as [number, number, number],
      rotation: [0.1, 0.9, 0] as [number, number, number],
    },
  ];
  for (const camera of [undefined, { ...DEFAULT_CAMERA, projection: "perspective" as const }]) {
    const x = renderScene(scene, { size, ...(camera ? { camera } : {}) }).image;
    const lik = new RenderLikelihood({ size, sigma: 0.1, blurPx: 1, ...(camera ? { camera } : {}) });
    lik.setImage(x);
    assert.throws(() => lik.logLikFromBase([]), /needs a base: call setBase after the image/);
    const a = { type: 1, u: -0.28, v: 0.22, z: 0, R: eulerZYX(0.3, 0.5, 0.2) };
    const b = { type: 2, u: 0.3, v: -0.1, z: 0.1, R: eulerZYX(0.1, 0.9, 0) };
    lik.setBase([a]);
    for (
      const trial of [[a], [a, b], [a, { ...b, type: 0 }], [], [{ ...a, u: -0.1 }], [a, { ...b, u: -0.2 }]]
    ) {
      const direct = lik.logLik(trial), viaBase = lik.logLikFromBase(trial);
      assert.ok(
        Math.abs(direct - viaBase) < 1e-4 + 1e-6 * Math.abs(direct),
        `${trial.length} objects: ${direct} vs ${viaBase}`,
      );
    }
    // A new image (or blurred image, or light) clears the base.
    const blurred = blurImage(
      x,
      size,
      lik.kernel,
      new Float32Array(size * size),
      new Float32Array(size * size),
    );
    lik.setBlurredImage(blurred);
    assert.throws(() => lik.logLikFromBase([a]), /needs a base/);
    lik.setBase([]);
    assert.ok(
      Math.abs(lik.logLikFromBase([a, b]) - lik.logLik([a, b])) < 1e-6 * Math.abs(lik.logLik([a, b])),
    );
  }
});
