import assert from "node:assert/strict";
import { initTf, tf } from "../../lib/core/tf.ts";
import { bilinear, glimpse, glimpseHost, samplingMatrix, writeWindow } from "../../lib/nn/spatial.ts";

await initTf();

Deno.test("sampling matrix: identity pose is the identity; half-pixel shifts interpolate", () => {
  tf.tidy(() => {
    const k = samplingMatrix(tf.tensor1d([1]), tf.tensor1d([0]), 5, 5).arraySync()[0];
    assert.deepEqual(k, [[1, 0, 0, 0, 0], [0, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 1, 0], [
      0,
      0,
      0,
      0,
      1,
    ]]);
    // Shift by half a pixel (normalised pixel pitch is 2/(S−1) = 0.5): each row splits 0.5/0.5.
    const h = samplingMatrix(tf.tensor1d([1]), tf.tensor1d([0.25]), 5, 5).arraySync()[0];
    assert.deepEqual(h[0], [0.5, 0.5, 0, 0, 0]);
    assert.deepEqual(h[4], [0, 0, 0, 0, 0.5]); // half falls outside the image: zero padding
  });
});

Deno.test("glimpse crops and zooms; the host version agrees; gradients reach the pose", () => {
  const size = 8;
  const img = Float32Array.from(
    { length: 2 * size * size },
    (_, i) => (i % size) + 10 * Math.floor(i / size),
  );
  const where = Float32Array.from([1, 0, 0, 3 / 7, 4 / 7, -4 / 7]);
  const host = glimpseHost(img, size, [0, 1], where, 4);
  tf.tidy(() => {
    const images = tf.tensor3d(img, [2, size, size]);
    const g = glimpse(images, tf.tensor2d(where, [2, 3]), 4);
    const d = g.dataSync();
    for (let i = 0; i < d.length; i++) {
      assert.ok(Math.abs(d[i] - host[i]) < 1e-3, `${i}: ${d[i]} vs ${host[i]}`);
    }
    // Identity pose, g = size, reproduces the image.
    const full = glimpse(images, tf.tensor2d([[1, 0, 0], [1, 0, 0]]), size).dataSync();
    for (let i = 0; i < full.length; i++) assert.ok(Math.abs(full[i] - img[i]) < 1e-3);
    // Second glimpse: s = 3/7 spans 4 pixels centred at column 5.5, row 1.5 of image 1 → columns 4..7, rows 0..3.
    assert.ok(Math.abs(host[16] - (4 + 10 * 8)) < 1e-4, String(host[16]));
    // d(sum of glimpse)/d(x) is nonzero: the pose is differentiable.
    const grad = tf.grad((w: tf.Tensor) => glimpse(images, w as tf.Tensor2D, 4).sum())(
      tf.tensor2d(where, [2, 3]),
    );
    assert.ok(Math.abs(grad.dataSync()[1]) > 0);
  });
  assert.throws(() => glimpseHost(img, size, [0], [1, 0], 4), /3 numbers per glimpse/);
  assert.throws(
    () => tf.tidy(() => glimpse(tf.zeros([1, 4, 4]) as tf.Tensor3D, tf.zeros([1, 2]) as tf.Tensor2D, 2)),
    /where must be/,
  );
});

/** Direct per-pixel bilinear write: canvas pixel (i, j) samples the window at the inverse pose. */
function writeDirect(win: number[][], where: number[], size: number): number[][] {
  const g = win.length, [s, x, y] = where;
  const at = (r: number, c: number) => (r >= 0 && r < g && c >= 0 && c < g ? win[r][c] : 0);
  const out: number[][] = [];
  for (let i = 0; i < size; i++) {
    out.push([]);
    for (let j = 0; j < size; j++) {
      const py = -1 + (2 * i) / (size - 1), px = -1 + (2 * j) / (size - 1);
      const u = (((py - y) / s + 1) / 2) * (g - 1), v = (((px - x) / s + 1) / 2) * (g - 1);
      const u0 = Math.floor(u), v0 = Math.floor(v), fu = u - u0, fv = v - v0;
      out[i].push(
        (1 - fu) * (1 - fv) * at(u0, v0) + (1 - fu) * fv * at(u0, v0 + 1) + fu * (1 - fv) * at(u0 + 1, v0) +
          fu * fv * at(u0 + 1, v0 + 1),
      );
    }
  }
  return out;
}

Deno.test("write: agrees with a direct per-pixel bilinear write; read after write recovers the window", () => {
  const g = 6, size = 20;
  const win = Array.from(
    { length: g },
    (_, i) => Array.from({ length: g }, (_, j) => Math.sin(i + 2 * j) ** 2),
  );
  const poses = [[0.4, 0.1, -0.3], [0.27, -0.55, 0.6], [1.2, 0, 0]];
  tf.tidy(() => {
    const w = tf.tensor3d(poses.map(() => win));
    const where = tf.tensor2d(poses);
    const canvas = writeWindow(w, where, size).arraySync();
    poses.forEach((p, k) => {
      const direct = writeDirect(win, p, size);
      for (let i = 0; i < size; i++) {
        for (let j = 0; j < size; j++) {
          assert.ok(Math.abs(canvas[k][i][j] - direct[i][j]) < 1e-5, `pose ${k} (${i},${j})`);
        }
      }
    });
    // Round trip at a pose where window pixels land on canvas pixels: s·(S−1) = (g−1)·m.
    const exact = tf.tensor2d([[5 / 19, 0, 0]]);
    const back = glimpse(writeWindow(tf.tensor3d([win]), exact, size), exact, g).arraySync()[0];
    for (let i = 0; i < g; i++) {
      for (let j = 0; j < g; j++) assert.ok(Math.abs(back[i][j] - win[i][j]) < 1e-5);
    }
  });
  assert.throws(
    () => tf.tidy(() => writeWindow(tf.zeros([1, 2, 3]) as tf.Tensor3D, tf.zeros([1, 3]), 8)),
    /square/,
  );
});

Deno.test("read and write: gradients in image and pose match finite differences", () => {
  const size = 12, g = 5;
  const smooth = (n: number, f: (i: number, j: number) => number) =>
    Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => f(i, j)));
  const img = smooth(size, (i, j) => Math.exp(-((i - 5.3) ** 2 + (j - 6.1) ** 2) / 8));
  const win = smooth(g, (i, j) => Math.exp(-((i - 2) ** 2 + (j - 2.2) ** 2) / 3));
  const where0 = [0.45, 0.13, -0.08];
  const weights = tf.randomUniform([size, size], 0, 1, "float32", 3);
  const wg = tf.randomUniform([g, g], 0, 1, "float32", 4);
  // Scalar losses in float64 on the host for the finite differences.
  const lossOf = (f: () => tf.Tensor, wts: tf.Tensor) => tf.tidy(() => f().mul(wts).sum().dataSync()[0]);
  const cases: [string, (pose: tf.Tensor2D, x: tf.Tensor3D) => tf.Tensor, number[][], tf.Tensor][] = [
    ["write", (pose, x) => writeWindow(x, pose, size), win, weights],
    ["read", (pose, x) => glimpse(x, pose, g), img, wg],
  ];
  for (const [name, f, input, wts] of cases) {
    const x0 = tf.tensor3d([input]);
    const pose0 = tf.tensor2d([where0]);
    const [dPose, dX] = tf.grads((p: tf.Tensor, x: tf.Tensor) =>
      f(p as tf.Tensor2D, x as tf.Tensor3D).mul(wts).sum()
    )([pose0, x0]).map((t) => t.dataSync());
    const eps = 1e-3;
    for (let k = 0; k < 3; k++) {
      const shifted = (d: number) => {
        const p = [...where0];
        p[k] += d;
        return lossOf(() => f(tf.tensor2d([p]), x0), wts);
      };
      const fd = (shifted(eps) - shifted(-eps)) / (2 * eps);
      assert.ok(
        Math.abs(fd - dPose[k]) < 2e-2 * Math.max(1, Math.abs(fd)),
        `${name} d/dpose[${k}]: ${dPose[k]} vs ${fd}`,
      );
    }
    // The function is linear in the image: the gradient is exact for any step.
    const flat = input.flat();
    for (const idx of [0, 7, Math.floor(flat.length / 2)]) {
      const bumped = [...flat];
      bumped[idx] += 1;
      const n = input.length;
      const xb = tf.tensor3d(bumped, [1, n, n]);
      const fd = lossOf(() => f(pose0, xb), wts) - lossOf(() => f(pose0, x0), wts);
      assert.ok(Math.abs(fd - dX[idx]) < 1e-3, `${name} d/dx[${idx}]: ${dX[idx]} vs ${fd}`);
      xb.dispose();
    }
    x0.dispose();
    pose0.dispose();
  }
  weights.dispose();
  wg.dispose();
});

Deno.test("the sparse bilinear op equals the dense sampling-matrix products, values and gradients", () => {
  tf.tidy(() => {
    const B = 3, R = 9, n = 6, m = 7;
    const src = tf.randomNormal([B, R, R], 0, 1, "float32", 1) as tf.Tensor3D;
    // Coordinates inside, on and beyond the edges, and on integer taps.
    const u = tf.tensor2d([[-1.5, -0.3, 0, 2.5, 7.99, 8.4], [1, 2, 3, 4, 5, 6], [
      0.5,
      3.3,
      6.7,
      8,
      9.2,
      -0.9,
    ]]);
    const v = tf.tensor2d([[0.2, 1.7, 4, 5.5, 7.1, 8, 8.6], [-0.5, 0, 2.2, 3, 4.4, 6.6, 9.5], [
      3,
      3,
      3,
      3.5,
      4,
      4.5,
      5,
    ]]);
    const tent = (c: tf.Tensor2D) =>
      tf.relu(tf.sub(1, tf.abs(tf.sub(c.expandDims(2), tf.range(0, R).reshape([1, 1, R]))))) as tf.Tensor3D;
    const dense = (s: tf.Tensor3D, uu: tf.Tensor2D, vv: tf.Tensor2D) =>
      tf.matMul(tf.matMul(tent(uu), s), tf.transpose(tent(vv), [0, 2, 1]));
    const w = tf.randomNormal([B, n, m], 0, 1, "float32", 2);
    const a = bilinear(src, u, v).dataSync(), b = dense(src, u, v).dataSync();
    a.forEach((x, i) => assert.ok(Math.abs(x - b[i]) < 1e-5, `value ${i}`));
    const f = (fn: typeof dense) =>
      tf.grads((s: tf.Tensor, uu: tf.Tensor, vv: tf.Tensor) =>
        fn(s as tf.Tensor3D, uu as tf.Tensor2D, vv as tf.Tensor2D).mul(w).sum()
      )([src, u, v]).map((t) => Array.from(t.dataSync()));
    const [gs, gu, gv] = f(bilinear), [hs, hu, hv] = f(dense);
    gs.forEach((x, i) => assert.ok(Math.abs(x - hs[i]) < 1e-4, `d src ${i}`));
    // Coordinates on integer taps are kinks of the tent: the two sides' slopes differ there, so compare off the kinks.
    const uHost = u.dataSync(), vHost = v.dataSync();
    gu.forEach((x, i) =>
      Number.isInteger(uHost[i]) || assert.ok(Math.abs(x - hu[i]) < 1e-4, `d u ${i}: ${x} vs ${hu[i]}`)
    );
    gv.forEach((x, i) =>
      Number.isInteger(vHost[i]) || assert.ok(Math.abs(x - hv[i]) < 1e-4, `d v ${i}: ${x} vs ${hv[i]}`)
    );
  });
});
