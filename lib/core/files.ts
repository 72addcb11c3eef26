/**
 * Writing files so that an interrupted write leaves nothing half written.
 *
 * @example
 * ```ts
 * import { writeAtomic } from "./files.ts";
 * await writeAtomic("data/out.bin", new Uint8Array([1, 2, 3]));
 * ```
 * @module
 */
import { dirname } from "node:path";

/** Writes `bytes` to `path` atomically: a temporary file in the same folder, then a rename (folders are made). */
export async function writeAtomic(path: string, bytes: Uint8Array): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.partial-${Deno.pid}-${Math.random().toString(36).slice(2, 8)}`;
  try {
    await Deno.writeFile(tmp, bytes);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}
