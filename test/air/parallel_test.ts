import assert from "node:assert/strict";
import { initTf, liveTensors, tf } from "../../lib/core/tf.ts";
import { AirTrainer } from "../../lib/air/trainer.ts";
import { runAirMnist } from "../../lib/air/train.ts";
import { validateAirRunConfig } from "../../lib/air/config.ts";
import { DataParallelAir } from "../../lib/air/parallel.ts";
import { flatViews, shardRows, writeGradients } from "../../lib/nn/allreduce.ts";
import { REPRODUCTION_SCENES, sampleMultiMnist } from "../../lib/scenes/multi_mnist.ts";
import { Rng } from "../../lib/core/random.ts";
import { fakeMnist, small } from "../fixtures.ts";

await initTf();

/** The largest |difference| between two trainers' weights. */
function maxDifference(a: AirTrainer, b: AirTrainer): number {
  const bv = b.trainedVariables();
  let most = 0;
  a.trainedVariables().forEach((v, i) => {
    const x = v.dataSync(), y = bv[i].dataSync();
    for (let k = 0; k < x.length; k++) most = Math.max(most, Math.abs(x[k] - y[k]));
  });
  return most;
}

Deno.test("2 threads: each step equals the two shards' weighted gradients summed, applied to both replicas", async () => {
  for (const estimator of ["reinforce", "concrete"] as const) {
    const config = { ...small(), estimator, batchSize: 10, threads: 2 };
    const mnist = await fakeMnist();
    const parallel = await DataParallelAir.start(new AirTrainer(config));
    // The same run by hand on this thread: rank 0 and rank 1 as two trainers.
    const ranks = [new AirTrainer(config), new AirTrainer(config)];
    const noise = [new Rng(7), ranks[1].rng.child("noise.1")], parallelNoise = new Rng(7);
    const px = 32 * 32, vars = ranks[0].trainedVariables();
    const size = vars.reduce((a, v) => a + v.size, 0);
    const data = new Rng(3);
    try {
      for (let step = 0; step < 3; step++) {
        const { images } = sampleMultiMnist(data, mnist.train, 10, REPRODUCTION_SCENES);
        const progress = step / 3;
        const stats = await parallel.train(images, parallelNoise, progress);
        const slots = [];
        for (const [r, trainer] of ranks.entries()) {
          const [start, end] = shardRows(10, 2, r);
          const x = tf.tensor2d(images.slice(start * px, end * px), [end - start, px]);
          const { grads } = await trainer.gradients(x, noise[r], progress, (end - start) / 10);
          const slot = new Float32Array(size);
          writeGradients(slot, trainer.trainedVariables(), (n) => grads[n]?.dataSync());
          tf.dispose([x, ...Object.values(grads)]);
          slots.push(slot);
        }
        const sum = new Float32Array(slots[0]);
        for (let i = 0; i < size; i++) sum[i] += slots[1][i];
        for (const trainer of ranks) trainer.apply(flatViews(sum, trainer.trainedVariables()), progress);
        assert.equal(stats.step, step + 1);
        assert.ok(Number.isFinite(stats.elbo));
      }
      assert.equal(maxDifference(parallel.trainer, ranks[0]), 0, estimator);
      assert.ok(maxDifference(parallel.trainer, new AirTrainer(config)) > 0, "the weights moved");
    } finally {
      parallel.close();
    }
    await assert.rejects(() => parallel.train(new Float32Array(10 * px), parallelNoise, 0), /closed/);
  }
});

Deno.test("runAirMnist over 2 threads: same seed → same result; tensor count flat; threads checked", async () => {
  const mnist = await fakeMnist();
  const c = { ...small(), threads: 2, maxSteps: 4, evalEveryS: 0.001 };
  const before = liveTensors();
  const a = await runAirMnist(c, mnist), b = await runAirMnist(c, mnist);
  const strip = (r: typeof a.result) => ({ ...r, train_s: 0, images_per_s: 0, count_acc_curve: [] });
  assert.deepEqual(strip(a.result), strip(b.result));
  assert.equal(a.result.steps, 4);
  a.trainer.dispose();
  b.trainer.dispose();
  assert.equal(liveTensors(), before);
  assert.throws(
    () => validateAirRunConfig({ ...small(), threads: 0 }),
    /threads must be an integer in 1\.\.16, got 0/,
  );
  assert.throws(
    () => validateAirRunConfig({ ...small(), batchSize: 2, threads: 3 }),
    /batchSize \(2\) must be at least threads \(3\)/,
  );
});
