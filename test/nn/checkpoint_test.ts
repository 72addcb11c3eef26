import assert from "node:assert/strict";
import { initTf, tf } from "../../lib/core/tf.ts";
import {
  crc32,
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
  const badHeader = resealed(bytes, (b) => b[16] = "!".charCodeAt(0));
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
  assert.throws(() => restoreVariables(extra, ckpt), /holds a variable fc\.w the model does not have/);
  const fewer = new Map([["fc.w", tf.variable(tf.zeros([2, 3]))]]);
  assert.throws(() => restoreVariables(fewer, ckpt), /holds a variable fc\.b the model does not have/);
  const more = model();
  more.set("fc.u", tf.variable(tf.zeros([1])));
  assert.throws(() => restoreVariables(more, ckpt), /no variable fc\.u/);
  dispose(saved, wrong, extra, fewer, more);
});

/** `bytes` changed by `edit`, with the checksum recomputed (a deliberate, consistent change). */
function resealed(bytes: Uint8Array, edit: (b: Uint8Array) => void): Uint8Array {
  const b = bytes.slice();
  edit(b);
  new DataView(b.buffer).setUint32(12, crc32(b.subarray(16)), true);
  return b;
}

Deno.test("checkpoint: a flipped byte, a swapped header, NaN or ∞ weights and duplicate names are refused", () => {
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926); // the standard check value
  const saved = model([1, 2, 3, 4, 5, 6], [7, 8]);
  const bytes = encodeCheckpoint({ kind: "test" }, saved);
  const flipped = bytes.slice();
  flipped[flipped.length - 3] ^= 0x10; // one bit of the last weight
  assert.throws(
    () => decodeCheckpoint(flipped, "m.ckpt"),
    /m\.ckpt: .*checksum .* the file is corrupt or truncated/,
  );
  // Two same-shape variables swapped in the header (and nowhere else): the checksum sees it.
  const twins = new Map([["a", tf.variable(tf.ones([2]))], ["b", tf.variable(tf.zeros([2]))]]);
  const tb = encodeCheckpoint({}, twins);
  const text = new TextDecoder().decode(tb);
  const i = text.indexOf('"name":"a"'), j = text.indexOf('"name":"b"');
  const swapped = tb.slice();
  swapped[i + 8] = "b".charCodeAt(0);
  swapped[j + 8] = "a".charCodeAt(0);
  assert.throws(() => decodeCheckpoint(swapped), /checksum/);
  // Even with a matching checksum, a name listed twice is refused.
  const twice = resealed(tb, (b) => b[j + 8] = "a".charCodeAt(0));
  assert.throws(() => decodeCheckpoint(twice), /variable a is listed twice/);
  for (const bad of [NaN, Infinity, -Infinity]) {
    const m = model([1, 2, bad, 4, 5, 6]);
    assert.throws(
      () => decodeCheckpoint(encodeCheckpoint({}, m), "w.ckpt"),
      new RegExp(`w\\.ckpt: .*fc\\.w holds ${bad} at element 2`),
    );
    dispose(m);
  }
  // The first layout (no checksum) still loads.
  const v1 = new Uint8Array(bytes.length - 4);
  v1.set(new TextEncoder().encode("OCGSVAR1"), 0);
  v1.set(bytes.subarray(8, 12), 8);
  v1.set(bytes.subarray(16), 12);
  assert.deepEqual([...decodeCheckpoint(v1).variables.get("fc.b")!.values], [7, 8]);
  dispose(saved, twins);
});

Deno.test("writeAtomic: a failed write leaves neither the file nor a temporary", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/target.bin`); // a folder where the file should go: the rename fails
  await assert.rejects(() => writeAtomic(`${dir}/target.bin`, new Uint8Array([1, 2, 3])));
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["target.bin"]);
  assert.ok(Deno.statSync(`${dir}/target.bin`).isDirectory);
  await Deno.remove(dir, { recursive: true });
});
