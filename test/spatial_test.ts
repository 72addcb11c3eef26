import assert from "node:assert/strict";
import { initTf, tf } from "../lib/tf.ts";
import { glimpse, glimpseHost, samplingMatrix } from "../lib/spatial.ts";

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
