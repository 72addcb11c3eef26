import { StepTrace, trainWithinBudget } from "../../lib/nn/loop.ts";
import { initTf, liveTensors, tf } from "../../lib/core/tf.ts";
import { AdamW, HostAdam } from "../../lib/nn/adam.ts";
import { assignValues, Params } from "../../lib/nn/params.ts";
import { BestCheckpoint } from "../../lib/nn/best_checkpoint.ts";
import { cosineLr } from "../../lib/nn/schedule.ts";
import { lstmCell } from "../../lib/nn/lstm.ts";
import { Rng } from "../../lib/core/random.ts";
import assert from "node:assert/strict";

await initTf();

Deno.test("params: same seed → same weights; biases start at zero", () => {
  const a = new Params(new Rng(1)), b = new Params(new Rng(1));
  const da = a.dense("fc", 5, 3), db = b.dense("fc", 5, 3);
  assert.deepEqual(da.w.dataSync(), db.w.dataSync());
  assert.deepEqual(Array.from(da.b.dataSync()), [0, 0, 0]);
  assert.equal(a.count(), 18);
  assert.deepEqual(a.summary(), [
    { parameter: "fc.w", shape: "5 × 3", count: 15 },
    { parameter: "fc.b", shape: "3", count: 3 },
  ]);
  assert.throws(() => a.dense("fc", 1, 1), /defined twice/);
  a.dispose();
  b.dispose();
});

Deno.test("AdamW decays weights but not biases; zero gradient leaves w·(1 − ηλ)", async () => {
  const p = new Params(new Rng(2));
  const w = p.normal("w", [3], 1), bias = p.normal("b", [3], 1, false);
  const w0 = Array.from(w.dataSync()), b0 = Array.from(bias.dataSync());
  const opt = new AdamW(p, { lr: 0.1, weightDecay: 0.5 });
  await opt.step(() => tf.mul(tf.add(w.sum(), bias.sum()), 0) as tf.Scalar); // zero gradient: Adam moves nothing
  w.dataSync().forEach((v, i) => assert.ok(Math.abs(v - w0[i] * 0.95) < 1e-6));
  assert.deepEqual(Array.from(bias.dataSync()), b0);
  assert.throws(() => new AdamW(p, { lr: 0 }), /lr must be > 0/);
  assert.throws(() => new AdamW(p, { lr: 1, weightDecay: -1 }), /weightDecay/);
  opt.dispose();
  p.dispose();
});

Deno.test("best checkpoint restores the best parameters; cosine schedule shape", async () => {
  const p = new Params(new Rng(3));
  const v = p.zeros("v", [2]);
  const best = new BestCheckpoint(p);
  v.assign(tf.tensor1d([1, 2]));
  assert.ok(await best.offer(0.5, 1));
  v.assign(tf.tensor1d([7, 7]));
  assert.ok(!(await best.offer(0.9, 2)));
  best.restore();
  assert.deepEqual(Array.from(v.dataSync()), [1, 2]);
  assert.equal(best.bestEpoch, 1);
  p.dispose();
  assert.equal(cosineLr(0, 100, 1, 10), 0.1);
  assert.ok(Math.abs(cosineLr(10, 100, 1, 10) - 1) < 1e-9);
  assert.ok(Math.abs(cosineLr(100, 100, 1, 10, 0.02) - 0.02) < 1e-9);
});

Deno.test("host Adam makes the same updates as tfjs's Adam", () => {
  const a = tf.variable(tf.tensor2d([[0.5, -1], [2, 0.1]]), true, "hostadam_a");
  const b = tf.variable(tf.tensor2d([[0.5, -1], [2, 0.1]]), true, "hostadam_b");
  const host = new HostAdam([a], 0.05);
  const ref = tf.train.adam(0.05);
  const loss = (w: tf.Variable) => () =>
    tf.sum(tf.mul(tf.square(tf.sub(w, 0.3)), tf.tensor2d([[1, 2], [3, 4]]))) as tf.Scalar;
  for (let k = 0; k < 5; k++) {
    const g = tf.variableGrads(loss(a), [a]);
    host.apply(g.grads);
    tf.dispose(g.grads);
    g.value.dispose();
    ref.minimize(loss(b), false, [b]);
  }
  const x = a.dataSync(), y = b.dataSync();
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(x[i] - y[i]) < 1e-5, `${x[i]} vs ${y[i]}`);
  assert.ok(Math.abs(x[0] - 0.5) > 0.1, "the weights moved");
  assert.throws(() => new HostAdam([a], 0), /lr must be > 0/);
  ref.dispose();
  a.dispose();
  b.dispose();
});

Deno.test("trainWithinBudget: stops at the step limit, passes progress by steps, evaluates at 0 only when asked", async () => {
  let steps = 0;
  const progress: number[] = [], evals: number[] = [];
  const hooks = {
    steps: () => steps,
    step: (p: number) => {
      progress.push(p);
      steps++;
    },
    evaluate: (s: number) => evals.push(s),
  };
  const s = await trainWithinBudget({ budgetS: 1e6, maxSteps: 4, evalEveryS: 1e6 }, hooks);
  assert.deepEqual(progress, [0, 0.25, 0.5, 0.75]);
  assert.deepEqual(evals, [0], "one evaluation, at the start");
  assert.ok(s >= 0 && s < 5);
  steps = 0;
  evals.length = 0;
  await trainWithinBudget({ budgetS: 1e6, maxSteps: 3, evalEveryS: 0 }, hooks);
  assert.equal(steps, 3);
  assert.deepEqual(evals, [], "evalEveryS 0: none during training");
  // A step-limited run whose steps take longer than the evaluation interval still evaluates only at
  // the start (a clock-driven schedule would not repeat); a time-limited one evaluates as the clock says.
  const slow = (limits: { budgetS: number; maxSteps: number }) => {
    steps = 0;
    evals.length = 0;
    return trainWithinBudget({ ...limits, evalEveryS: 0.001 }, {
      ...hooks,
      step: () => {
        const t = performance.now();
        while (performance.now() - t < 3) { /* a 3-ms step */ }
        steps++;
      },
    });
  };
  await slow({ budgetS: 1e6, maxSteps: 5 });
  assert.deepEqual(evals, [0]);
  await slow({ budgetS: 0.1, maxSteps: 0 }); // ≈ 30 steps: a few even on a loaded machine
  assert.ok(evals.length >= 3, `time-limited: ${evals.length} evaluations`);
});

Deno.test("lstmCell: c ← σ(f)c + σ(i)tanh(g), h ← σ(o)tanh(c)", () => {
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  const [h, c] = lstmCell(tf.tensor2d([[0.3, -0.5, 0.7, 1.1]]), tf.tensor2d([[0.2]]));
  const cExp = sig(-0.5) * 0.2 + sig(0.3) * Math.tanh(0.7);
  assert.ok(Math.abs(c.dataSync()[0] - cExp) < 1e-6);
  assert.ok(Math.abs(h.dataSync()[0] - sig(1.1) * Math.tanh(cExp)) < 1e-6);
});

Deno.test("params: creating, setting and disposing variables leaves no live tensor", () => {
  const before = liveTensors();
  const p = new Params(new Rng(1));
  const layer = p.dense("layer", 3, 2);
  assert.equal(liveTensors(), before + 2, "one tensor per variable");
  assignValues(layer.b, [5, 6]);
  assert.deepEqual(Array.from(layer.b.dataSync()), [5, 6]);
  assert.equal(liveTensors(), before + 2, "setting values leaves no tensor behind");
  assert.throws(() => assignValues(layer.b, [1, 2, 3]), /layer\.b_\d+: expected 2 values, got 3/);
  // normalTransposed stores the transpose of what normal would draw from the same stream.
  const w = new Params(new Rng(2)).normal("w", [2, 3], 1),
    wT = new Params(new Rng(2)).normalTransposed("w", [2, 3], 1);
  assert.deepEqual(wT.shape, [3, 2]);
  const transposed = tf.transpose(w);
  assert.deepEqual(Array.from(wT.dataSync()), Array.from(transposed.dataSync()));
  tf.dispose([w, wT, transposed]);
  p.dispose();
  assert.equal(liveTensors(), before);
});

Deno.test("StepTrace keeps step 1, every k-th step and always the last", () => {
  const trace = new StepTrace<[number, number]>(10);
  for (let s = 1; s <= 25; s++) trace.offer([s, s * 2]);
  assert.deepEqual(trace.rows, [[1, 2], [10, 20], [20, 40], [25, 50]]);
  const short = new StepTrace<[number]>(10);
  for (let s = 1; s <= 3; s++) short.offer([s]);
  assert.deepEqual(short.rows, [[1], [3]]); // a quick run still draws a line
  const exact = new StepTrace<[number]>(10);
  for (let s = 1; s <= 20; s++) exact.offer([s]);
  assert.deepEqual(exact.rows, [[1], [10], [20]]);
});
