import assert from "node:assert/strict";
import {
  AMBIENT,
  DEFAULT_CAMERA,
  DEFAULT_FOV_DEG,
  DIFFUSE,
  eulerZYX,
  pixelCentres,
  type Primitive,
  samplePrimitiveScenes,
  sampleScene,
  type Scene,
  type Vec3,
  VIEW_HALF_WIDTH,
} from "../../lib/scenes/primitives.ts";
import {
  cameraFrame,
  projectPoint,
  Rasteriser,
  renderBatch,
  renderScene,
  unprojectAtZ,
} from "../../lib/scenes/render.ts";
import { Rng } from "../../lib/core/random.ts";

const SIZE = 257; // odd, so that a pixel centre sits exactly on the axis
// Silhouette areas use a grid whose pixel centres never fall on the edges at ±0.4.
const AREA_SIZE = 400;
const PIX_AREA = (3.2 / (AREA_SIZE - 1)) ** 2;
const close = (a: number, b: number, tol: number, what = "") =>
  assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b} (tol ${tol})`);
const prim = (
  type: Primitive["type"],
  position = [0, 0, 0],
  rotation = [0, 0, 0],
  scale?: number,
): Primitive => ({ type, position, rotation, ...(scale ? { scale } : {}) }) as Primitive;
const area = (image: Float32Array) => image.reduce((n, v) => n + (v > 0 ? 1 : 0), 0) * PIX_AREA;
const px = (r: { image: Float32Array; size: number }, x: number, y: number) => {
  // world (x, y) on the default camera → pixel value
  const j = Math.round((x + 1.6) / 3.2 * (r.size - 1)), i = Math.round((1.6 - y) / 3.2 * (r.size - 1));
  return r.image[i * r.size + j];
};

Deno.test("pixel centres are linspace(-1.6, 1.6, size)", () => {
  assert.deepEqual([...pixelCentres(5)].map((x) => +x.toFixed(12)), [-1.6, -0.8, 0, 0.8, 1.6]);
  assert.deepEqual([...pixelCentres(1)], [-1.6]);
});

Deno.test("ZYX Euler matrix is Rz(a)·Ry(b)·Rx(g) and orthonormal", () => {
  const [a, b, g] = [0.3, -1.1, 2.0];
  const mul = (A: number[], B: number[]) =>
    Array.from(
      { length: 9 },
      (_, k) => [0, 1, 2].reduce((s, m) => s + A[3 * (k / 3 | 0) + m] * B[3 * m + k % 3], 0),
    );
  const Rz = [Math.cos(a), -Math.sin(a), 0, Math.sin(a), Math.cos(a), 0, 0, 0, 1];
  const Ry = [Math.cos(b), 0, Math.sin(b), 0, 1, 0, -Math.sin(b), 0, Math.cos(b)];
  const Rx = [1, 0, 0, 0, Math.cos(g), -Math.sin(g), 0, Math.sin(g), Math.cos(g)];
  const want = mul(mul(Rz, Ry), Rx), got = [...eulerZYX(a, b, g)];
  want.forEach((w, k) => close(got[k], w, 1e-12, `R[${k}]`));
  const RRt = mul(got, [got[0], got[3], got[6], got[1], got[4], got[7], got[2], got[5], got[8]]);
  RRt.forEach((v, k) => close(v, k % 4 === 0 ? 1 : 0, 1e-12, "R·Rᵀ"));
});

Deno.test("sphere silhouette area is πr², and it is the same under any rotation", () => {
  const base = renderScene([prim("sphere")], { size: AREA_SIZE });
  close(area(base.image), Math.PI * 0.4 ** 2, 0.01 * Math.PI * 0.16, "sphere area");
  const big = renderScene([prim("sphere", [0, 0, 0], [0, 0, 0], 0.9)], { size: AREA_SIZE });
  close(area(big.image), Math.PI * 0.81, 0.01 * Math.PI * 0.81, "r = 0.9 area");
  for (const rot of [[0.4, 1.2, 2.9], [3, 0.1, 1.7]]) {
    const r = renderScene([prim("sphere", [0, 0, 0], rot)], { size: AREA_SIZE });
    assert.deepEqual(r.ids, base.ids);
    for (let p = 0; p < r.image.length; p++) close(r.image[p], base.image[p], 1e-6, "rotated sphere pixel");
  }
});

Deno.test("cube silhouettes match the rotated-square areas", () => {
  // Turning about the view axis (alpha) keeps a 0.8 × 0.8 square: area 0.64.
  for (const alpha of [0, 0.3, Math.PI / 4, 1.2]) {
    close(
      area(renderScene([prim("cube", [0, 0, 0], [alpha, 0, 0])], { size: AREA_SIZE }).image),
      0.64,
      0.01,
      `α=${alpha}`,
    );
  }
  // Turning about y (beta) widens it to 0.8·(|cos β| + |sin β|).
  for (const beta of [0.3, Math.PI / 4, 1.0]) {
    const want = 0.64 * (Math.abs(Math.cos(beta)) + Math.abs(Math.sin(beta)));
    close(
      area(renderScene([prim("cube", [0, 0, 0], [0, beta, 0])], { size: AREA_SIZE }).image),
      want,
      0.012,
      `β=${beta}`,
    );
  }
});

Deno.test("cylinder: a 0.8 × 0.8 rectangle side-on, a disc of radius 0.4 end-on", () => {
  close(area(renderScene([prim("cylinder")], { size: AREA_SIZE }).image), 0.64, 0.01, "side-on");
  const endOn = renderScene([prim("cylinder", [0, 0, 0], [0, 0, Math.PI / 2])], { size: AREA_SIZE });
  close(area(endOn.image), Math.PI * 0.16, 0.01 * Math.PI * 0.16, "end-on");
  // The cap faces the light: full intensity across the disc.
  assert.equal(px(endOn, 0, 0), 1);
  close(px(endOn, 0.3, 0.1), 1, 1e-6, "cap");
});

Deno.test("shading: a face turned to the light is 1.0; turned by θ it is 0.15 + 0.85·cos θ", () => {
  const front = renderScene([prim("cube")], { size: SIZE });
  assert.equal(px(front, 0, 0), AMBIENT + DIFFUSE);
  const theta = 0.5;
  const turned = renderScene([prim("cube", [0, 0, 0], [0, theta, 0])], { size: SIZE });
  const values = new Set([...turned.image].filter((v) => v > 0).map((v) => v.toFixed(5)));
  const want = [AMBIENT + DIFFUSE * Math.cos(theta), AMBIENT + DIFFUSE * Math.sin(theta)].map((v) =>
    v.toFixed(5)
  );
  assert.deepEqual([...values].sort(), want.sort());
  // Sphere: n·l = z/r on the surface, so the pixel at distance ρ from the centre shows 0.15 + 0.85·√(1 − (ρ/r)²).
  const sph = renderScene([prim("sphere")], { size: SIZE });
  assert.equal(px(sph, 0, 0), 1);
  close(px(sph, 0.2, 0), AMBIENT + DIFFUSE * Math.sqrt(1 - 0.25), 1e-6, "sphere rim shade");
});

Deno.test("image rows go down as world y decreases; columns go right as x increases", () => {
  const r = renderScene([prim("sphere", [0.8, 0.8, 0], [0, 0, 0], 0.2)], { size: 65 });
  const hits = [...r.ids.keys()].filter((p) => r.ids[p] === 0);
  assert.ok(hits.length > 0);
  for (const p of hits) {
    assert.ok(Math.floor(p / 65) < 32, "top half");
    assert.ok(p % 65 > 32, "right half");
  }
});

Deno.test("occlusion: the nearer primitive wins whatever the list order; ids and depth agree", () => {
  const near = prim("sphere", [0.1, 0, 0.3]), far = prim("cube", [-0.1, 0, -0.3]);
  for (const scene of [[near, far], [far, near]]) {
    const r = renderScene(scene, { size: SIZE });
    const centre = ((SIZE - 1) / 2) * SIZE + (SIZE - 1) / 2;
    assert.equal(r.ids[centre], scene.indexOf(near));
    close(r.depth[centre], 5 - 0.3 - Math.sqrt(0.16 - 0.01), 1e-5, "depth at centre");
    // Far left is only covered by the cube; its front face is at z = −0.3 + 0.4.
    const left = ((SIZE - 1) / 2) * SIZE + Math.round((-0.45 + 1.6) / 3.2 * (SIZE - 1));
    assert.equal(r.ids[left], scene.indexOf(far));
    close(r.depth[left], 5 - 0.1, 1e-5, "cube face depth");
    for (let p = 0; p < r.image.length; p++) {
      const hit = r.ids[p] >= 0;
      assert.equal(r.image[p] > 0, hit);
      assert.equal(Number.isFinite(r.depth[p]), hit);
      if (!hit) assert.equal(r.image[p], 0);
    }
  }
});

Deno.test("sphere depth follows 5 − (z + √(r² − ρ²)) across the disc", () => {
  const r = renderScene([prim("sphere", [0, 0, 0.2])], { size: SIZE });
  const xs = pixelCentres(SIZE);
  for (let i = 0; i < SIZE; i += 7) {
    for (let j = 0; j < SIZE; j += 7) {
      const rho2 = xs[j] ** 2 + xs[SIZE - 1 - i] ** 2;
      if (rho2 < 0.16) close(r.depth[i * SIZE + j], 5 - 0.2 - Math.sqrt(0.16 - rho2), 1e-5, "depth");
      else if (rho2 > 0.1601) assert.equal(r.ids[i * SIZE + j], -1);
    }
  }
});

Deno.test("orbit camera: default pose is z = +5; from +x the nearer-in-x primitive wins", () => {
  const { c, r, u, f } = cameraFrame();
  assert.deepEqual([c, r, u, f].map((v) => v.map((x) => x + 0)), [[0, 0, 5], [1, 0, 0], [0, 1, 0], [
    0,
    0,
    -1,
  ]]);
  const scene = [prim("sphere", [0.5, 0, 0]), prim("cube", [-0.5, 0, 0])];
  const def = renderScene(scene, { size: 33 });
  assert.deepEqual(renderScene(scene, { size: 33, camera: { yaw: 0, pitch: 0, distance: 5 } }), def);
  const side = renderScene(scene, { size: 33, camera: { yaw: Math.PI / 2, pitch: 0, distance: 5 } });
  assert.equal(side.ids[16 * 33 + 16], 0, "sphere at x = +0.5 hides the cube");
  close(side.depth[16 * 33 + 16], 5 - 0.9, 1e-5, "depth from +x");
  // A sphere at the origin looks the same from every pose (with the light following the camera).
  const ball = [prim("sphere")];
  const front = renderScene(ball, { size: 33, light: "camera" });
  const above = renderScene(ball, { size: 33, camera: { yaw: 1, pitch: 0.7, distance: 3 }, light: "camera" });
  for (let p = 0; p < front.image.length; p++) {
    close(above.image[p], front.image[p], 1e-6, "sphere from any pose");
  }
});

Deno.test("a batch renders the same images as one scene at a time", () => {
  const scenes = samplePrimitiveScenes(new Rng(5), 6);
  const batch = renderBatch(scenes, { size: 32, ids: true, depth: true });
  assert.equal(batch.images.length, 6 * 32 * 32);
  scenes.forEach((s, b) => {
    const one = renderScene(s, { size: 32 });
    assert.deepEqual(batch.images.subarray(b * 1024, (b + 1) * 1024), one.image);
    assert.deepEqual(batch.ids!.subarray(b * 1024, (b + 1) * 1024), one.ids);
    assert.deepEqual(batch.depth!.subarray(b * 1024, (b + 1) * 1024), one.depth);
  });
  const reuse = renderBatch(scenes, { size: 32, out: new Float32Array(6 * 1024).fill(9) });
  assert.deepEqual(reuse.images, batch.images);
  assert.equal(reuse.ids, undefined);
});

Deno.test("scene sampling follows the reproduction's distribution, sorted by x, same seed → same scenes", () => {
  const scenes = samplePrimitiveScenes(new Rng(0), 3000);
  const counts = [0, 0, 0, 0], types = { sphere: 0, cube: 0, cylinder: 0 };
  for (const s of scenes) {
    counts[s.length]++;
    for (let k = 0; k < s.length; k++) {
      const p = s[k];
      types[p.type]++;
      assert.ok(
        Math.abs(p.position[0]) < 0.9 && Math.abs(p.position[1]) < 0.9 && Math.abs(p.position[2]) < 0.3,
      );
      assert.ok(p.rotation.every((a) => a >= 0 && a < Math.PI));
      if (k > 0) assert.ok(s[k - 1].position[0] <= p.position[0], "sorted by x");
    }
  }
  assert.equal(counts[0], 0);
  for (const n of [1, 2, 3]) assert.ok(Math.abs(counts[n] / 3000 - 1 / 3) < 0.04, `count ${n}: ${counts[n]}`);
  const total = types.sphere + types.cube + types.cylinder;
  for (const t of Object.values(types)) assert.ok(Math.abs(t / total - 1 / 3) < 0.04);
  assert.deepEqual(samplePrimitiveScenes(new Rng(0), 3000), scenes);
  const withEmpty = samplePrimitiveScenes(new Rng(1), 400, { allowEmpty: true, maxPrimitives: 1 });
  assert.ok(withEmpty.some((s) => s.length === 0) && withEmpty.some((s) => s.length === 1));
});

Deno.test("invalid input names the field", () => {
  const ok = prim("cube");
  assert.throws(
    () => renderScene([{ ...ok, position: [0, NaN, 0] }], { size: 8 }),
    /scene\[0\]\.position\[1\] must be a finite/,
  );
  assert.throws(
    () => renderScene([{ ...ok, type: "cone" as "cube" }], { size: 8 }),
    /scene\[0\]\.type must be one of sphere, cube, cylinder/,
  );
  assert.throws(
    () => renderScene([{ ...ok, scale: 0 }], { size: 8 }),
    /scene\[0\]\.scale must be in \(0, 32\], got 0/,
  );
  assert.throws(() => renderScene([ok], { size: 0 }), /size must be an integer in 1..4096/);
  assert.throws(() => renderScene([ok], { size: 2.5 }), /size must be an integer/);
  assert.throws(
    () => renderScene([ok], { size: 8, camera: { yaw: 0, pitch: 2, distance: 5 } }),
    /options\.camera\.pitch/,
  );
  assert.throws(
    () => renderScene([ok], { size: 8, camera: { yaw: 0, pitch: 0, distance: -1 } }),
    /distance must be > 0/,
  );
  assert.throws(() => renderScene([ok], { size: 8, light: [0, 0, 0] }), /options\.light must be a non-zero/);
  assert.throws(
    () =>
      renderBatch([[ok], [{ ...ok, rotation: [0, 0] as unknown as [number, number, number] }]], { size: 8 }),
    /scenes\[1\]\[0\]\.rotation must have 3 entries/,
  );
  assert.throws(
    () => renderBatch([[ok]], { size: 8, out: new Float32Array(3) }),
    /options\.out must be a Float32Array of length 64/,
  );
  assert.throws(() => sampleScene(new Rng(0), { maxPrimitives: 0 }), /maxPrimitives must be an integer/);
  assert.throws(() => sampleScene(new Rng(0), { maxPrims: 2 } as never), /unknown sample option "maxPrims"/);
});

/**
 * An independent reference: marches the ray `point(t)` from t0 in small steps and stops at the first
 * point inside a primitive (|p| ≤ 1; max|p_i| ≤ 1; x² + z² ≤ 1 and |y| ≤ 1 in its local frame).
 */
function march(
  scene: Primitive[],
  Rs: Float64Array[],
  point: (t: number) => number[],
  t0: number,
  t1: number,
  step: number,
): { id: number; depth: number } {
  for (let t = t0; t < t1; t += step) {
    const q = point(t);
    for (let k = 0; k < scene.length; k++) {
      const p = scene[k], R = Rs[k], s = p.scale ?? 0.4;
      const d = [0, 1, 2].map((a) => q[a] - p.position[a]);
      const l = [0, 1, 2].map((a) => (R[a] * d[0] + R[3 + a] * d[1] + R[6 + a] * d[2]) / s);
      const inside = p.type === "sphere"
        ? l[0] ** 2 + l[1] ** 2 + l[2] ** 2 <= 1
        : p.type === "cube"
        ? Math.max(...l.map(Math.abs)) <= 1
        : l[0] ** 2 + l[2] ** 2 <= 1 && Math.abs(l[1]) <= 1;
      if (inside) return { id: k, depth: t };
    }
  }
  return { id: -1, depth: Infinity };
}

Deno.test("agrees with a brute-force ray-marcher built on point-in-primitive tests", () => {
  // Independent reference: march each pixel's ray in small steps and stop at the first point
  // inside a primitive (|p| ≤ 1; max|p_i| ≤ 1; x² + z² ≤ 1 and |y| ≤ 1 in the local frame).
  const size = 32, step = 0.003;
  const xs = pixelCentres(size);
  const scenes = samplePrimitiveScenes(new Rng("march"), 6, { maxPrimitives: 3 });
  scenes.push([prim("cube", [1.5, -1.45, 0], [0.3, 0.7, 0.2], 0.5)]); // clipped by the image border
  let hits = 0, mismatches = 0;
  for (const scene of scenes) {
    const r = renderScene(scene, { size });
    const Rs = scene.map((p) => eulerZYX(...p.rotation));
    for (let i = 0; i < size; i++) {
      for (let j = 0; j < size; j++) {
        const { id, depth } = march(scene, Rs, (t) => [xs[j], xs[size - 1 - i], 5 - t], 3, 7, step);
        const p = i * size + j;
        if (id >= 0) hits++;
        if (r.ids[p] !== id) mismatches++;
        else if (id >= 0) close(r.depth[p], depth, step + 1e-6, "marched depth");
      }
    }
  }
  // Only grazing rays at silhouette edges may disagree.
  assert.ok(hits > 300, `hits ${hits}`);
  assert.ok(mismatches <= hits * 0.005, `${mismatches} mismatches of ${hits} hits`);
});

Deno.test('perspective: the orthographic default is unchanged, and `projection: "orthographic"` is the same', () => {
  const scenes = samplePrimitiveScenes(new Rng(11), 50, { maxPrimitives: 3 });
  const a = renderBatch(scenes, { size: 40, ids: true, depth: true });
  const b = renderBatch(scenes, {
    size: 40,
    ids: true,
    depth: true,
    camera: { ...DEFAULT_CAMERA, projection: "orthographic" },
  });
  assert.deepEqual(b.images, a.images);
  assert.deepEqual(b.ids, a.ids);
  assert.deepEqual(b.depth, a.depth);
  const p = renderBatch(scenes, { size: 40, camera: { ...DEFAULT_CAMERA, projection: "perspective" } });
  assert.notDeepEqual(p.images, a.images);
});

Deno.test("perspective: a sphere's silhouette is the pinhole's circle, tan α = r / √(d² − r²), and shrinks as 1 / distance", () => {
  const size = 401, xs = pixelCentres(size), step = xs[1] - xs[0];
  const g = Math.tan((DEFAULT_FOV_DEG * Math.PI) / 360) / VIEW_HALF_WIDTH; // ray slope per image-plane unit
  const camera = { ...DEFAULT_CAMERA, projection: "perspective" as const };
  const areas: number[] = [];
  for (const z of [1, 0, -1, -3]) {
    const r = 0.4, d = 5 - z;
    const { image, depth } = renderScene([prim("sphere", [0, 0, z])], { size, camera });
    const pixels = image.reduce((n, v) => n + (v > 0 ? 1 : 0), 0);
    // The silhouette cone has half-angle α = asin(r/d): a circle of radius tan α on the plane one unit ahead.
    const radius = Math.tan(Math.asin(r / d)) / g / step; // in pixels
    close(Math.sqrt(pixels / Math.PI), radius, 0.6, `silhouette radius at distance ${d} (px)`);
    close(depth[(size * size - 1) / 2], d - r, 1e-5, "depth at the centre: distance − r");
    areas.push(pixels);
  }
  // Size ∝ 1 / distance (areas ∝ 1 / distance², up to the small-angle terms of tan asin).
  close(Math.sqrt(areas[0] / areas[2]), 6 / 4, 0.02, "linear size ratio, distance 4 vs 6");
  // At the default field of view the plane z = 0 has the orthographic scale (the sphere at z = 0
  // above has the orthographic radius, 0.4 / step px, to 0.2 %).
  const ortho = renderScene([prim("cube", [0.5, -0.3, 0], [0, 0, 0], 0.3)], { size: 101 }).image;
  const persp = renderScene([prim("cube", [0.5, -0.3, 0], [0, 0, 0], 0.3)], { size: 101, camera }).image;
  const count = (im: Float32Array) => im.reduce((n, v) => n + (v > 0 ? 1 : 0), 0);
  // A cube at z = 0: its front face (z = 0.3) is 4.7 from the camera, so it alone is (5/4.7)² the
  // orthographic square, and off the axis a side face shows too.
  const ratio = count(persp) / count(ortho);
  assert.ok(ratio > (5 / 4.7) ** 2 - 0.02 && ratio < 1.25, `perspective / orthographic area ${ratio}`);
});

Deno.test("perspective: agrees with a brute-force ray-marcher from the pinhole, any camera pose", () => {
  const size = 32, step = 0.003, xs = pixelCentres(size);
  const camera = { yaw: 0.5, pitch: 0.3, distance: 5, projection: "perspective" as const, fovDeg: 40 };
  const { c, r, u, f } = cameraFrame(camera);
  const g = Math.tan((40 * Math.PI) / 360) / VIEW_HALF_WIDTH;
  const scenes = samplePrimitiveScenes(new Rng("pinhole"), 5, { maxPrimitives: 3 });
  let hits = 0, mismatches = 0;
  for (const scene of scenes) {
    const out = renderScene(scene, { size, camera });
    const Rs = scene.map((p) => eulerZYX(...p.rotation));
    for (let i = 0; i < size; i++) {
      for (let j = 0; j < size; j++) {
        const x = xs[j] * g, y = xs[size - 1 - i] * g;
        const dir = [0, 1, 2].map((a) => f[a] + x * r[a] + y * u[a]); // f·dir = 1: t is the depth
        const { id, depth } = march(scene, Rs, (t) => [0, 1, 2].map((a) => c[a] + t * dir[a]), 2.5, 8, step);
        const pix = i * size + j;
        if (id >= 0) hits++;
        if (out.ids[pix] !== id) mismatches++;
        else if (id >= 0) close(out.depth[pix], depth, step * 1.2 + 1e-6, "marched depth");
      }
    }
  }
  assert.ok(hits > 200, `hits ${hits}`);
  assert.ok(mismatches <= hits * 0.01, `${mismatches} mismatches of ${hits} hits`);
});

Deno.test("perspective: a bad projection or field of view names the field", () => {
  const ok = prim("cube");
  assert.throws(
    () =>
      renderScene([ok], { size: 8, camera: { ...DEFAULT_CAMERA, projection: "fisheye" as "perspective" } }),
    /options\.camera\.projection must be "orthographic" or "perspective", got "fisheye"/,
  );
  for (const fovDeg of [0, 180, NaN]) {
    assert.throws(
      () => renderScene([ok], { size: 8, camera: { ...DEFAULT_CAMERA, projection: "perspective", fovDeg } }),
      /options\.camera\.fovDeg must/,
    );
  }
});

Deno.test("projectPoint and unprojectAtZ: where a camera shows a point, and back from the image at a known z", () => {
  const orthographic = DEFAULT_CAMERA;
  const perspective = { ...DEFAULT_CAMERA, projection: "perspective" as const };
  const oblique = { yaw: 0.4, pitch: 0.3, distance: 6, projection: "perspective" as const, fovDeg: 50 };
  // The default poses: orthographic shows (x, y) as it is; the pinhole scales it by d / (d − z).
  assert.deepEqual(projectPoint([0.5, -0.2, 0.3], orthographic).slice(0, 2), [0.5, -0.2]);
  const [x, y, depth] = projectPoint([0.5, -0.2, 0.3], perspective);
  close(x, 0.5 * 5 / 4.7, 1e-12, "x'");
  close(y, -0.2 * 5 / 4.7, 1e-12, "y'");
  close(depth, 4.7, 1e-12, "depth");
  for (const cam of [orthographic, perspective, oblique]) {
    for (const p of [[0.5, -0.2, 0.3], [-1, 0.7, -0.25], [0, 0, 0]] as Vec3[]) {
      const [xi, yi] = projectPoint(p, cam);
      const [wx, wy] = unprojectAtZ(xi, yi, p[2], cam);
      close(wx, p[0], 1e-9, "x back");
      close(wy, p[1], 1e-9, "y back");
    }
  }
  // The rendering agrees: a small sphere's silhouette is centred where projectPoint says.
  const size = 201, xs = pixelCentres(size);
  const { image } = renderScene([prim("sphere", [1, 0.5, 1], [0, 0, 0], 0.1)], { size, camera: perspective });
  let sx = 0, sy = 0, n = 0;
  image.forEach((v, k) => {
    if (v > 0) (sx += xs[k % size], sy += xs[size - 1 - Math.floor(k / size)], n++);
  });
  const [px0, py0] = projectPoint([1, 0.5, 1], perspective);
  close(sx / n, px0, 0.02, "silhouette centre x");
  close(sy / n, py0, 0.02, "silhouette centre y");
});

Deno.test("Rasteriser: draw matches renderScene; drawWindow redraws just its window, both cameras", () => {
  const scene: Scene = [
    { type: "cube", position: [0.2, 0.1, 0.1], rotation: [0.4, 0.3, 0.2] },
    { type: "cylinder", position: [-0.3, -0.2, -0.1], rotation: [1.1, 0.2, 0.5] },
    { type: "sphere", position: [0.5, -0.5, 0.2], rotation: [0, 0, 0] },
  ];
  for (const camera of [undefined, { ...DEFAULT_CAMERA, projection: "perspective" as const }]) {
    const opts = { size: 48, ...(camera ? { camera } : {}) };
    const r = new Rasteriser(opts), full = renderScene(scene, opts).image;
    const out = new Float32Array(48 * 48);
    r.draw(scene, out);
    assert.deepEqual(out, full);
    const marked = new Float32Array(48 * 48).fill(7);
    r.drawWindow(scene, marked, 10, 30, 5, 40);
    for (let i = 0; i < 48; i++) {
      for (let j = 0; j < 48; j++) {
        const inside = i >= 10 && i <= 30 && j >= 5 && j <= 40;
        assert.equal(marked[i * 48 + j], inside ? full[i * 48 + j] : 7, `pixel (${i}, ${j})`);
      }
    }
    r.draw(scene, out); // the window is reset after a windowed draw
    assert.deepEqual(out, full);
  }
});

Deno.test("hull spans skip only pixels no ray hits: aligned and tangent scenes draw as a scan of every pixel does", () => {
  // Centres, turns and scales on grids that put silhouette edges and tangents on pixel centres.
  const rng = new Rng(9), snap = (v: number, step: number) => Math.round(v / step) * step;
  const types = ["sphere", "cube", "cylinder"] as const;
  const scenes: Scene[] = Array.from(
    { length: 150 },
    () =>
      Array.from({ length: 1 + Math.floor(rng.uniform(0, 3)) }, () =>
        prim(
          types[Math.floor(rng.uniform(0, 3))],
          [0, 1, 2].map(() => snap(rng.uniform(-1.2, 1.2), 0.1) * (1 / 2)),
          [0, 1, 2].map(() => snap(rng.uniform(-3.2, 3.2), Math.PI / 4)),
          snap(rng.uniform(0.1, 0.6), 0.1),
        )),
  );
  const cameras = [undefined, { yaw: 1, pitch: 0.7, distance: 3 }, {
    yaw: Math.PI / 2,
    pitch: 0,
    distance: 5,
  }, {
    ...DEFAULT_CAMERA,
    projection: "perspective" as const,
  }];
  for (const camera of cameras) {
    for (const size of [33, 17]) {
      const opts = { size, ...(camera ? { camera } : {}) };
      const fast = new Rasteriser(opts), every = new Rasteriser(opts, { scanAll: true });
      const a = new Float32Array(size * size), b = new Float32Array(size * size);
      let hits = 0;
      for (const scene of scenes) {
        fast.draw(scene, a), every.draw(scene, b);
        assert.deepEqual(a, b, `${JSON.stringify(scene)} at ${size}², camera ${JSON.stringify(camera)}`);
        a.fill(0.5), b.fill(0.5);
        fast.drawWindow(scene, a, 3, size - 6, 8, size - 2),
          every.drawWindow(scene, b, 3, size - 6, 8, size - 2);
        assert.deepEqual(a, b, "windowed");
        hits += b.filter((v) => v > 0 && v !== 0.5).length;
      }
      assert.ok(hits > 1000, `the scenes cover pixels (${hits})`);
    }
  }
});

Deno.test("drawOver: the rest of a scene, then one object over it, is the scene; a read-only z-buffer is left as it was", () => {
  const scene: Scene = [
    prim("cube", [0.2, 0.1, 0.1], [0.4, 0.3, 0.2]),
    prim("cylinder", [0.1, -0.1, -0.2], [1.1, 0.2, 0.5]),
    prim("sphere", [0.3, 0, 0.3]),
  ];
  for (const camera of [undefined, { ...DEFAULT_CAMERA, projection: "perspective" as const }]) {
    const opts = { size: 40, ...(camera ? { camera } : {}) };
    const r = new Rasteriser(opts), full = renderScene(scene, opts);
    for (let k = 0; k < 3; k++) {
      const rest = scene.filter((_, i) => i !== k);
      const image = new Float32Array(1600), zbuf = new Float64Array(1600).fill(Infinity);
      r.drawOver(rest, image, zbuf, 0, 39, 0, 39);
      const before = zbuf.slice();
      const once = image.slice();
      r.drawOver([scene[k]], once, zbuf, 5, 30, 0, 39, undefined, false);
      assert.deepEqual(zbuf, before, "read-only z-buffer");
      r.drawOver([scene[k]], image, zbuf, 5, 30, 0, 39);
      assert.deepEqual(once, image, "read-only draws the same image for one object");
      // Spans: every pixel the draw changed lies within its row's span, and the spans within the window.
      const spans = new Int16Array(80).fill(-1);
      for (let i = 0; i < 40; i++) spans[2 * i] = 40;
      const spanned = new Float32Array(1600);
      const restZ = new Float64Array(1600).fill(Infinity);
      r.drawOver(rest, spanned, restZ, 0, 39, 0, 39);
      const restImage = spanned.slice();
      r.drawOver([scene[k]], spanned, restZ, 5, 30, 0, 39, undefined, false, spans);
      let changed = 0;
      for (let i = 0; i < 40; i++) {
        if (spans[2 * i] <= spans[2 * i + 1]) {
          assert.ok(i >= 5 && i <= 30, `row ${i} spanned outside the window`);
        }
        for (let j = 0; j < 40; j++) {
          if (spanned[i * 40 + j] === restImage[i * 40 + j]) continue;
          changed++;
          assert.ok(j >= spans[2 * i] && j <= spans[2 * i + 1], `pixel (${i}, ${j}) outside its row's span`);
        }
      }
      assert.ok(changed > 20, `object ${k} drew ${changed} pixels`);
      for (let p = 0; p < 1600; p++) {
        const inside = p >= 5 * 40 && p < 31 * 40;
        if (inside) assert.equal(image[p], full.image[p], `pixel ${p}`);
        if (inside && Number.isFinite(full.depth[p])) close(zbuf[p], full.depth[p], 1e-5, `depth ${p}`);
        else if (inside) assert.equal(zbuf[p], Infinity, `depth ${p}`);
      }
    }
    assert.throws(
      () => r.drawOver(scene, new Float32Array(1600), new Float64Array(10), 0, 39, 0, 39),
      /zbuf must hold 40×40/,
    );
    assert.throws(
      () =>
        r.drawOver(
          scene,
          new Float32Array(1600),
          new Float64Array(1600),
          0,
          39,
          0,
          39,
          undefined,
          true,
          new Int16Array(3),
        ),
      /spans must hold 2×40 values, got 3/,
    );
  }
});
