import assert from "node:assert/strict";
import { initTf, liveTensors, tf } from "../../lib/core/tf.ts";
import { Rng } from "../../lib/core/random.ts";
import { compositeWeights, Gqn, validateGqnConfig } from "../../lib/gqn/model.ts";
import {
  anneal,
  baselines,
  defaultGqnRunConfig,
  evaluateGqn,
  GqnTrainer,
  predictQueries,
  runGqn,
  sampleVariance,
  sliceBatch,
  trainingMaxContext,
  validateGqnRunConfig,
  withInputs,
} from "../../lib/gqn/train.ts";
import {
  meanTrainingImage,
  type QueryBatch,
  sampleQueryBatch,
  sampleTestSet,
  VIEW_DIM,
} from "../../lib/scenes/views.ts";
import { runScript, tinyGqn } from "../fixtures.ts";

await initTf();
const close = (a: number, b: number, tol = 1e-4) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);
/** A GQN small enough to train in milliseconds per step on 16×16 views. */
const tiny = tinyGqn;
const tinyRun = (o = {}) =>
  defaultGqnRunConfig({
    model: tiny(),
    batchSize: 4,
    maxContext: 3,
    testPerM: 3,
    evalEveryS: 0,
    ...o,
  });

Deno.test("ELBO pass: shapes, KL ≥ 0, ELBO = log-likelihood − KL, same seed → same numbers", () => {
  const model = new Gqn(tiny(), new Rng(0));
  const batch = sampleQueryBatch(new Rng(1), { batch: 3, size: 16, m: 2 });
  const run = () =>
    withInputs(model, batch, (inp) =>
      tf.tidy(() => {
        const p = model.elbo(inp, 0.7, new Rng(5));
        assert.deepEqual(p.mean.shape, [3, 16, 16, 3]);
        assert.deepEqual(p.klLayers.shape, [2]);
        const x = tf.tensor4d(batch.query, [3, 16, 16, 3]);
        const sq = tf.sum(tf.square(tf.sub(x, p.mean)), [1, 2, 3]).arraySync() as number[];
        const ll = sq.map((s) => -s / (2 * 0.49) - 768 * (Math.log(0.7) + 0.5 * Math.log(2 * Math.PI)));
        const elbo = p.elbo.arraySync(), kl = p.kl.arraySync();
        for (let b = 0; b < 3; b++) {
          assert.ok(kl[b] >= -1e-4, `KL ${kl[b]}`);
          close(elbo[b], ll[b] - kl[b], 1e-2);
        }
        close(p.klLayers.sum().dataSync()[0], kl.reduce((a, v) => a + v) / 3, 1e-3);
        return elbo;
      }));
  assert.deepEqual(run(), run());
  model.dispose();
});

Deno.test("the representation is a sum over views: order-free, and adding a view adds its ψ", () => {
  for (const representation of ["tower", "pool"] as const) {
    const model = new Gqn(tiny({ representation }), new Rng(0));
    const batch = sampleQueryBatch(new Rng(2), { batch: 2, size: 16, m: 3 });
    const permuted: QueryBatch = {
      ...batch,
      context: batch.context.slice(),
      contextV: batch.contextV.slice(),
    };
    const px = 16 * 16 * 3, order = [2, 0, 1];
    for (let b = 0; b < 2; b++) {
      order.forEach((k, i) => {
        permuted.context.set(
          batch.context.subarray((b * 3 + k) * px, (b * 3 + k + 1) * px),
          (b * 3 + i) * px,
        );
        permuted.contextV.set(
          batch.contextV.subarray((b * 3 + k) * VIEW_DIM, (b * 3 + k + 1) * VIEW_DIM),
          (b * 3 + i) * VIEW_DIM,
        );
      });
    }
    const r = (q: QueryBatch) =>
      withInputs(model, q, (inp) => tf.tidy(() => model.represent(inp).arraySync()));
    const a = r(batch).flat(3), b = r(permuted).flat(3);
    assert.equal(a.length, 2 * 4 * 4 * 8);
    a.forEach((v, i) => close(v, b[i], 1e-4));
    model.dispose();
  }
});

Deno.test("generation (Algorithm S3) gives images in [0, 1]; the seed fixes the sample", async () => {
  const model = new Gqn(tiny(), new Rng(0));
  const batch = sampleQueryBatch(new Rng(3), { batch: 5, size: 16, m: 2 });
  const a = await predictQueries(model, batch, new Rng(7), 2),
    b = await predictQueries(model, batch, new Rng(7), 2);
  assert.equal(a.length, 5 * 16 * 16 * 3);
  assert.deepEqual(a, b);
  for (const v of a) assert.ok(v >= 0 && v <= 1);
  assert.ok(await sampleVariance(model, batch, 3, new Rng(1)) > 0, "prior samples differ");
  const part = sliceBatch(batch, 1, 3);
  assert.equal(part.b, 2);
  assert.deepEqual(part.query, batch.query.subarray(16 * 16 * 3, 3 * 16 * 16 * 3));
  model.dispose();
});

Deno.test("training: tensor count stays flat across steps, and the loss falls on a fixed batch", async () => {
  const trainer = new GqnTrainer(tinyRun({ lrStart: 3e-3, lrEnd: 3e-3 }));
  const batch = sampleQueryBatch(new Rng(4), { batch: 8, size: 16, m: 2 });
  const noise = new Rng(5);
  const first = await trainer.train(batch, 0.5, noise);
  const after1 = liveTensors();
  let last = first;
  for (let s = 0; s < 40; s++) last = await trainer.train(batch, 0.5, noise);
  assert.equal(liveTensors(), after1, "no tensor is left behind by a step");
  // −ELBO = Σ (x − μ)²/2σ² + KL + D(log σ + ½ log 2π): the part training can change falls by > 40 %.
  const constant = 16 * 16 * 3 * (Math.log(0.2) + 0.5 * Math.log(2 * Math.PI)); // σ = 0.2 at p = 0.5
  assert.ok(last.loss - constant < 0.6 * (first.loss - constant), `−ELBO ${first.loss} → ${last.loss}`);
  assert.equal(last.sigma, anneal(2, 0.2, 0.5, 0.1));
  trainer.dispose();
});

Deno.test("Table S1 annealing, scaled to the run", () => {
  close(anneal(2, 0.7, 0, 0.1), 2);
  close(anneal(2, 0.7, 0.05, 0.1), 1.35);
  close(anneal(2, 0.7, 0.1, 0.1), 0.7);
  close(anneal(2, 0.7, 1, 0.1), 0.7);
  const t = new GqnTrainer(tinyRun());
  close(t.schedule(0.4).lr, 2e-4 + (2e-3 - 2e-4) * 0.5, 1e-12);
  t.dispose();
});

Deno.test("held-out scoring: per-M figures, baselines on the same queries, same seed → same result", async () => {
  const test = sampleTestSet(new Rng(1), 4, { size: 16, minContext: 1, maxContext: 3 });
  const model = new Gqn(tiny(), new Rng(0));
  const ev = await evaluateGqn(model, test, 0.7, new Rng(2));
  assert.deepEqual(ev.byM.map(([m]) => m), [1, 2, 3]);
  close(ev.queryMse, ev.byM.reduce((a, [, v]) => a + v, 0) / 3, 1e-9);
  const base = baselines(test, meanTrainingImage(new Rng(3), 20, { size: 16 }));
  assert.ok(base.nearest > 0 && base.mean > 0);
  model.dispose();
  const strip = (r: Record<string, unknown>) => ({
    ...r,
    train_s: 0,
    images_per_s: 0,
    curve: [],
    live_tensors: null,
  });
  const a = await runGqn(tinyRun({ maxSteps: 3 })), b = await runGqn(tinyRun({ maxSteps: 3 }));
  assert.equal(a.result.steps, 3);
  // Nothing the steps, the evaluation or the object scores make is left behind.
  assert.equal(a.result.live_tensors.at_end, a.result.live_tensors.after_first_step);
  assert.ok(a.result.live_tensors.at_end > 0);
  assert.deepEqual(strip({ ...a.result }), strip({ ...b.result }));
  close(a.result.ratio_to_nearest, a.result.query_mse / a.result.baseline_nearest_mse, 1e-12);
  // The object scores are there, in range, and reproducible (the deepEqual above covers them).
  for (const k of ["object_mse", "baseline_nearest_object_mse", "baseline_mean_object_mse"] as const) {
    assert.ok(a.result[k] > 0 && a.result[k] < 1, `${k} ${a.result[k]}`);
  }
  assert.ok(a.result.colour_hit_rate >= 0 && a.result.colour_hit_rate <= 1);
  assert.ok(a.result.variance_unseen_vs_seen > 0 && a.result.unseen_share > 0 && a.result.unseen_share < 1);
  a.trainer.dispose(), b.trainer.dispose();
});

Deno.test("the epipolar read: the query view follows the context image through it; no read, no model input", () => {
  for (const epipolarDepths of [0, 4]) {
    const model = new Gqn(tiny({ epipolarDepths }), new Rng(0));
    const batch = sampleQueryBatch(new Rng(1), { batch: 2, size: 16, m: 1 });
    withInputs(
      model,
      batch,
      (inputs) =>
        assert.equal(
          inputs.epipolar?.shape.join(","),
          epipolarDepths ? `2,16,16,${4 * model.readFeatures}` : undefined,
        ),
    );
    // The same camera and query, another context image: only the read differs between the two passes.
    const other = { ...batch, context: batch.context.map((v) => 1 - v) };
    const mean = (b: QueryBatch) =>
      withInputs(
        model,
        b,
        (inp) => tf.tidy(() => model.elbo(inp, 0.7, new Rng(2)).mean.dataSync() as Float32Array),
      );
    const before = liveTensors();
    const [a, c] = [mean(batch), mean(other)];
    assert.equal(liveTensors(), before, "no tensor is left behind by a pass");
    assert.ok(a.some((v, i) => Math.abs(v - c[i]) > 1e-4), "the context images reach the query view");
    model.dispose();
  }
  // Inputs built by a model without the read lack it: the model that needs it says so.
  const [plain, reading] = [
    new Gqn(tiny({ epipolarDepths: 0 }), new Rng(0)),
    new Gqn(tiny({ epipolarDepths: 4 }), new Rng(0)),
  ];
  withInputs(
    plain,
    sampleQueryBatch(new Rng(1), { batch: 1, size: 16, m: 1 }),
    (inp) =>
      assert.throws(() => tf.tidy(() => reading.generate(inp, new Rng(0))), /build inputs with tensors\(\)/),
  );
  plain.dispose();
  reading.dispose();
});

Deno.test("the copy gate: fully open, the image is the colour the read picks; the foot read widens the input", () => {
  const batch = sampleQueryBatch(new Rng(1), { batch: 2, size: 16, m: 2 });
  const widths = [[false, false], [true, false], [true, true]].map(([footRead, surfaceRead]) => {
    const model = new Gqn(tiny({ epipolarDepths: 4, footRead, surfaceRead, copyGate: false }), new Rng(0));
    const w = withInputs(model, batch, (inp) => inp.epipolar!.shape[3]);
    model.dispose();
    return w;
  });
  assert.deepEqual(widths, [4 * 6, 4 * 9, 4 * 12]); // D = 4 depths × (6, + the foot's colour, + the surface cue)
  const model = new Gqn(tiny({ copyGate: true }), new Rng(0));
  const gate = model.params.vars.get("epi.gate.b")!;
  const mean = () =>
    withInputs(
      model,
      batch,
      (inp) => tf.tidy(() => model.elbo(inp, 0.7, new Rng(2)).mean.dataSync() as Float32Array),
    );
  const half = mean();
  gate.assign(tf.fill([1], 60)); // γ = σ(60) = 1: the drawn image no longer counts
  const open = mean();
  // With γ = 1 the image is ĉ₀ = Σ_d α_d μ_d: a convex mix of read colours, so the same for any latent.
  const again = withInputs(
    model,
    batch,
    (inp) => tf.tidy(() => model.generate(inp, new Rng(9)).dataSync() as Float32Array),
  );
  assert.ok(
    open.every((v, i) => Math.abs(v - again[i]) < 1e-6),
    "no latent reaches a fully open gate's image",
  );
  assert.ok(half.some((v, i) => Math.abs(v - open[i]) > 1e-3), "a half-open gate mixes in the drawn image");
  model.dispose();
});

Deno.test("compositing front to back: the first occupied depth takes the weight; the floor ends every ray", () => {
  const w = (a: number[]) =>
    tf.tidy(() => Array.from(compositeWeights(tf.tensor4d(a, [1, 1, 1, a.length])).dataSync()));
  const near = (got: number[], want: number[]) => got.forEach((v, d) => close(v, want[d], 1e-6));
  near(w([-30, 30, 30, -30]), [0, 1, 0, 0]); // free, then occupied: the second depth is the surface
  near(w([-30, -30, -30, -30]), [0, 0, 0, 1]); // nothing occupied: the ray ends on the floor
  const half = w([0, 0, 0, 0]); // o = ½ everywhere: ½, ¼, ⅛, and the rest (⅛) on the floor
  near(half, [0.5, 0.25, 0.125, 0.125]);
  const random = w(Array.from(new Rng(3).normalArray(8, 0, 3)));
  close(random.reduce((s, v) => s + v), 1, 1e-5);
  assert.ok(random.every((v) => v >= 0));
});

Deno.test("both depth picks train: gradients reach the weights that pick, tensor count flat", async () => {
  // "composite" (the default) learns an occupancy MLP; "attend" has none and picks by W_α alone.
  for (const [depthPick, picker] of [["composite", "occ.0.w"], ["attend", "epi.attend.w"]] as const) {
    const trainer = new GqnTrainer(tinyRun({ model: tiny({ depthPick }), lrStart: 3e-3 }));
    assert.equal(trainer.model.params.vars.has("occ.0.w"), depthPick === "composite", depthPick);
    const w = trainer.model.params.vars.get(picker)!, before = w.dataSync().slice();
    const batch = sampleQueryBatch(new Rng(4), { batch: 4, size: 16, m: 1 });
    await trainer.train(batch, 0.5, new Rng(5));
    const after1 = liveTensors();
    for (let s = 0; s < 3; s++) await trainer.train(batch, 0.5, new Rng(5));
    assert.equal(liveTensors(), after1, `${depthPick}: no tensor is left behind by a step`);
    assert.ok(w.dataSync().some((v, i) => Math.abs(v - before[i]) > 1e-6), `${depthPick}: ${picker} moved`);
    trainer.dispose();
  }
});

Deno.test("bad configs name the field", () => {
  assert.throws(() => validateGqnConfig(tiny({ size: 18 })), /size must be a multiple of 4/);
  assert.throws(() => validateGqnConfig(tiny({ representation: "sum" as never })), /representation must be/);
  assert.throws(() => validateGqnConfig(tiny({ layers: 0 })), /layers must be an integer in 1/);
  assert.throws(
    () => validateGqnConfig(tiny({ epipolarDepths: 1 })),
    /epipolarDepths must be an integer in 2\.\.64/,
  );
  assert.throws(() => validateGqnConfig({ ...tiny(), depth: 3 } as never), /unknown GQN config key "depth"/);
  assert.throws(() => validateGqnRunConfig(tinyRun({ sigmaEnd: 0 })), /sigmaEnd must be > 0/);
  assert.throws(
    () => validateGqnConfig(tiny({ copyGate: 1 as never })),
    /copyGate must be true or false, got 1/,
  );
  assert.throws(
    () => validateGqnConfig(tiny({ depthPick: "max" as never })),
    /depthPick must be "attend" or "composite", got "max"/,
  );
  assert.throws(
    () => validateGqnRunConfig(tinyRun({ minContext: 2, trainMaxContext: 1 })),
    /trainMaxContext must be an integer in 2/,
  );
  assert.equal(trainingMaxContext(tinyRun({ trainMaxContext: 0 })), 3); // 0: the held-out range's maxContext
  assert.equal(trainingMaxContext(tinyRun({ trainMaxContext: 7 })), 7);
  assert.throws(() => validateGqnRunConfig(tinyRun({ sigmaAnneal: 1.5 })), /sigmaAnneal must be in \(0, 1\]/);
  assert.throws(
    () => validateGqnRunConfig(tinyRun({ minContext: 4, maxContext: 3 })),
    /maxContext must be an integer in 4/,
  );
  const model = new Gqn(tiny(), new Rng(0));
  assert.throws(
    () => model.tensors(sampleQueryBatch(new Rng(0), { batch: 1, size: 32 })),
    /model takes 16×16/,
  );
  model.dispose();
});

Deno.test("the CLI prints one JSON line last and rejects a bad flag", async () => {
  const ok = await runScript("gqn", [
    "--max-steps",
    "2",
    "--size",
    "16",
    "--batch-size",
    "4",
    "--test-per-m",
    "2",
    "--max-context",
    "2",
    "--hidden",
    "8",
    "--r-channels",
    "8",
    "--layers",
    "2",
  ]);
  assert.equal(ok.code, 0, ok.stderr);
  for (
    const k of [
      "query_mse",
      "baseline_nearest_mse",
      "baseline_mean_mse",
      "elbo",
      "kl",
      "train_s",
      "steps",
      "config",
      "env",
    ]
  ) {
    assert.ok(ok.json && k in ok.json, `JSON lacks ${k}`);
  }
  assert.equal(ok.json!.steps, 2);
  assert.match(ok.stderr, /nearest-view MSE/);
  const bad = await runScript("gqn", ["--representation", "sum"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /representation must be "tower" or "pool"/);
  assert.equal(bad.stdout, "");
});
