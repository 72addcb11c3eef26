import assert from "node:assert/strict";
import { initTf, liveTensors, tf } from "../../lib/core/tf.ts";
import { Rng } from "../../lib/core/random.ts";
import { stickBreaking } from "../../lib/genesis/pieces.ts";
import { defaultGenesisConfig, Genesis } from "../../lib/genesis/model.ts";
import {
  decompose,
  defaultGenesisRunConfig,
  evaluateGenesis,
  GenesisTrainer,
  runGenesis,
  sampleSegmentationSet,
  validateGenesisRunConfig,
} from "../../lib/genesis/train.ts";
import { runScript, tinyGenesis } from "../fixtures.ts";

await initTf();
const close = (a: number, b: number, tol = 1e-4) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);
const small = tinyGenesis;

Deno.test("stick-breaking is differentiable on intermediate tensors: gradient equals finite differences", () => {
  // K = 2: log π₁ = log σ(a), log π₂ = log σ(−a); f(a) = 2 log π₁ + 3 log π₂ (a computed, not a leaf)
  const f = (a: tf.Tensor) => tf.sum(tf.mul(stickBreaking(tf.mul(a, 1).reshape([1, 1, 1])), [[[2], [3]]]));
  for (const a of [-3, 0.4, 5]) {
    const g = tf.grad(f)(tf.scalar(a)).dataSync()[0];
    const h = 1e-2;
    const fd = (f(tf.scalar(a + h)).dataSync()[0] - f(tf.scalar(a - h)).dataSync()[0]) / (2 * h);
    close(g, fd, 1e-2);
    const s = 1 / (1 + Math.exp(-a));
    close(g, 2 * (1 - s) - 3 * s, 1e-4); // d/da log σ(a) = 1 − σ(a), d/da log σ(−a) = −σ(a)
  }
});

for (const maskMode of ["icsbp", "latent"] as const) {
  Deno.test(`${maskMode} masks, one pass: shapes, masks sum to one, means in (0, 1), KL ≥ 0, same seed → same pass`, () => {
    const cfg = small({ masks: maskMode });
    const x = tf.tensor4d(
      sampleSegmentationSet(defaultGenesisRunConfig({ model: cfg }), new Rng(3), 3).images,
      [
        3,
        16,
        16,
        3,
      ],
    );
    const run = () => {
      const model = new Genesis(cfg, new Rng(0));
      const pass = model.forward(x, new Rng(1));
      const out = {
        logPi: pass.logPi.arraySync() as number[][][],
        mu: pass.mu.dataSync(),
        kl: [...pass.kl.dataSync()],
        logLik: [...pass.logLik.dataSync()],
        shapes: [pass.logPi.shape, pass.mu.shape, pass.kl.shape, pass.logLik.shape],
      };
      const mean = model.forward(x, null).logLik.dataSync()[0];
      const mean2 = model.forward(x, null).logLik.dataSync()[0];
      assert.equal(mean, mean2, "rng null: the guide's means, no noise");
      model.dispose();
      return out;
    };
    const a = run(), b = run();
    assert.deepEqual(a.shapes, [[3, 5, 256], [3, 5, 256, 3], [3], [3]]);
    for (const img of a.logPi) {
      for (let p = 0; p < 256; p++) close(img.reduce((s, row) => s + Math.exp(row[p]), 0), 1, 1e-5);
    }
    assert.ok(a.mu.every((v) => v > 0 && v < 1));
    assert.ok(a.kl.every((v) => v >= 0 && Number.isFinite(v)), `KL ${a.kl}`);
    assert.ok(a.logLik.every(Number.isFinite));
    assert.deepEqual(a.kl, b.kl);
    assert.deepEqual(a.logLik, b.logLik);
  });

  Deno.test(`${maskMode} masks train: err falls on a fixed batch, every parameter gets a gradient, tensor count flat`, async () => {
    const config = defaultGenesisRunConfig({ model: small({ masks: maskMode }), batchSize: 8, lr: 3e-3 });
    const trainer = new GenesisTrainer(config);
    const set = sampleSegmentationSet(config, new Rng(5), 8);
    const x = tf.tensor4d(set.images, [8, 16, 16, 3]);
    const { grads } = tf.variableGrads(() => {
      const pass = trainer.model.forward(x, new Rng(6));
      return tf.add(tf.neg(tf.mean(pass.logLik)), tf.mean(pass.kl)) as tf.Scalar;
    }, trainer.model.params.list());
    for (const [name, g] of Object.entries(grads)) {
      assert.ok(tf.any(tf.notEqual(g, 0)).dataSync()[0], `${name}: zero grad`);
    }
    tf.dispose(grads);
    const noise = new Rng(7);
    const first = await trainer.train(x, noise);
    const before = liveTensors();
    let last = first;
    for (let i = 0; i < 40; i++) last = await trainer.train(x, noise);
    assert.equal(liveTensors(), before, "tensors leaked across steps");
    assert.ok(last.err < first.err - 0.1 * Math.abs(first.err), `err ${first.err} → ${last.err}`);
    assert.ok(last.beta < 1, "GECO lowers β while the goal is not met");
    const test = sampleSegmentationSet(config, new Rng(8), 5);
    const ev = await evaluateGenesis(trainer.model, test);
    assert.equal(liveTensors(), before, "evaluation leaks no tensors");
    for (const k of ["ari", "fgAri", "sc", "msc"] as const) {
      assert.ok(ev[k] >= -1 && ev[k] <= 1, `${k} ${ev[k]}`);
    }
    // decompose: π sums to one per pixel, and the reconstruction is Σ_k π_k μ_k
    const { masks, components, recon } = await decompose(trainer.model, test, 2);
    const K = 5, P = 256;
    for (const [b, p] of [[0, 0], [4, 255], [2, 100]]) {
      let s = 0;
      const r = [0, 0, 0];
      for (let k = 0; k < K; k++) {
        const pi = masks[(b * K + k) * P + p];
        s += pi;
        for (let c = 0; c < 3; c++) r[c] += pi * components[((b * K + k) * P + p) * 3 + c];
      }
      close(s, 1, 1e-5);
      for (let c = 0; c < 3; c++) close(recon[(b * P + p) * 3 + c], r[c], 1e-5);
    }
    x.dispose();
    trainer.dispose();
  });
}

Deno.test("runs: same seed → same result on both datasets; the curve and the GECO trace are recorded", async () => {
  for (const dataset of ["sprites", "prims"] as const) {
    const config = defaultGenesisRunConfig({
      dataset,
      model: small({ slots: dataset === "prims" ? 4 : 5 }),
      batchSize: 4,
      maxSteps: 10,
      nTest: 6,
      evalEveryS: 1e6,
    });
    const a = await runGenesis(config), b = await runGenesis(config);
    const strip = (r: typeof a.result) => ({
      ...r,
      train_s: 0,
      images_per_s: 0,
      curve: r.curve.map((c) => c.slice(1)),
    });
    assert.deepEqual(strip(a.result), strip(b.result));
    assert.equal(a.result.steps, 10);
    assert.equal(a.result.curve.length, 2, "evaluated at the start and the end");
    assert.deepEqual(
      a.result.geco_trace.map((t) => t[0]),
      [1, 10],
      "GECO traced at the first and the last step",
    );
    assert.equal(a.test.n, 6);
    a.trainer.dispose();
    b.trainer.dispose();
  }
});

Deno.test("bad configs name the field", () => {
  const bad = (o: object, re: RegExp) =>
    assert.throws(() => validateGenesisRunConfig(defaultGenesisRunConfig(o)), re);
  bad({ dataset: "dsprites" }, /dataset must be "sprites" or "prims"/);
  bad({ batchSize: 0 }, /batchSize must be an integer/);
  bad({ lr: 0 }, /lr must be > 0/);
  bad({ gecoGoal: NaN }, /gecoGoal must be a finite number/);
  bad({ model: defaultGenesisConfig({ slots: 1 }) }, /slots must be an integer in 2/);
  bad(
    { model: defaultGenesisConfig({ masks: "latent", size: 36 }) },
    /size \(36\) must be divisible by 2\^3/,
  );
  bad({ model: defaultGenesisConfig({ masks: "slots" as "icsbp" }) }, /masks must be "icsbp" or "latent"/);
  bad({ model: defaultGenesisConfig({ embedDim: 0 }) }, /embedDim must be an integer/);
  bad({ model: defaultGenesisConfig({ compHidden: -1 }) }, /compHidden/);
  bad({ model: defaultGenesisConfig({ encChannels: [] }) }, /encChannels/);
  bad({ model: defaultGenesisConfig({ sigmaX: 0 }) }, /sigmaX must be > 0/);
});

Deno.test("the CLI prints one JSON line last and rejects a bad flag", async () => {
  const run = (args: string[]) => runScript("genesis", args);
  const ok = await run([
    "--max-steps",
    "2",
    "--n-test",
    "4",
    "--size",
    "16",
    "--batch-size",
    "4",
    "--lstm",
    "8",
  ]);
  const err = ok.stderr;
  assert.equal(ok.code, 0, err);
  const json = ok.json!;
  for (const k of ["fg_ari", "msc", "sc", "train_s", "config", "env"]) {
    assert.ok(k in json, `JSON lacks ${k}`);
  }
  assert.equal(json.steps, 2);
  assert.match(err, /held-out fg-ARI/);
  const badFlag = await run(["--dataset", "mnist"]);
  assert.equal(badFlag.code, 2);
  assert.match(badFlag.stderr, /dataset must be "sprites" or "prims"/);
  assert.equal(badFlag.stdout, "", "nothing on stdout when the config is bad");
});

Deno.test("IC-SBP: two clusters of embeddings give two masks; the remainder keeps what is left; eval seeds are fixed", () => {
  const model = new Genesis(small({ slots: 3 }), new Rng(0));
  // 16×16 = 256 pixels, ζ = (0, 0) on the left half and (3, 0) on the right: exp(−9) ≈ 1e-4 across
  const zeta = tf.tensor3d(Array.from({ length: 256 }, (_, p) => [p % 16 < 8 ? 0 : 3, 0]).flat(), [
    1,
    256,
    2,
  ]);
  for (const rng of [new Rng(1), new Rng(2), null]) {
    const pi = tf.exp(model.icsbp(zeta, rng)).arraySync() as number[][][]; // [1, 3, 256]
    const left = pi[0].map((m) => m[0]), right = pi[0].map((m) => m[255]);
    // one of the first two slots holds each half at 0.999; the other half's share there is ~1e-4
    const a = left.indexOf(Math.max(...left)), b = right.indexOf(Math.max(...right));
    assert.deepEqual([a, b].sort(), [0, 1], `left → ${a}, right → ${b}`);
    close(left[a], 0.999, 1e-3);
    close(right[b], 0.999 * (1 - 0.999 * Math.exp(-9)), 1e-3);
    // the remainder π_3 = s_2 = Π (1 − α): about 0.001 (one seed's own cluster) × (1 − 1e-4)
    close(left[2], 0.001, 2e-4);
    for (let p = 0; p < 256; p++) close(pi[0][0][p] + pi[0][1][p] + pi[0][2][p], 1, 1e-5);
  }
  const once = model.icsbp(zeta, null).dataSync(), again = model.icsbp(zeta, null).dataSync();
  assert.deepEqual(once, again, "evaluation seeds come from one fixed pattern");
  zeta.dispose();
  model.dispose();
});
