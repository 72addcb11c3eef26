import assert from "node:assert/strict";
import { initTf, tf } from "../../lib/core/tf.ts";
import { conv2dFilterGrad, conv2dInputGrad, matMulGrad } from "../../lib/core/wasm_grads.ts";

await initTf();

/** Reference gradients from tfjs's own kernels on the cpu backend. */
async function reference<T>(fn: () => T): Promise<T> {
  const prev = tf.getBackend();
  await tf.setBackend("cpu");
  try {
    return fn();
  } finally {
    await tf.setBackend(prev);
  }
}

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-3) {
  assert.equal(a.length, b.length);
  let worst = 0, scale = 1e-6;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  assert.ok(worst / scale < tol, `max |Δ| ${worst} vs scale ${scale}`);
}

const CASES: [number, number, number, number, number, number, "same" | "valid"][] = [
  // batch, size, cin, cout, kernel, stride, pad
  [2, 9, 3, 4, 3, 1, "same"],
  [2, 9, 3, 4, 3, 2, "same"],
  [3, 10, 2, 5, 4, 3, "same"],
  [2, 8, 3, 2, 2, 2, "valid"],
  [1, 7, 2, 3, 5, 1, "valid"],
  [2, 11, 1, 4, 5, 2, "valid"],
];

Deno.test("conv filter and input gradients equal tfjs's kernels (cpu backend)", async () => {
  for (const [b, h, cin, cout, k, s, pad] of CASES) {
    const xs = Float32Array.from({ length: b * h * h * cin }, (_, i) => Math.sin(i * 0.37));
    const ws = Float32Array.from({ length: k * k * cin * cout }, (_, i) => Math.cos(i * 0.91));
    const outShape = tf.tidy(() =>
      tf.conv2d(tf.tensor4d(xs, [b, h, h, cin]), tf.tensor4d(ws, [k, k, cin, cout]), s, pad).shape
    );
    const dys = Float32Array.from(
      { length: outShape.reduce((p, q) => p * q, 1) },
      (_, i) => Math.sin(i * 1.3),
    );
    const ours = tf.tidy(() => {
      const x = tf.tensor4d(xs, [b, h, h, cin]), w = tf.tensor4d(ws, [k, k, cin, cout]);
      const dy = tf.tensor4d(dys, outShape as [number, number, number, number]);
      return [
        conv2dFilterGrad(x, dy, [k, k, cin, cout], s, pad).dataSync(),
        conv2dInputGrad(x.shape, dy, w, s, pad).dataSync(),
      ];
    });
    const ref = await reference(() =>
      tf.tidy(() => {
        const x = tf.tensor4d(xs, [b, h, h, cin]), w = tf.tensor4d(ws, [k, k, cin, cout]);
        const dy = tf.tensor4d(dys, outShape as [number, number, number, number]);
        // tfjs's own kernels, called directly (the registered gradient is ours on every backend).
        const dw = tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, {
          strides: s,
          pad,
          dataFormat: "NHWC",
          filterShape: [k, k, cin, cout],
        }) as tf.Tensor;
        return [dw.dataSync(), tf.conv2dTranspose(dy, w, x.shape, s, pad).dataSync()];
      })
    );
    close(ours[0], ref[0]);
    close(ours[1], ref[1]);
  }
});

Deno.test("matMul gradients (all transpose flags, batched and broadcast) equal the flagged products", () => {
  const t = (shape: number[], seed: number) =>
    tf.tensor(
      Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * seed)),
      shape,
    );
  tf.tidy(() => {
    for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]]) {
      const a = t(ta ? [2, 4, 3] : [2, 3, 4], 0.7),
        b = t(tb ? [2, 5, 4] : [2, 4, 5], 1.1),
        dy = t([2, 3, 5], 0.3);
      // Reference: dA = dY·op(B)ᵀ then transposed back if A was; likewise dB.
      const daRef = ta ? tf.matMul(tb ? b : b, dy, tb, true) : tf.matMul(dy, b, false, !tb);
      const dbRef = tb ? tf.matMul(dy, a, true, ta) : tf.matMul(a, dy, !ta, false);
      close(matMulGrad("a", a, b, dy, ta, tb).dataSync(), daRef.dataSync(), 1e-5);
      close(matMulGrad("b", a, b, dy, ta, tb).dataSync(), dbRef.dataSync(), 1e-5);
    }
    // A weight much larger than the batch (∂A takes the (B·∂Yᵀ)ᵀ route).
    const x = t([2, 40], 0.4), big = t([40, 30], 0.6), dBig = t([2, 30], 0.8);
    close(
      matMulGrad("a", x, big, dBig, false, false).dataSync(),
      tf.matMul(dBig, big, false, true).dataSync(),
      1e-5,
    );
    // Broadcast: [3, 4] weights shared over a batch of 2 → gradient summed over the batch.
    const a = t([2, 5, 3], 0.2), w = t([3, 4], 0.5), dy = t([2, 5, 4], 0.9);
    const dw = matMulGrad("b", a, w, dy, false, false);
    assert.deepEqual(dw.shape, [3, 4]);
    close(dw.dataSync(), tf.matMul(a.reshape([10, 3]), dy.reshape([10, 4]), true, false).dataSync(), 1e-5);
  });
});

Deno.test("a conv net trains on wasm: gradients flow to every filter and leave no tensors", () => {
  const w1 = tf.variable(tf.randomNormal([3, 3, 1, 4], 0, 0.3, "float32", 1));
  const w2 = tf.variable(tf.randomNormal([3, 3, 4, 2], 0, 0.3, "float32", 2));
  const x = tf.randomNormal([2, 8, 8, 1], 0, 1, "float32", 3) as tf.Tensor4D;
  const before = tf.memory().numTensors;
  const { value, grads } = tf.variableGrads(() =>
    tf.conv2d(tf.relu(tf.conv2d(x, w1 as tf.Tensor4D, 2, "same")), w2 as tf.Tensor4D, 1, "same").square()
      .mean() as tf.Scalar
  );
  assert.ok(Number.isFinite(value.dataSync()[0]));
  for (const g of Object.values(grads)) assert.ok(tf.tidy(() => tf.abs(g).sum().dataSync()[0]) > 0);
  tf.dispose([value, ...Object.values(grads)]);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([w1, w2, x]);
});
