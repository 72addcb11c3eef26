/**
 * AIR trained data-parallel over threads (`threads` in the run config): the main thread and
 * `threads − 1` Web Workers each hold a replica of the model (same seed, so the same initial
 * weights), each step takes its shard of the batch, and the shards' gradients are summed through
 * shared memory (`nn/allreduce.ts`):
 *
 *     ∇ = Σ_r (n_r / n) ∇_r,      ∇_r = ∇ of the mean loss over shard r's n_r images,
 *
 * the gradient of the whole batch's mean loss. Each replica sums ∇ over its range of the
 * parameters and runs Adam on that range only, writing the new weights into a shared copy from
 * which all replicas load them, so the weights stay identical and the optimiser's work is split.
 * Each replica draws its own noise (stream `noise.r`;
 * rank 0 uses the run's) and keeps NVIL's running centre and scale of its own shard, so a run
 * with 2 threads is reproducible but not equal to one with 1 thread.
 *
 * @example
 * ```ts
 * import { AirTrainer } from "./trainer.ts";
 * import { defaultAirRunConfig } from "./config.ts";
 * import { DataParallelAir } from "./parallel.ts";
 * const trainer = new AirTrainer(defaultAirRunConfig({ threads: 2 }));
 * const parallel = await DataParallelAir.start(trainer);
 * // each step: parallel.train(images, noiseRng, progress), images a host array of B·C² pixels
 * parallel.close();
 * ```
 * @module
 */
import { peekData, tf } from "../core/tf.ts";
import type { Rng } from "../core/random.ts";
import type { AirTrainer, StepStats } from "./trainer.ts";
import { ReplicaGroup, type ReplicaLayout, shardRows, writeGradients } from "../nn/allreduce.ts";

/** What a worker is sent to build its replica. */
export interface ReplicaInit {
  config: AirTrainer["config"];
  sab: SharedArrayBuffer;
  layout: ReplicaLayout;
  rank: number;
}

/** The shared block's layout for a trainer's run config. */
export function airReplicaLayout(trainer: AirTrainer): ReplicaLayout {
  const c = trainer.config;
  return {
    replicas: c.threads,
    gradFloats: trainer.trainedVariables().reduce((a, v) => a + v.size, 0),
    inputFloats: shardRows(c.batchSize, c.threads, 0)[1] * c.air.canvas ** 2,
    extras: 2,
  };
}

/**
 * One replica's part of a step on its shard `x` of a batch of `batch` images: the gradient of its
 * loss weighted by its share of the batch, summed with the others' over this replica's range of
 * the parameters, Adam on that range, then every weight loaded from the shared copy. Returns the
 * batch's stats.
 */
export async function replicaStep(
  trainer: AirTrainer,
  group: ReplicaGroup,
  x: tf.Tensor2D,
  batch: number,
  rng: Rng,
  progress: number,
): Promise<StepStats> {
  const weight = x.shape[0] / batch, vars = trainer.trainedVariables();
  const { grads, stats } = await trainer.gradients(x, rng, progress, weight); // w_r ∇_r
  let out;
  try {
    out = group.step(
      trainer.step + 1,
      (slot) => writeGradients(slot, vars, (name) => grads[name] && peekData(grads[name])),
      [weight * stats.elbo, weight * stats.present],
      (g, from, w) => trainer.applyRange(g, from, w, progress),
    );
  } finally {
    tf.dispose(grads);
  }
  trainer.loadWeights(out.weights);
  return { step: trainer.step, elbo: out.extras[0], presentMean: out.extras[1] };
}

/** Rank 0 of a data-parallel AIR run: drives the workers and trains its own shard. */
export class DataParallelAir {
  #closed = false;
  private constructor(
    readonly trainer: AirTrainer,
    private group: ReplicaGroup,
    private workers: Worker[],
  ) {}

  /** Starts `trainer.config.threads − 1` workers with replicas of the (untrained) `trainer`. */
  static async start(trainer: AirTrainer): Promise<DataParallelAir> {
    if (trainer.step !== 0) throw new Error("DataParallelAir.start needs an untrained trainer (step 0)");
    if (tf.getBackend() !== "wasm") {
      throw new Error(
        `--threads ${trainer.config.threads} (data-parallel training over wasm workers) runs on the wasm ` +
          `backend only; the active backend is ${tf.getBackend()}: use --threads 1 there`,
      );
    }
    const layout = airReplicaLayout(trainer), sab = ReplicaGroup.allocate(layout);
    const workers: Worker[] = [];
    try {
      const ready: Promise<void>[] = [];
      for (let rank = 1; rank < layout.replicas; rank++) {
        const worker = new Worker(new URL("./worker.ts", import.meta.url).href, { type: "module" });
        workers.push(worker);
        ready.push(
          new Promise((resolve, reject) => {
            worker.onmessage = (e: MessageEvent) =>
              e.data?.ready ? resolve() : reject(new Error(`AIR worker ${rank}: ${e.data?.error}`));
            worker.onerror = (e: ErrorEvent) => {
              e.preventDefault();
              reject(new Error(`AIR worker ${rank} failed to start: ${e.message}`));
            };
          }),
        );
        const init: ReplicaInit = { config: trainer.config, sab, layout, rank };
        worker.postMessage(init);
      }
      await Promise.all(ready);
    } catch (e) {
      for (const w of workers) w.terminate();
      throw e;
    }
    const group = new ReplicaGroup(sab, layout, 0);
    trainer.storeWeights(group.weights());
    return new DataParallelAir(trainer, group, workers);
  }

  /** One step on a batch `images` [B·C²] (host array), split over the replicas. */
  async train(images: Float32Array, rng: Rng, progress: number): Promise<StepStats> {
    if (this.#closed) throw new Error("DataParallelAir is closed");
    const c = this.trainer.config, px = c.air.canvas ** 2, B = images.length / px;
    if (!Number.isInteger(B) || B < c.threads) {
      throw new RangeError(
        `images must hold at least ${c.threads} images of ${px} pixels, got ${images.length}`,
      );
    }
    for (let rank = 1; rank < c.threads; rank++) {
      const [start, end] = shardRows(B, c.threads, rank);
      this.group.input(rank).set(images.subarray(start * px, end * px));
    }
    this.group.command(this.trainer.step + 1, [progress, B]);
    const [, end] = shardRows(B, c.threads, 0);
    const x = tf.tensor2d(images.subarray(0, end * px), [end, px]);
    try {
      return await replicaStep(this.trainer, this.group, x, B, rng, progress);
    } catch (e) {
      this.group.fail(e);
      throw e;
    } finally {
      x.dispose();
    }
  }

  /** Stops and ends the workers (the trainer stays usable on the main thread). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.group.stop();
    for (const w of this.workers) w.terminate();
  }
}
