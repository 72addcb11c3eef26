/**
 * Saving and loading a model's variables: one file holding a JSON header (the caller's metadata,
 * e.g. the run config, and each variable's name and shape) and the float32 values, written
 * atomically (a temporary file, then a rename), so an interrupted save leaves nothing half written.
 *
 * Layout: the 8 bytes `OCGSVAR1`, the header's byte length (uint32, little-endian), the header
 * (UTF-8 JSON, padded with spaces to a multiple of 4 bytes), then every variable's values in header
 * order (float32, little-endian).
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

const MAGIC = "OCGSVAR1";

/** A loaded checkpoint: the saved metadata and each variable's shape and values. */
export interface Checkpoint {
  meta: Record<string, unknown>;
  variables: Map<string, { shape: number[]; values: Float32Array }>;
}

/**
 * The checkpoint file's bytes for `vars` (their current values, by the model's own names, e.g.
 * `Params.vars`) and `meta` (JSON-serialisable).
 */
export function encodeCheckpoint(
  meta: Record<string, unknown>,
  vars: ReadonlyMap<string, tf.Variable>,
): Uint8Array {
  const encoder = new TextEncoder();
  const json = encoder.encode(JSON.stringify({
    meta,
    variables: [...vars].map(([name, v]) => ({ name, shape: v.shape })),
  }));
  const headerLen = Math.ceil(json.length / 4) * 4; // padded with spaces
  const total = [...vars.values()].reduce((n, v) => n + v.size, 0);
  const bytes = new Uint8Array(12 + headerLen + 4 * total);
  bytes.set(encoder.encode(MAGIC), 0);
  new DataView(bytes.buffer).setUint32(8, headerLen, true);
  bytes.fill(0x20, 12 + json.length, 12 + headerLen).set(json, 12);
  const values = new Float32Array(bytes.buffer, 12 + headerLen, total);
  let at = 0;
  for (const v of vars.values()) {
    values.set(v.dataSync() as Float32Array, at);
    at += v.size;
  }
  return bytes;
}

/** Parses checkpoint bytes; `source` names them in errors. */
export function decodeCheckpoint(bytes: Uint8Array, source = "checkpoint"): Checkpoint {
  const bad = (why: string) => new Error(`${source}: not a valid checkpoint (${why})`);
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) {
    throw bad(`it does not start with ${MAGIC}`);
  }
  const headerLen = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
  if (headerLen % 4 !== 0 || 12 + headerLen > bytes.length) throw bad(`header length ${headerLen}`);
  let header: { meta: Record<string, unknown>; variables: { name: string; shape: number[] }[] };
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLen)));
  } catch (e) {
    throw bad(`its header is not JSON: ${(e as Error).message}`);
  }
  if (!header || !Array.isArray(header.variables)) throw bad("its header lists no variables");
  const sizes = header.variables.map((v) => {
    if (typeof v.name !== "string" || !Array.isArray(v.shape) || v.shape.some((d) => !Number.isInteger(d))) {
      throw bad(`variable entry ${JSON.stringify(v)}`);
    }
    return v.shape.reduce((a, d) => a * d, 1);
  });
  const total = sizes.reduce((a, n) => a + n, 0);
  if (bytes.length !== 12 + headerLen + 4 * total) {
    throw bad(`${bytes.length} bytes, expected ${12 + headerLen + 4 * total}: truncated or corrupt`);
  }
  // Copy so the values are aligned and independent of `bytes`.
  const data = new Float32Array(bytes.slice(12 + headerLen).buffer);
  const variables = new Map<string, { shape: number[]; values: Float32Array }>();
  let at = 0;
  header.variables.forEach((v, i) => {
    variables.set(v.name, { shape: v.shape, values: data.subarray(at, at + sizes[i]) });
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
  await writeAtomic(path, encodeCheckpoint(meta, vars));
}

/** Loads a checkpoint saved by {@link saveCheckpoint}. */
export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  return decodeCheckpoint(await Deno.readFile(path), path);
}

/**
 * Sets `vars` (by name) from a checkpoint; every variable must be there with its shape (checked
 * for all before any is set, so a mismatch changes nothing).
 */
export function restoreVariables(vars: ReadonlyMap<string, tf.Variable>, ckpt: Checkpoint): void {
  for (const [name, v] of vars) {
    const saved = ckpt.variables.get(name);
    if (!saved) throw new RangeError(`the checkpoint has no variable ${name}`);
    if (saved.shape.join(",") !== v.shape.join(",")) {
      throw new RangeError(`${name}: the checkpoint's shape [${saved.shape}] is not [${v.shape}]`);
    }
  }
  for (const [name, v] of vars) assignValues(v, ckpt.variables.get(name)!.values);
}
