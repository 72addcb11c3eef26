import assert from "node:assert/strict";
import {
  assertNoLeak,
  initCliBackend,
  initTf,
  liveTensors,
  readsSync,
  stopGradient,
  tf,
  toArray,
} from "../../lib/core/tf.ts";

Deno.test("initTf selects wasm and computes", async () => {
  const info = await initTf();
  assert.equal(info.backend, "wasm");
  assert.equal(info.notice, null);
  const { data, shape } = await toArray(tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])));
  assert.deepEqual(shape, [1, 1]);
  assert.equal(data[0], 11);
});

Deno.test("initTf can select cpu explicitly, with no notice, and switch back", async () => {
  assert.deepEqual(await initTf("cpu"), { backend: "cpu", adapter: null, notice: null });
  assert.equal((await initTf()).backend, "wasm");
});

Deno.test("initTf rejects an unknown backend name, naming where it came from", async () => {
  await assert.rejects(
    () => initTf("gpu" as "cpu"),
    /backend must be one of wasm, webgpu, cpu, auto, got "gpu"/,
  );
  await assert.rejects(
    () => initCliBackend("gqn", "gpu"),
    /--backend must be one of wasm, webgpu, cpu, auto/,
  );
  const before = Deno.env.get("TFJS_BACKEND");
  Deno.env.set("TFJS_BACKEND", "cuda");
  try {
    await assert.rejects(() => initTf(), /TFJS_BACKEND must be one of wasm, webgpu, cpu, auto, got "cuda"/);
  } finally {
    if (before === undefined) Deno.env.delete("TFJS_BACKEND");
    else Deno.env.set("TFJS_BACKEND", before);
  }
  assert.equal((await initTf("wasm")).backend, "wasm");
});

Deno.test("assertNoLeak catches a leaked tensor and passes a tidy step", async () => {
  await initTf();
  await assertNoLeak(() => tf.tidy(() => tf.square(tf.ones([4])).sum()).dispose());
  const base = liveTensors();
  let kept: tf.Tensor | undefined;
  await assert.rejects(() => assertNoLeak(() => (kept = tf.ones([2]))), /tensor leak: 1/);
  kept?.dispose();
  assert.equal(liveTensors(), base);
});

Deno.test("stopGradient passes values and no gradient; wasm and cpu read synchronously", async () => {
  await initTf("wasm");
  assert.equal(readsSync(), true);
  const x = tf.tensor1d([1, 2, 3]);
  // d/dx Σ (x² + stop(x)²) = 2x: the stopped copy is a constant.
  const g = tf.grad((v: tf.Tensor) => tf.add(tf.square(v), tf.square(stopGradient(v))).sum())(x);
  assert.deepEqual(Array.from(await g.data()), [2, 4, 6]);
  assert.deepEqual(Array.from(await stopGradient(x).data()), [1, 2, 3]);
  tf.dispose([x, g]);
});
