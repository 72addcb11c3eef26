/**
 * Worker entry of a data-parallel AIR run (`parallel.ts`): builds a replica of the trainer
 * from the run config, then trains its shard of every batch until told to stop. Never imported.
 * @module
 */
/// <reference lib="deno.worker" />
import { initTf, tf } from "../core/tf.ts";
import { AirTrainer } from "./trainer.ts";
import { ReplicaGroup, shardRows } from "../nn/allreduce.ts";
import { type ReplicaInit, replicaStep } from "./parallel.ts";

self.onmessage = async (e: MessageEvent<ReplicaInit>) => {
  const { config, sab, layout, rank } = e.data;
  let group: ReplicaGroup | null = null;
  try {
    await initTf();
    const trainer = new AirTrainer(config);
    group = new ReplicaGroup(sab, layout, rank);
    const rng = trainer.rng.child(`noise.${rank}`), px = config.air.canvas ** 2;
    self.postMessage({ ready: true });
    let step = 0;
    for (;;) {
      const command = group.nextCommand(step);
      if (!command) break;
      step = command.step;
      const [progress, batch] = command.scalars;
      const [start, end] = shardRows(batch, layout.replicas, rank);
      const x = tf.tensor2d(group.input(rank).slice(0, (end - start) * px), [end - start, px]);
      try {
        await replicaStep(trainer, group, x, batch, rng, progress);
      } finally {
        x.dispose();
      }
    }
    trainer.dispose();
  } catch (err) {
    if (group) group.fail(err);
    else self.postMessage({ error: (err as Error).message });
  }
  self.close();
};
