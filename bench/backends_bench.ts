/**
 * Training throughput per tfjs backend: GQN (the default run config, 32×32, batch 8), AIR (the
 * paper's architecture, 50×50, batch 64; on wasm also data-parallel over two threads, the reference
 * a GPU's speed-up is measured against) and GENESIS (the sprites config) on every backend this
 * machine offers — wasm always, webgpu when Deno finds an adapter. A model that does not run on a
 * backend yet gets `{"skipped": why}`. Progress on stderr; the last stdout line is one JSON object:
 * {"adapter": …, "backends": {"wasm": {"gqn": {…}, "air": {…}, "genesis": {…}}, "webgpu": {…}}, "env": …}.
 * Machines are shared and noisy: compare backends within one run.
 *
 *   deno task bench:backends [-- --steps 6 --backends wasm,webgpu --air-batch 64]
 *
 * `--air-batch` sets AIR's batch on every backend (a GPU may be served best by a larger one than the
 * paper's 64; the JSON states the batch of each row). The two-thread wasm reference keeps 64.
 */
import { environment, initTf, tf } from "../lib/core/tf.ts";
import { findAdapter } from "../lib/core/webgpu.ts";
import { cliFlags, runCli } from "../lib/core/flags.ts";
import { Rng } from "../lib/core/random.ts";
import { defaultGqnRunConfig, probeGqn } from "../lib/gqn/train.ts";
import { AirTrainer } from "../lib/air/trainer.ts";
import { DataParallelAir } from "../lib/air/parallel.ts";
import { defaultAirRunConfig, sceneSpec } from "../lib/air/config.ts";
import { sampleMultiMnist } from "../lib/scenes/multi_mnist.ts";
import { loadMnist } from "../lib/scenes/mnist.ts";
import { defaultGenesisRunConfig, probeGenesis } from "../lib/genesis/train.ts";

const f = await runCli(
  "bench:backends",
  () =>
    cliFlags(import.meta.url, { steps: 6, backends: "wasm,webgpu", airBatch: 64 }, Deno.args, {
      steps: { int: true, min: 2, max: 1000 },
      airBatch: { int: true, min: 1, max: 4096 },
    }),
);
const asked = f.backends.split(",").map((s) => s.trim());
for (const b of asked) {
  if (!["wasm", "webgpu", "cpu"].includes(b)) {
    console.error(`bench:backends: --backends takes a list of wasm, webgpu, cpu; got ${JSON.stringify(b)}`);
    Deno.exit(2);
  }
}
const adapter = await findAdapter();
const mnist = await loadMnist();

/** Images (or scenes) per second over `steps` calls of `step` after one warm-up call. */
async function throughput(batch: number, steps: number, step: () => Promise<void> | void) {
  await step(); // warm-up: kernels compile (webgpu), weights pack (wasm)
  const t0 = performance.now();
  for (let s = 0; s < steps; s++) await step();
  const ms = (performance.now() - t0) / steps;
  return { ms_per_step: +ms.toFixed(1), per_s: +(batch / (ms / 1000)).toFixed(2), batch, steps };
}

async function gqn(steps: number) {
  const config = defaultGqnRunConfig();
  const p = await probeGqn(config, steps + 1); // its first step is the warm-up
  return {
    ms_per_step: +p.msPerStep.toFixed(1),
    per_s: +p.perS.toFixed(2),
    batch: config.batchSize,
    steps,
  };
}

async function air(steps: number) {
  const B = f.airBatch;
  const trainer = new AirTrainer(defaultAirRunConfig({ batchSize: B }));
  const rng = new Rng(0), spec = sceneSpec(trainer.config, [0, 1, 2]), px = trainer.config.air.canvas ** 2;
  try {
    return await throughput(B, steps, async () => {
      const { images } = sampleMultiMnist(rng, mnist.train, B, spec);
      const x = tf.tensor2d(images, [B, px]);
      await trainer.train(x, rng, 0);
      x.dispose();
    });
  } finally {
    trainer.dispose();
  }
}

/** AIR on wasm, data-parallel over two threads (the reference for a GPU's speed-up). */
async function airTwoThreads(steps: number) {
  const parallel = await DataParallelAir.start(
    new AirTrainer(defaultAirRunConfig({ batchSize: 64, threads: 2 })),
  );
  const rng = new Rng(0), spec = sceneSpec(parallel.trainer.config, [0, 1, 2]);
  try {
    return await throughput(64, steps, async () => {
      await parallel.train(sampleMultiMnist(rng, mnist.train, 64, spec).images, rng, 0);
    });
  } finally {
    parallel.close();
    parallel.trainer.dispose();
  }
}

async function genesis(steps: number) {
  const config = defaultGenesisRunConfig();
  const p = await probeGenesis(config, steps + 1); // its first step is the warm-up
  return { ms_per_step: +p.msPerStep.toFixed(1), per_s: +p.perS.toFixed(2), batch: config.batchSize, steps };
}

const models = { gqn, air, air_two_threads: airTwoThreads, genesis } as const;
const backends: Record<string, Record<string, unknown>> = {};
for (const backend of asked) {
  if (backend === "webgpu" && !adapter) {
    backends.webgpu = { skipped: "no WebGPU adapter (scripts/gpu.ts says what to install)" };
    continue;
  }
  await initTf(backend as "wasm" | "webgpu" | "cpu");
  const row: Record<string, unknown> = {};
  for (const [name, run] of Object.entries(models)) {
    if (name === "air_two_threads" && backend !== "wasm") {
      row[name] = { skipped: "data-parallel threads are wasm-only" };
      continue;
    }
    // lavapipe runs a GQN step in seconds: fewer steps there.
    const steps = backend === "wasm" ? f.steps : Math.max(2, Math.ceil(f.steps / 3));
    console.error(`[bench] ${backend} ${name}: ${steps} steps …`);
    row[name] = await run(steps);
    console.error(`[bench] ${backend} ${name}: ${JSON.stringify(row[name])}`);
  }
  backends[backend] = row;
}
await initTf("wasm");
console.log(JSON.stringify({
  adapter: adapter ? { name: adapter.name, software: adapter.software } : null,
  backends,
  env: environment(),
}));
