/**
 * Saving and loading a model's variables: one file holding a JSON header (the caller's metadata,
 * e.g. the run config, and each variable's name and shape) and the float32 values, written
 * atomically (a temporary file, then a rename), so an interrupted save leaves nothing half written.
 * Loading checks everything it can: the checksum (a flipped byte anywhere is an error), unique
 * names, finite values, and — when restored — the exact set of the model's variables and shapes.
 *
 * Layout: the 8 bytes `OCGSVAR2`, the header's byte length (uint32, little-endian), the CRC-32 of
 * everything after it (uint32), the header (UTF-8 JSON, padded with spaces to a multiple of 4
 * bytes), then every variable's values in header order (float32, little-endian). Files of the first
 * layout (`OCGSVAR1`: no checksum) still load.
 *
 * @example
 * ```ts
 * import { loadCheckpoint, restoreVariables, saveCheckpoint } from "./checkpoint.ts";
 * // await saveCheckpoint("runs/air.ckpt", { kind: "air", config }, trainer.air.params.vars);
 * // const ckpt = await loadCheckpoint("runs/air.ckpt");
 * // restoreVariables(model.params.vars, ckpt);
 * ```
 * @module
 */
import { tf } from "../core/tf.ts";
import { assignValues } from "./params.ts";
import { writeAtomic } from "../core/files.ts";

const MAGIC = "OCGSVAR2", MAGIC_V1 = "OCGSVAR1";

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3, as zip and PNG use) of `bytes`. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A loaded checkpoint: the saved metadata and each variable's shape and values. */
export interface Checkpoint {
  meta: Record<string, unknown>;
  variables: Map<string, { shape: number[]; values: Float32Array }>;
}

/**
 * The checkpoint file's bytes for `vars` (by the model's own names, e.g. `Params.vars`) and `meta`
 * (JSON-serialisable): the variables' current values, or `values` (one array per variable, in
 * order) when the caller has read them already (webgpu reads only asynchronously).
 */
export function encodeCheckpoint(
  meta: Record<string, unknown>,
  vars: ReadonlyMap<string, tf.Variable>,
  values?: ArrayLike<number>[],
): Uint8Array {
  const encoder = new TextEncoder();
  const json = encoder.encode(JSON.stringify({
    meta,
    variables: [...vars].map(([name, v]) => ({ name, shape: v.shape })),
  }));
  const headerLen = Math.ceil(json.length / 4) * 4; // padded with spaces
  const total = [...vars.values()].reduce((n, v) => n + v.size, 0);
  const bytes = new Uint8Array(16 + headerLen + 4 * total);
  bytes.set(encoder.encode(MAGIC), 0);
  const view = new DataView(bytes.buffer);
  view.setUint32(8, headerLen, true);
  bytes.fill(0x20, 16 + json.length, 16 + headerLen).set(json, 16);
  const out = new Float32Array(bytes.buffer, 16 + headerLen, total);
  let at = 0, k = 0;
  for (const v of vars.values()) {
    out.set(values ? values[k++] : v.dataSync() as Float32Array, at);
    at += v.size;
  }
  view.setUint32(12, crc32(bytes.subarray(16)), true);
  return bytes;
}

/**
 * Parses checkpoint bytes; `source` names them in errors. Rejects a file whose checksum does not
 * match, a header naming a variable twice, and values that are not finite.
 */
export function decodeCheckpoint(bytes: Uint8Array, source = "checkpoint"): Checkpoint {
  const bad = (why: string) => new Error(`${source}: not a valid checkpoint (${why})`);
  const magic = bytes.length >= 12 ? new TextDecoder().decode(bytes.subarray(0, 8)) : "";
  if (magic !== MAGIC && magic !== MAGIC_V1) throw bad(`it does not start with ${MAGIC}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const start = magic === MAGIC ? 16 : 12; // the first layout has no checksum
  if (bytes.length < start) throw bad("truncated header");
  const headerLen = view.getUint32(8, true);
  if (headerLen % 4 !== 0 || start + headerLen > bytes.length) throw bad(`header length ${headerLen}`);
  if (magic === MAGIC) {
    const stored = view.getUint32(12, true), actual = crc32(bytes.subarray(16));
    if (stored !== actual) {
      throw bad(
        `checksum ${actual.toString(16)} ≠ stored ${stored.toString(16)}: the file is corrupt or truncated`,
      );
    }
  }
  let header: { meta: Record<string, unknown>; variables: { name: string; shape: number[] }[] };
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(start, start + headerLen)));
  } catch (e) {
    throw bad(`its header is not JSON: ${(e as Error).message}`);
  }
  if (!header || !Array.isArray(header.variables)) throw bad("its header lists no variables");
  const seen = new Set<string>();
  const sizes = header.variables.map((v) => {
    if (
      typeof v.name !== "string" || !Array.isArray(v.shape) ||
      v.shape.some((d) => !Number.isInteger(d) || d < 0)
    ) {
      throw bad(`variable entry ${JSON.stringify(v)}`);
    }
    if (seen.has(v.name)) throw bad(`variable ${v.name} is listed twice`);
    seen.add(v.name);
    return v.shape.reduce((a, d) => a * d, 1);
  });
  const total = sizes.reduce((a, n) => a + n, 0);
  if (bytes.length !== start + headerLen + 4 * total) {
    throw bad(`${bytes.length} bytes, expected ${start + headerLen + 4 * total}: truncated or corrupt`);
  }
  // Copy so the values are aligned and independent of `bytes`.
  const data = new Float32Array(bytes.slice(start + headerLen).buffer);
  const variables = new Map<string, { shape: number[]; values: Float32Array }>();
  let at = 0;
  header.variables.forEach((v, i) => {
    const values = data.subarray(at, at + sizes[i]);
    const k = values.findIndex((x) => !Number.isFinite(x));
    if (k >= 0) throw bad(`variable ${v.name} holds ${values[k]} at element ${k}`);
    variables.set(v.name, { shape: v.shape, values });
    at += sizes[i];
  });
  return { meta: header.meta ?? {}, variables };
}

/** Saves `vars` and `meta` to `path` (atomically; folders are made). */
export async function saveCheckpoint(
  path: string,
  meta: Record<string, unknown>,
  vars: ReadonlyMap<string, tf.Variable>,
): Promise<void> {
  const values = await Promise.all([...vars.values()].map((v) => v.data() as Promise<Float32Array>));
  await writeAtomic(path, encodeCheckpoint(meta, vars, values));
}

/** Loads a checkpoint saved by {@link saveCheckpoint}. */
export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  return decodeCheckpoint(await Deno.readFile(path), path);
}

/**
 * Sets `vars` (by name) from a checkpoint; the checkpoint must hold exactly the model's variables,
 * each with its shape (checked for all before any is set, so a mismatch changes nothing).
 */
export function restoreVariables(vars: ReadonlyMap<string, tf.Variable>, ckpt: Checkpoint): void {
  for (const name of ckpt.variables.keys()) {
    if (!vars.has(name)) {
      throw new RangeError(`the checkpoint holds a variable ${name} the model does not have`);
    }
  }
  for (const [name, v] of vars) {
    const saved = ckpt.variables.get(name);
    if (!saved) throw new RangeError(`the checkpoint has no variable ${name}`);
    if (saved.shape.join(",") !== v.shape.join(",")) {
      throw new RangeError(`${name}: the checkpoint's shape [${saved.shape}] is not [${v.shape}]`);
    }
  }
  for (const [name, v] of vars) assignValues(v, ckpt.variables.get(name)!.values);
}
