import assert from "node:assert/strict";
import { initTf } from "../../lib/core/tf.ts";
import { Rng } from "../../lib/core/random.ts";
import { sampleSlotDataset } from "../../lib/scenes/scenes3d.ts";
import { predictSingle, singleObjectNet } from "../../lib/air3d/unsupervised.ts";
import { ReadPool } from "../../lib/air3d/read_pool.ts";

await initTf();
const size = 32;

Deno.test("ReadPool: two threads read each image as one thread does, the yaw split with the images", async () => {
  const rng = new Rng(5);
  const held = sampleSlotDataset(rng.child("held"), 13, { size, maxPrimitives: 3 });
  const yaw = Float32Array.from({ length: held.n }, () => rng.uniform() - 0.5);
  for (const cameraInput of [false, true]) {
    const net = singleObjectNet(rng.child(`net${cameraInput}`), {
      size,
      hidden: 16,
      presence: true,
      cameraInput,
    });
    const options = { steps: 3, chunk: 4, ...(cameraInput ? { yaw } : {}) };
    const here = await predictSingle(net, held.images, held.n, undefined, "6d", options);
    const pool = await ReadPool.start(net, 2);
    try {
      assert.equal(pool.threads, 2);
      const shared = await pool.read(held.images, held.n, undefined, "6d", options);
      assert.equal(shared.length, held.n);
      shared.forEach((slots, i) =>
        slots.forEach((s, t) => {
          const o = here[i][t];
          assert.equal(s.presence, o.presence);
          assert.equal(s.type, o.type);
          assert.deepEqual(s.position, o.position, `image ${i} step ${t}`);
          assert.deepEqual(Array.from(s.rotation), Array.from(o.rotation));
        })
      );
      // Twice with the same workers: the same answer.
      assert.deepEqual(
        (await pool.read(held.images, held.n, undefined, "6d", options)).map((s) => s.map((q) => q.type)),
        shared.map((s) => s.map((q) => q.type)),
      );
    } finally {
      pool.close();
      net.params.dispose();
    }
  }
});

Deno.test("ReadPool: one thread starts no worker; a bad thread count and a worker's failure are named", async () => {
  const net = singleObjectNet(new Rng(6), { size, hidden: 16, presence: true, cameraInput: true });
  const one = await ReadPool.start(net, 1);
  assert.equal(one.threads, 1);
  await assert.rejects(() => ReadPool.start(net, 0), /threads must be an integer ≥ 1, got 0/);
  const pool = await ReadPool.start(net, 2);
  try {
    // This network reads the camera: a share without its yaw fails in the worker, which the error names.
    await assert.rejects(
      () => pool.read(new Float32Array(4 * size * size), 4, undefined, "6d", { steps: 1 }),
      /this network reads the camera/,
    );
  } finally {
    pool.close();
    net.params.dispose();
  }
});
