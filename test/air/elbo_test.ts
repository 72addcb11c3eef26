import assert from "node:assert/strict";
import { initTf, tf } from "../../lib/core/tf.ts";
import {
  bernoulliKl,
  bernoulliLogProb,
  countPriorRates,
  geometricCountPrior,
  impliedCountDistribution,
} from "../../lib/air/elbo.ts";
import { gaussianKl, gaussianLogLik, reparameterise } from "../../lib/nn/gaussian.ts";
import { concreteTemperature, logisticNoise, SignalNormalizer } from "../../lib/air/estimators.ts";
import { Rng } from "../../lib/core/random.ts";

await initTf();
const close = (a: number, b: number, tol = 1e-5) => assert.ok(Math.abs(a - b) < tol, `${a} vs ${b}`);

Deno.test("unary-coded count prior: the implied distribution of n equals the target p(n)", () => {
  for (
    const target of [geometricCountPrior(0.5, 3), geometricCountPrior(0.01, 2), [0.2, 0.5, 0.3], [0, 0, 1], [
      0.7,
      0.3,
      0,
    ]]
  ) {
    const rates = countPriorRates(target);
    const implied = impliedCountDistribution(rates);
    implied.forEach((p, n) => close(p, target[n], 1e-12));
    // And by simulation: the number of leading ones of z_t ~ Bernoulli(ρ_t).
    const rng = new Rng(3), hist = new Array(target.length).fill(0), draws = 20000;
    for (let k = 0; k < draws; k++) {
      let n = 0;
      while (n < rates.length && rng.uniform() < rates[n]) n++;
      hist[n]++;
    }
    hist.forEach((h, n) => close(h / draws, target[n], 0.015));
  }
  const g = geometricCountPrior(0.5, 3);
  close(g[1] / g[0], 0.5, 1e-12);
  assert.throws(() => countPriorRates([0.5, 0.6]), /summing to 1/);
  assert.throws(() => geometricCountPrior(1.5, 3), /rho must be in/);
});

Deno.test("Gaussian log-likelihood and KL terms match their closed forms", () => {
  tf.tidy(() => {
    const x = tf.tensor2d([[0, 1]]), m = tf.tensor2d([[0.3, 0.5]]);
    const ll = gaussianLogLik(x, m, 0.3).dataSync()[0];
    const direct = [0 - 0.3, 1 - 0.5].reduce(
      (s, d) => s - d * d / (2 * 0.09) - Math.log(0.3) - 0.5 * Math.log(2 * Math.PI),
      0,
    );
    close(ll, direct, 1e-4);
    // KL(N(1, 0.5²) ‖ N(0, 1)) = −log 0.5 + (0.25 + 1)/2 − ½.
    close(
      gaussianKl(tf.tensor2d([[1]]), tf.tensor2d([[0.5]]), 0, 1).dataSync()[0],
      -Math.log(0.5) + 0.625 - 0.5,
    );
    close(
      gaussianKl(tf.tensor2d([[0.2, 3]]), tf.tensor2d([[0.4, 2]]), [0.2, 3], [0.4, 2]).sum().dataSync()[0],
      0,
    );
    // Prior as tensors (GENESIS's autoregressive prior, GQN's per-pixel prior): KL(N(0, 1) ‖ N(1, 2²)).
    close(
      gaussianKl(tf.zeros([1, 1]), tf.ones([1, 1]), tf.ones([1, 1]), tf.fill([1, 1], 2)).dataSync()[0],
      Math.log(2) + (1 + 1) / 8 - 0.5,
    );
    close(bernoulliLogProb(tf.tensor1d([1, 0]), tf.tensor1d([0.8, 0.8])).dataSync()[1], Math.log(0.2));
    const kl = bernoulliKl(tf.tensor1d([0.8]), 0.3).dataSync()[0];
    close(kl, 0.8 * Math.log(0.8 / 0.3) + 0.2 * Math.log(0.2 / 0.7));
  });
  assert.throws(
    () => gaussianLogLik(tf.zeros([1, 1]) as tf.Tensor2D, tf.zeros([1, 1]) as tf.Tensor2D, 0),
    /sigma/,
  );
});

Deno.test("estimators: NVIL normalisation centres and scales; noise is seeded", () => {
  const norm = new SignalNormalizer(0.5);
  const a = norm.normalize(Float32Array.of(10, 20, 30, 1000), [1, 1, 1, 0]);
  close(norm.mean, 20);
  close(norm.variance, 200 / 3, 1e-3);
  close(a[0], -10 / Math.sqrt(200 / 3), 1e-4);
  assert.equal(a[3], 0); // masked: not sampled, no signal
  norm.normalize(Float32Array.of(40, 40), undefined);
  close(norm.mean, 30); // moving average with α = 0.5
  const u = new Rng(1).uniformArray(4000); // AIR's z_pres draw: 1[u < 0.3] ~ Bernoulli(0.3)
  close(u.reduce((s, v) => s + (v < 0.3 ? 1 : 0), 0) / 4000, 0.3, 0.03);
  assert.deepEqual(new Rng(1).uniformArray(2), new Rng(1).uniformArray(2));
  const l = logisticNoise(new Rng(2), 20000);
  close(l.reduce((s, v) => s + v, 0) / l.length, 0, 0.05); // Logistic(0, 1): mean 0, variance π²/3
  close(l.reduce((s, v) => s + v * v, 0) / l.length, Math.PI ** 2 / 3, 0.15);
  close(concreteTemperature(0), 1);
  close(concreteTemperature(0.5, 1, 0.25), 0.5);
  close(concreteTemperature(1), 0.2);
  close(concreteTemperature(7), 0.2);
  assert.throws(() => new SignalNormalizer(1), /alpha/);
});

Deno.test("reparameterise: μ + σ·ε from the stream (same seed, same draw); the mean without a stream", () => {
  const mu = tf.fill([2000, 2], 1.5) as tf.Tensor2D, sigma = tf.fill([2000, 2], 0.5) as tf.Tensor2D;
  assert.equal(reparameterise(mu, sigma, null), mu);
  const draw = (seed: number) =>
    tf.tidy(() => Array.from(reparameterise(mu, sigma, new Rng(seed)).dataSync()));
  const a = draw(3), b = draw(3);
  assert.deepEqual(a, b);
  const mean = a.reduce((s, v) => s + v, 0) / a.length;
  const sd = Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length);
  assert.ok(Math.abs(mean - 1.5) < 0.03 && Math.abs(sd - 0.5) < 0.03, `mean ${mean}, sd ${sd}`);
  tf.dispose([mu, sigma]);
});
