/**
 * Convolution and matMul gradients on tfjs's wasm backend, before and after `lib/core/wasm_grads.ts`.
 *
 * "Before" is what stock tfjs offers: wasm has no Conv2DBackpropFilter kernel at all, so a conv
 * net's weight gradients must fall back to the cpu backend's kernels; its Conv2DBackpropInput is a
 * plain loop; and its matMul gradient multiplies with transpose flags (slow on wasm). "After" is
 * the gradients this project registers. Shapes are the AIR-3D conv model's layers at batch 64.
 * Progress on stderr; the last stdout line is one JSON object of milliseconds per call (best of N).
 *
 *   deno task bench:conv [-- --repeats 5]
 */
import { initTf, tf } from "../lib/core/tf.ts";
import { conv2dFilterGrad, conv2dInputGrad, matMulGrad } from "../lib/core/wasm_grads.ts";
import { cliFlags, runCli } from "../lib/core/flags.ts";

const { repeats } = await runCli(
  "bench:conv",
  () => cliFlags(import.meta.url, { repeats: 5 }, Deno.args, { repeats: { int: true, min: 1, max: 1000 } }),
);
await initTf();

function best(fn: () => tf.Tensor, times = repeats): number {
  let b = Infinity;
  for (let r = 0; r < times + 1; r++) {
    const t0 = performance.now();
    tf.tidy(() => void fn().dataSync());
    if (r > 0 || times === 0) b = Math.min(b, performance.now() - t0); // first call warms up
  }
  return b;
}

async function onBackend<T>(name: string, fn: () => T): Promise<T> {
  const prev = tf.getBackend();
  await tf.setBackend(name);
  try {
    return fn();
  } finally {
    await tf.setBackend(prev);
  }
}

// [batch, size, cin, cout, kernel]: stride 1, "same", as in lib/air3d/ (conv.ts, glimpse_reader.ts) (both CNNs, 3 glimpses batched).
const LAYERS: [number, number, number, number, number][] = [
  [64, 16, 4, 32, 3],
  [64, 8, 64, 32, 3],
  [192, 16, 4, 32, 3],
  [192, 8, 64, 32, 3],
];
interface LayerRow {
  layer: string;
  forward_ms: number;
  filter_grad_ms: { before_cpu_kernel: number; after: number };
  input_grad_ms: { before_wasm_kernel: number; after: number };
}
const layers: LayerRow[] = [];
for (const [b, s, cin, cout, k] of LAYERS) {
  const x = tf.randomNormal([b, s, s, cin], 0, 1, "float32", 1) as tf.Tensor4D;
  const w = tf.randomNormal([k, k, cin, cout], 0, 0.1, "float32", 2) as tf.Tensor4D;
  const dy = tf.randomNormal([b, s, s, cout], 0, 1, "float32", 3) as tf.Tensor4D;
  const fs = [k, k, cin, cout] as [number, number, number, number];
  const stockFilter = () =>
    tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, {
      strides: 1,
      pad: "same",
      dataFormat: "NHWC",
      filterShape: fs,
    }) as tf.Tensor;
  const row: LayerRow = {
    layer: `${b}x${s}x${s}x${cin} -> ${cout}, ${k}x${k}`,
    forward_ms: best(() => tf.conv2d(x, w, 1, "same")),
    filter_grad_ms: {
      before_cpu_kernel: await onBackend(
        "cpu",
        () => best(stockFilter, 0),
      ), /* seconds per call: timed once */
      after: best(() => conv2dFilterGrad(x, dy, fs, 1, "same")),
    },
    input_grad_ms: {
      before_wasm_kernel: best(() => tf.conv2dTranspose(dy, w, x.shape, 1, "same")),
      after: best(() => conv2dInputGrad(x.shape, dy, w, 1, "same")),
    },
  };
  console.error(`[bench:conv] ${JSON.stringify(row)}`);
  layers.push(row);
  tf.dispose([x, w, dy]);
}
const a = tf.randomNormal([4096, 128]), bm = tf.randomNormal([128, 64]), dyM = tf.randomNormal([4096, 64]);
const matmul = {
  shape: "[4096,128]·[128,64]",
  forward_ms: best(() => tf.matMul(a, bm)),
  grad_ms: {
    before_flags: best(() =>
      tf.add(tf.matMul(dyM, bm, false, true).sum(), tf.matMul(a, dyM, true, false).sum())
    ),
    after: best(() =>
      tf.add(matMulGrad("a", a, bm, dyM, false, false).sum(), matMulGrad("b", a, bm, dyM, false, false).sum())
    ),
  },
};
console.error(`[bench:conv] ${JSON.stringify(matmul)}`);
const sum = (f: (l: LayerRow) => number) => layers.reduce((s, l) => s + f(l), 0);
const before = sum((l) =>
  l.forward_ms + l.filter_grad_ms.before_cpu_kernel + l.input_grad_ms.before_wasm_kernel
);
const after = sum((l) => l.forward_ms + l.filter_grad_ms.after + l.input_grad_ms.after);
console.log(JSON.stringify({
  backend: tf.getBackend(),
  layers,
  matmul,
  conv_step_ms: { before: before, after, speedup: before / after },
  backward_over_forward: {
    before: (before - sum((l) => l.forward_ms)) / sum((l) => l.forward_ms),
    after: (after - sum((l) => l.forward_ms)) / sum((l) => l.forward_ms),
  },
}));
