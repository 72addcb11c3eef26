import assert from "node:assert/strict";
import { initTf, liveTensors, tf } from "../../lib/core/tf.ts";
import { Geco, gmmLogLik, stickBreaking } from "../../lib/genesis/pieces.ts";
import { Rng } from "../../lib/core/random.ts";

await initTf();
const close = (a: number, b: number, tol = 1e-5) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

Deno.test("stick-breaking: Eq. 4 term by term, masks sum to one, the last slot takes the rest", () => {
  const rng = new Rng(1);
  const B = 2, K = 4, P = 5;
  const a = Float32Array.from({ length: B * (K - 1) * P }, () => rng.normal(0, 2));
  const logPi = stickBreaking(tf.tensor3d(a, [B, K - 1, P]));
  assert.deepEqual(logPi.shape, [B, K, P]);
  const pi = tf.exp(logPi).arraySync() as number[][][];
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  for (let b = 0; b < B; b++) {
    for (let p = 0; p < P; p++) {
      let used = 0, sum = 0;
      for (let k = 0; k < K; k++) {
        const alpha = k < K - 1 ? sig(a[(b * (K - 1) + k) * P + p]) : 1;
        close(pi[b][k][p], (1 - used) * alpha); // π_k = (1 − Σ_{j<k} π_j) α_k
        used += pi[b][k][p];
        sum += pi[b][k][p];
      }
      close(sum, 1);
    }
  }
  // Extreme logits stay finite in log space (no log 0).
  const ext = stickBreaking(tf.tensor3d([80, -80, 80, -80], [1, 2, 2])).dataSync();
  assert.ok(ext.every(Number.isFinite), `log π finite: ${[...ext]}`);
  tf.dispose(logPi);
  assert.throws(() => stickBreaking(tf.tensor1d([1])), /\[B, K−1, …\]/);
});

Deno.test("GMM likelihood: equals the mixture density computed directly; one component is a Gaussian", () => {
  const rng = new Rng(2);
  const B = 2, K = 3, P = 4, C = 3, sigma = 0.7;
  const x = Float32Array.from({ length: B * P * C }, () => rng.uniform());
  const mu = Float32Array.from({ length: B * K * P * C }, () => rng.uniform());
  const w = Float32Array.from({ length: B * K * P }, () => rng.uniform(0.1, 1));
  // Normalise the weights over k per pixel.
  for (let b = 0; b < B; b++) {
    for (let p = 0; p < P; p++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += w[(b * K + k) * P + p];
      for (let k = 0; k < K; k++) w[(b * K + k) * P + p] /= s;
    }
  }
  const got = gmmLogLik(
    tf.tensor3d(x, [B, P, C]),
    tf.tensor4d(mu, [B, K, P, C]),
    tf.log(tf.tensor3d(w, [B, K, P])) as tf.Tensor3D,
    sigma,
  ).dataSync();
  const gauss = (v: number, m: number) =>
    Math.exp(-0.5 * ((v - m) / sigma) ** 2) / (sigma * Math.sqrt(2 * Math.PI));
  for (let b = 0; b < B; b++) {
    let ll = 0;
    for (let p = 0; p < P; p++) {
      let mix = 0;
      for (let k = 0; k < K; k++) {
        let dens = w[(b * K + k) * P + p];
        for (let c = 0; c < C; c++) dens *= gauss(x[(b * P + p) * C + c], mu[((b * K + k) * P + p) * C + c]);
        mix += dens;
      }
      ll += Math.log(mix);
    }
    close(got[b], ll, 1e-4);
  }
  assert.throws(
    () => gmmLogLik(tf.zeros([1, 1, 1]), tf.zeros([1, 1, 1, 1]), tf.zeros([1, 1, 1]), 0),
    /sigma/,
  );
});

Deno.test("GECO: β falls while the constraint is violated, rises 10× faster once met, clamped", () => {
  const g = new Geco({ goal: 100 });
  assert.equal(g.beta, 1);
  g.update(200); // err above the goal: β ← β·exp(1e-5 · (100 − 200))
  close(g.beta, Math.exp(1e-5 * -100), 1e-12);
  close(g.errEma!, 200, 1e-12);
  g.update(0); // EMA = 0.99·200 + 0.01·0 = 198: still violated
  close(g.errEma!, 198, 1e-9);
  close(g.beta, Math.exp(1e-5 * (-100 - 98)), 1e-12);
  const met = new Geco({ goal: 100, betaInit: 2 });
  met.update(60); // constraint met by 40: the faster step 1e-4
  close(met.beta, 2 * Math.exp(1e-4 * 40), 1e-12);
  const clamp = new Geco({ goal: 1, betaInit: 1, betaMax: 1.5, stepMet: 1 });
  for (let i = 0; i < 5; i++) clamp.update(0);
  assert.equal(clamp.beta, 1.5);
  const before = liveTensors();
  const loss = tf.tidy(() => met.loss(tf.scalar(3), tf.scalar(4)).dataSync()[0]);
  close(loss, 3 + met.beta * 4, 1e-5);
  assert.equal(liveTensors(), before);
  assert.throws(() => new Geco({ goal: NaN }), /GECO goal must be a finite number/);
  assert.throws(() => new Geco({ goal: 1, step: 0 }), /GECO step must be a positive number/);
  assert.throws(() => new Geco({ goal: 1, alpha: 1 }), /alpha must be in \[0, 1\)/);
  assert.throws(() => g.update(NaN), /err must be finite/);
});
