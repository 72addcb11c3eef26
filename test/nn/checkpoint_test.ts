import assert from "node:assert/strict";
import { initTf, tf } from "../../lib/core/tf.ts";
import {
  decodeCheckpoint,
  encodeCheckpoint,
  loadCheckpoint,
  restoreVariables,
  saveCheckpoint,
} from "../../lib/nn/checkpoint.ts";
import { writeAtomic } from "../../lib/core/files.ts";

await initTf();

/** Two named variables, with the given values (zeros by default). */
const model = (w = [0, 0, 0, 0, 0, 0], b = [0, 0]) =>
  new Map<string, tf.Variable>([
    ["fc.w", tf.variable(tf.tensor2d(w, [2, 3]))],
    ["fc.b", tf.variable(tf.tensor1d(b))],
  ]);
const values = (m: Map<string, tf.Variable>) => [...m.values()].map((v) => Array.from(v.dataSync()));
const dispose = (...ms: Map<string, tf.Variable>[]) => ms.forEach((m) => tf.dispose([...m.values()]));

Deno.test("checkpoint: save → load → restore gives the same values and metadata", async () => {
  const dir = await Deno.makeTempDir();
  const saved = model([1, 2, 3, 4, 5, 6], [-0.5, 0.25]), fresh = model();
  const path = `${dir}/sub/model.ckpt`;
  await saveCheckpoint(path, { kind: "test", config: { lr: 1e-3 } }, saved);
  const ckpt = await loadCheckpoint(path);
  assert.deepEqual(ckpt.meta, { kind: "test", config: { lr: 1e-3 } });
  assert.deepEqual(ckpt.variables.get("fc.w")!.shape, [2, 3]);
  restoreVariables(fresh, ckpt);
  assert.deepEqual(values(fresh), [[1, 2, 3, 4, 5, 6], [-0.5, 0.25]]);
  assert.deepEqual(
    [...Deno.readDirSync(`${dir}/sub`)].map((e) => e.name),
    ["model.ckpt"],
    "no temporary file",
  );
  dispose(saved, fresh);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("checkpoint: truncated, foreign or mismatched files are clear errors and change nothing", () => {
  const saved = model([1, 2, 3, 4, 5, 6], [7, 8]);
  const bytes = encodeCheckpoint({ kind: "test" }, saved);
  assert.throws(
    () => decodeCheckpoint(bytes.subarray(0, bytes.length - 4), "m.ckpt"),
    /m\.ckpt: .*truncated/,
  );
  assert.throws(
    () => decodeCheckpoint(new TextEncoder().encode("hello world, not a model")),
    /does not start/,
  );
  const badHeader = bytes.slice();
  badHeader[12] = "!".charCodeAt(0);
  assert.throws(() => decodeCheckpoint(badHeader), /header is not JSON/);
  const ckpt = decodeCheckpoint(bytes);
  // fc.w fits, fc.b has the wrong shape: nothing is set.
  const wrong = new Map<string, tf.Variable>([["fc.w", tf.variable(tf.zeros([2, 3]))], [
    "fc.b",
    tf.variable(tf.zeros([3])),
  ]]);
  assert.throws(() => restoreVariables(wrong, ckpt), /fc\.b: the checkpoint's shape \[2\] is not \[3\]/);
  assert.deepEqual(values(wrong), [[0, 0, 0, 0, 0, 0], [0, 0, 0]], "a failed restore sets nothing");
  const extra = new Map([["fc.u", tf.variable(tf.zeros([1]))]]);
  assert.throws(() => restoreVariables(extra, ckpt), /no variable fc\.u/);
  dispose(saved, wrong, extra);
});

Deno.test("writeAtomic: a failed write leaves neither the file nor a temporary", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/target.bin`); // a folder where the file should go: the rename fails
  await assert.rejects(() => writeAtomic(`${dir}/target.bin`, new Uint8Array([1, 2, 3])));
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["target.bin"]);
  assert.ok(Deno.statSync(`${dir}/target.bin`).isDirectory);
  await Deno.remove(dir, { recursive: true });
});
