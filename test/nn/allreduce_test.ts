import assert from "node:assert/strict";
import { flatViews, ReplicaGroup, shardRows, writeGradients } from "../../lib/nn/allreduce.ts";

Deno.test("shardRows splits a batch evenly, the first ranks taking the remainder", () => {
  assert.deepEqual([0, 1, 2].map((r) => shardRows(10, 3, r)), [[0, 4], [4, 7], [7, 10]]);
  assert.deepEqual([0, 1].map((r) => shardRows(64, 2, r)), [[0, 32], [32, 64]]);
  assert.deepEqual(shardRows(5, 1, 0), [0, 5]);
});

Deno.test("writeGradients lays variables out in order (zeros when one has no gradient); flatViews reads them back", () => {
  const vars = [{ name: "a", size: 2 }, { name: "b", size: 3 }, { name: "c", size: 1 }];
  const slot = new Float32Array(6).fill(9);
  const grads: Record<string, number[]> = { a: [1, 2], c: [6] };
  writeGradients(slot, vars, (n) => grads[n]);
  assert.deepEqual([...slot], [1, 2, 0, 0, 0, 6]);
  const views = flatViews(slot, vars);
  assert.deepEqual([...views.b], [0, 0, 0]);
  assert.deepEqual([...views.c], [6]);
});

Deno.test("ReplicaGroup checks its layout and rank", () => {
  const layout = { replicas: 2, gradFloats: 4, inputFloats: 2, extras: 1 };
  assert.throws(() => ReplicaGroup.allocate({ ...layout, replicas: 0 }), /replicas must be an integer ≥ 1/);
  assert.throws(() => ReplicaGroup.allocate({ ...layout, gradFloats: 1.5 }), /gradFloats/);
  const sab = ReplicaGroup.allocate(layout);
  assert.throws(() => new ReplicaGroup(sab, layout, 2), /rank must be an integer in 0\.\.1/);
  assert.throws(() => new ReplicaGroup(new SharedArrayBuffer(8), layout, 0), /shared block has 8 bytes/);
  const g = new ReplicaGroup(sab, layout, 0);
  assert.throws(() => g.step(1, () => {}, [], () => {}), /expected 1 extras, got 0/);
  assert.deepEqual([g.range, new ReplicaGroup(sab, layout, 1).range], [[0, 2], [2, 4]]);
});

async function withWorker(failAt: number, body: (g: ReplicaGroup) => void) {
  const layout = { replicas: 2, gradFloats: 5, inputFloats: 5, extras: 1 };
  const sab = ReplicaGroup.allocate(layout);
  const worker = new Worker(new URL("./allreduce_worker.ts", import.meta.url).href, { type: "module" });
  const ready = new Promise((resolve) => (worker.onmessage = resolve));
  worker.postMessage({ sab, layout, failAt });
  await ready;
  const group = new ReplicaGroup(sab, layout, 0);
  try {
    body(group);
  } finally {
    group.stop();
    worker.terminate();
  }
}

Deno.test("step: each rank updates its range of the summed gradient; all see every new weight", async () => {
  await withWorker(0, (group) => {
    group.weights().set([10, 20, 30, 40, 50]);
    const expected = [10, 20, 30, 40, 50];
    assert.deepEqual(group.range, [0, 3]); // rank 1 owns [3, 5)
    for (let step = 1; step <= 4; step++) {
      const input = [1, 2, 3, 4, 5].map((v) => v * step);
      group.input(1).set(input);
      group.command(step, [step]);
      const { weights, extras } = group.step(step, (slot) => slot.fill(step), [0.5], (g, from, w) => {
        for (let i = 0; i < g.length; i++) w[i] -= g[i]; // plain gradient descent, lr 1
        assert.equal(from, 0);
      });
      // rank 0 wrote `step`; rank 1 wrote (1 + step) · input; both ranks descend on their range
      input.forEach((v, i) => (expected[i] -= step + (1 + step) * v));
      assert.deepEqual([...weights], expected);
      assert.deepEqual(extras, [0.5 + 10 * step]);
    }
  });
});

Deno.test("a replica's failure stops the others with its message instead of a hang", async () => {
  await withWorker(2, (group) => {
    group.command(1, [1]);
    const descend = () => {};
    group.step(1, (slot) => slot.fill(0), [0], descend);
    group.command(2, [2]);
    assert.throws(
      () => group.step(2, (slot) => slot.fill(0), [0], descend),
      /data-parallel training stopped: replica 1: boom at step 2/,
    );
  });
});
