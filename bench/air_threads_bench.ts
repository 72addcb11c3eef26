/**
 * AIR training throughput on one thread and data-parallel over `--threads` (default 2), the
 * paper's architecture (50×50, LSTM 256, z_what 50, batch 64, 3 steps, REINFORCE). Both trainers
 * live in this process and take their steps in alternating rounds, so a busy machine slows both
 * alike and the ratio stays meaningful. Progress on stderr; the last stdout line is one JSON object:
 * {"one_thread_images_per_s", "parallel_images_per_s", "threads", "speedup", "rounds", ...}.
 *
 *   deno task bench:air-threads [-- --threads 2 --rounds 6 --steps 5]
 */
import { environment, initTf, tf } from "../lib/core/tf.ts";
import { cliFlags, runCli } from "../lib/core/flags.ts";
import { loadMnist } from "../lib/scenes/mnist.ts";
import { AirTrainer } from "../lib/air/trainer.ts";
import { defaultAirRunConfig, sceneSpec } from "../lib/air/config.ts";
import { DataParallelAir } from "../lib/air/parallel.ts";
import { sampleMultiMnist } from "../lib/scenes/multi_mnist.ts";
import { Rng } from "../lib/core/random.ts";

const f = await runCli(
  "bench:air-threads",
  () =>
    cliFlags(import.meta.url, { threads: 2, rounds: 6, steps: 5, batchSize: 64 }, Deno.args, {
      threads: { int: true, min: 2, max: 16 },
      rounds: { int: true, min: 1, max: 1000 },
      steps: { int: true, min: 1, max: 1000 },
      batchSize: { int: true, min: 2, max: 4096 },
    }),
);
await initTf();
const mnist = await loadMnist();
const single = new AirTrainer(defaultAirRunConfig({ batchSize: f.batchSize }));
const parallel = await DataParallelAir.start(
  new AirTrainer(defaultAirRunConfig({ batchSize: f.batchSize, threads: f.threads })),
);
const rng = new Rng(0), spec = sceneSpec(single.config, [0, 1, 2]);
const px = single.config.air.canvas ** 2;
const runs = {
  one: async (images: Float32Array) => {
    const x = tf.tensor2d(images, [f.batchSize, px]);
    await single.train(x, rng, 0);
    x.dispose();
  },
  parallel: (images: Float32Array) => parallel.train(images, rng, 0),
};
const ms = { one: 0, parallel: 0 };
for (let round = 0; round <= f.rounds; round++) {
  for (const kind of ["one", "parallel"] as const) {
    for (let s = 0; s < f.steps; s++) {
      const { images } = sampleMultiMnist(rng, mnist.train, f.batchSize, spec);
      const t0 = performance.now();
      await runs[kind](images);
      if (round > 0) ms[kind] += performance.now() - t0; // round 0 warms up
    }
  }
  if (round > 0) console.error(`[bench] round ${round}/${f.rounds}: ${JSON.stringify(ms)}`);
}
parallel.close();
const images = f.rounds * f.steps * f.batchSize;
const one = images / (ms.one / 1000), par = images / (ms.parallel / 1000);
console.log(JSON.stringify({
  one_thread_images_per_s: +one.toFixed(1),
  parallel_images_per_s: +par.toFixed(1),
  threads: f.threads,
  speedup: +(par / one).toFixed(3),
  rounds: f.rounds,
  steps_per_round: f.steps,
  batch_size: f.batchSize,
  env: environment(),
}));
