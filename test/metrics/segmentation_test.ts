import assert from "node:assert/strict";
import {
  adjustedRandIndex,
  argmaxMasks,
  batchMaskScores,
  contingency,
  maskScores,
  segmentationScores,
} from "../../lib/metrics/segmentation.ts";
import { Rng } from "../../lib/core/random.ts";

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

/** The textbook (Hubert & Arabie) ARI by explicit pair counting, with sklearn's 1.0 special case. */
function bruteAri(a: number[], b: number[]): number {
  const n = a.length;
  let both = 0, sameA = 0, sameB = 0, disagree = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const sa = a[i] === a[j], sb = b[i] === b[j];
      if (sa && sb) both++;
      if (sa) sameA++;
      if (sb) sameB++;
      if (sa !== sb) disagree++;
    }
  }
  if (disagree === 0) return 1;
  const pairs = n * (n - 1) / 2;
  const expected = sameA * sameB / pairs;
  return (both - expected) / ((sameA + sameB) / 2 - expected);
}

/** Covering straight from App. C: per true object, max IOU over predicted regions, as sets. */
function bruteCovering(truth: number[], pred: number[]): { sc: number; msc: number } {
  const objects = [...new Set(truth.filter((v) => v !== 0))];
  const regions = [...new Set(pred)];
  let mean = 0, weighted = 0, area = 0;
  for (const o of objects) {
    const R = truth.map((v) => v === o);
    let best = 0;
    for (const r of regions) {
      const Rp = pred.map((v) => v === r);
      const inter = R.filter((v, p) => v && Rp[p]).length;
      const union = R.filter((v, p) => v || Rp[p]).length;
      best = Math.max(best, inter / union);
    }
    const size = R.filter(Boolean).length;
    mean += best;
    weighted += size * best;
    area += size;
  }
  return { sc: area ? weighted / area : 0, msc: objects.length ? mean / objects.length : 0 };
}

Deno.test("ARI: scikit-learn's documented values and edge cases", () => {
  close(adjustedRandIndex([0, 0, 1, 1], [0, 0, 1, 1]), 1);
  close(adjustedRandIndex([0, 0, 1, 1], [1, 1, 0, 0]), 1);
  close(adjustedRandIndex([0, 0, 1, 2], [0, 0, 1, 1]), 0.5714285714285715);
  close(adjustedRandIndex([0, 0, 1, 1], [0, 0, 1, 2]), 0.5714285714285715);
  close(adjustedRandIndex([0, 0, 0, 0], [0, 1, 2, 3]), 0);
  close(adjustedRandIndex([0, 0, 1, 1], [0, 1, 0, 1]), -0.5);
  // Single cluster on both sides, all singletons on both sides, one pixel, no pixels: 1.0.
  assert.equal(adjustedRandIndex([3, 3, 3], [7, 7, 7]), 1);
  assert.equal(adjustedRandIndex([0, 1, 2], [2, 0, 1]), 1);
  assert.equal(adjustedRandIndex([4], [0]), 1);
  assert.equal(adjustedRandIndex([], []), 1);
});

Deno.test("ARI agrees with explicit pair counting on random labelings", () => {
  const rng = new Rng(3);
  for (let trial = 0; trial < 60; trial++) {
    const n = rng.int(1, 40), ka = rng.int(1, 4), kb = rng.int(1, 5);
    const a = Array.from({ length: n }, () => rng.int(0, ka - 1));
    const b = Array.from({ length: n }, () => rng.int(0, kb - 1));
    close(adjustedRandIndex(a, b), bruteAri(a, b), 1e-10);
    close(adjustedRandIndex(a, b), adjustedRandIndex(b, a), 1e-12); // symmetric
  }
});

Deno.test("labels: bad values and mismatched lengths are clear errors", () => {
  assert.throws(() => adjustedRandIndex([0, 1], [0]), /truth has 2 pixels but pred has 1/);
  assert.throws(() => adjustedRandIndex([0, -1], [0, 0]), /truth\[1\] must be a non-negative integer/);
  assert.throws(() => adjustedRandIndex([0, 1], [0, 0.5]), /pred\[1\] must be a non-negative integer/);
  assert.throws(() => argmaxMasks([0.1, 0.2, 0.3], 2), /not a multiple of k = 2/);
  assert.throws(() => maskScores([0, 1], [0.1, 0.2, 0.3], 2), /k × pixels = 2 × 2/);
  assert.throws(() => batchMaskScores([0, 1, 1], [0, 1], { n: 2, k: 1 }), /not n = 2 images/);
});

Deno.test("argmax over soft masks: per pixel, ties go to the lowest index", () => {
  // Masks [K=3, P=4], mask-major.
  const masks = [
    [0.2, 0.5, 0.3, 0.4],
    [0.7, 0.5, 0.3, 0.1],
    [0.1, 0.0, 0.4, 0.5],
  ].flat();
  assert.deepEqual([...argmaxMasks(masks, 3)], [1, 0, 2, 2]);
  assert.deepEqual([...argmaxMasks([0.5, 0.5, 0.5, 0.5], 2)], [0, 0]);
  assert.deepEqual([...contingency([0, 0, 1], [1, 1, 0]).counts], [0, 2, 1, 0]);
});

// A 1-D "image": background 0, object 1 on pixels 2..5, object 2 on pixels 8..9.
const TRUTH = [0, 0, 1, 1, 1, 1, 0, 0, 2, 2];

Deno.test("perfect split and permuted labels score 1 everywhere", () => {
  const s = segmentationScores(TRUTH, [4, 4, 0, 0, 0, 0, 4, 4, 3, 3]);
  assert.deepEqual(s, { ari: 1, fgAri: 1, sc: 1, msc: 1 });
});

Deno.test("merge: two objects in one region lose on fg-ARI and covering", () => {
  const s = segmentationScores(TRUTH, [0, 0, 1, 1, 1, 1, 0, 0, 1, 1]);
  close(s.fgAri, bruteAri([1, 1, 1, 1, 2, 2], [1, 1, 1, 1, 1, 1]));
  assert.equal(s.fgAri, 0); // one predicted cluster over the foreground
  // Object 1: IOU 4/6; object 2: IOU 2/6.
  close(s.msc, (4 / 6 + 2 / 6) / 2);
  close(s.sc, (4 * 4 / 6 + 2 * 2 / 6) / 6);
});

Deno.test("over-segmentation: halving an object costs covering (IOU ½)", () => {
  const s = segmentationScores(TRUTH, [0, 0, 1, 1, 3, 3, 0, 0, 2, 2]);
  close(s.msc, (0.5 + 1) / 2);
  close(s.sc, (4 * 0.5 + 2 * 1) / 6);
  close(s.fgAri, bruteAri([1, 1, 1, 1, 2, 2], [1, 1, 3, 3, 2, 2]));
  assert.ok(s.fgAri < 1);
});

Deno.test("the Fig. 13 point: spill onto the background leaves fg-ARI at 1, covering drops", () => {
  // Object 1's region also takes every background pixel: the foreground is still split perfectly.
  const s = segmentationScores(TRUTH, [1, 1, 1, 1, 1, 1, 1, 1, 2, 2]);
  assert.equal(s.fgAri, 1);
  close(s.msc, (4 / 8 + 1) / 2); // object 1: IOU 4/8 — its region's background pixels enlarge the union
  assert.ok(s.ari < 1);
});

Deno.test("empty foreground: mSC = SC = 0 (official code), fg-ARI = 1 (no pixels)", () => {
  const s = segmentationScores([0, 0, 0, 0], [0, 1, 1, 2]);
  assert.equal(s.msc, 0);
  assert.equal(s.sc, 0);
  assert.equal(s.fgAri, 1);
});

Deno.test("covering and fg-ARI agree with the set definitions on random segmentations", () => {
  const rng = new Rng(11);
  for (let trial = 0; trial < 40; trial++) {
    const P = rng.int(5, 64), objects = rng.int(0, 3), K = rng.int(1, 5);
    const truth = Array.from({ length: P }, () => rng.int(0, objects));
    const pred = Array.from({ length: P }, () => rng.int(0, K - 1));
    const s = segmentationScores(truth, pred);
    const ref = bruteCovering(truth, pred);
    close(s.sc, ref.sc, 1e-12);
    close(s.msc, ref.msc, 1e-12);
    const fg = truth.map((v, p) => [v, pred[p]]).filter(([v]) => v !== 0);
    close(s.fgAri, bruteAri(fg.map((p) => p[0]), fg.map((p) => p[1])), 1e-10);
    close(s.ari, bruteAri(truth, pred), 1e-10);
  }
});

Deno.test("soft-mask scores equal hard-label scores; the batch is the mean over images", () => {
  const rng = new Rng(5);
  const n = 6, K = 4, P = 50;
  const truth = new Int32Array(n * P).map(() => rng.int(0, 2));
  const masks = new Float32Array(n * K * P).map(() => rng.uniform());
  const batch = batchMaskScores(truth, masks, { n, k: K });
  const mean = { ari: 0, fgAri: 0, sc: 0, msc: 0 };
  for (let b = 0; b < n; b++) {
    const t = truth.subarray(b * P, (b + 1) * P), m = masks.subarray(b * K * P, (b + 1) * K * P);
    const hard = segmentationScores(t, argmaxMasks(m, K));
    assert.deepEqual(maskScores(t, m, K), hard);
    assert.deepEqual(batch.perImage[b], hard);
    for (const k of ["ari", "fgAri", "sc", "msc"] as const) mean[k] += hard[k] / n;
  }
  for (const k of ["ari", "fgAri", "sc", "msc"] as const) close(batch[k], mean[k], 1e-12);
  // Plain arrays work the same as typed arrays.
  assert.deepEqual(batchMaskScores([...truth], [...masks], { n, k: K }).perImage, batch.perImage);
});
