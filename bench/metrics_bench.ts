/**
 * Segmentation-metric throughput on one thread: fg-ARI, ARI, SC and mSC together (one
 * contingency table per image) for 64×64 images scored against K = 5 soft masks.
 * Prints progress on stderr and, as its last stdout line, one JSON object.
 *
 *   deno task bench:metrics [-- --size 64 --k 5 --seconds 3]
 */
import { maskScores } from "../lib/metrics/segmentation.ts";
import { Rng } from "../lib/core/random.ts";
import { cliFlags, runCli } from "../lib/core/flags.ts";

const { size, k, seconds, seed } = await runCli(
  "bench:metrics",
  () =>
    cliFlags(import.meta.url, { size: 64, k: 5, seconds: 3, seed: 0 }, Deno.args, {
      size: { int: true, min: 2, max: 1024 },
      k: { int: true, min: 2, max: 64 },
      seconds: { min: 0.01, max: 3600 },
      seed: { int: true },
    }),
);
const P = size * size, pool = 64, rng = new Rng(seed);
// A pool of images: 1–4 rectangular objects over a background, and K soft masks shaped like a mask
// decoder's output: softmax over k of smooth logits (a few random low-frequency waves per mask) plus
// a bonus of 3 where the mask's assigned object is, so the tables are realistic, not uniform.
const truths: Int32Array[] = [], masks: Float32Array[] = [];
for (let i = 0; i < pool; i++) {
  const t = new Int32Array(P);
  const n = rng.int(1, 4);
  for (let o = 1; o <= n; o++) {
    const w = rng.int(size >> 3, (size / 3) | 0), h = rng.int(size >> 3, (size / 3) | 0);
    const x0 = rng.int(0, size - w), y0 = rng.int(0, size - h);
    for (let y = y0; y < y0 + h; y++) t.fill(o, y * size + x0, y * size + x0 + w);
  }
  const waves = Array.from({ length: k * 3 }, () => ({
    fx: rng.uniform(0, 0.3),
    fy: rng.uniform(0, 0.3),
    phase: rng.uniform(0, 2 * Math.PI),
  }));
  const slotOf = (o: number) => o % k; // object o's mask (background → mask 0)
  const m = new Float32Array(k * P);
  for (let p = 0; p < P; p++) {
    const x = p % size, y = Math.floor(p / size);
    let sum = 0;
    for (let j = 0; j < k; j++) {
      let logit = slotOf(t[p]) === j ? 3 : 0;
      for (let q = 0; q < 3; q++) {
        const wv = waves[j * 3 + q];
        logit += Math.sin(wv.fx * x + wv.fy * y + wv.phase);
      }
      const v = Math.exp(logit);
      m[j * P + p] = v;
      sum += v;
    }
    for (let j = 0; j < k; j++) m[j * P + p] /= sum;
  }
  truths.push(t);
  masks.push(m);
}
let images = 0, check = 0;
for (let i = 0; i < pool; i++) check += maskScores(truths[i], masks[i], k).fgAri; // warm-up
const t0 = performance.now();
while (performance.now() - t0 < seconds * 1000) {
  for (let i = 0; i < pool; i++) check += maskScores(truths[i], masks[i], k).msc;
  images += pool;
}
const rate = images / ((performance.now() - t0) / 1000);
console.error(
  `[bench:metrics] ${images} images in ${seconds} s: ${Math.round(rate)} images/s (checksum ${
    check.toFixed(3)
  })`,
);
console.log(JSON.stringify({
  images_per_s: Math.round(rate),
  image_size: size,
  k,
  scores: ["ari", "fg_ari", "sc", "msc"],
  threads: 1,
  env: { deno: Deno.version.deno, v8: Deno.version.v8, os: Deno.build.os, arch: Deno.build.arch },
}));
