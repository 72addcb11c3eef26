/**
 * Writing files so that nothing is left half written and no run is lost: atomic writes (a
 * temporary file, then a rename; the temporary is removed on failure and on SIGINT/SIGTERM), a
 * probe that a path can be written before a long run starts, and a fallback path when the save at
 * the end fails all the same.
 *
 * @example
 * ```ts
 * import { probeWritable, writeAtomic } from "./files.ts";
 * await probeWritable("data/out.bin"); // before the work: throws now if the folder is not writable
 * await writeAtomic("data/out.bin", new Uint8Array([1, 2, 3]));
 * ```
 * @module
 */
import { dirname } from "node:path";

/** Temporary files of writes in progress, removed if the process is interrupted. */
const partials = new Set<string>();
const SIGNALS = [["SIGINT", 130], ["SIGTERM", 143]] as const;
const onSignal = SIGNALS.map(([signal, code]) =>
  [signal, () => {
    removePartials();
    Deno.exit(code);
  }] as const
);

/** Removes the temporary files of every write in progress (what an interrupt handler does). */
export function removePartials(): void {
  for (const tmp of partials) {
    try {
      Deno.removeSync(tmp);
    } catch { /* already gone */ }
  }
  partials.clear();
}

function track(tmp: string): void {
  if (partials.size === 0 && Deno.build.os !== "windows") {
    for (const [signal, handler] of onSignal) Deno.addSignalListener(signal, handler);
  }
  partials.add(tmp);
}

function untrack(tmp: string): void {
  partials.delete(tmp);
  if (partials.size === 0 && Deno.build.os !== "windows") {
    for (const [signal, handler] of onSignal) Deno.removeSignalListener(signal, handler);
  }
}

/**
 * Writes `bytes` to `path` atomically: a temporary file in the same folder, then a rename (folders
 * are made). A failed write, or SIGINT/SIGTERM during it, leaves no temporary behind.
 */
export async function writeAtomic(path: string, bytes: Uint8Array): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.partial-${Deno.pid}-${Math.random().toString(36).slice(2, 8)}`;
  track(tmp);
  try {
    await Deno.writeFile(tmp, bytes);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  } finally {
    untrack(tmp);
  }
}

/**
 * Checks, before any long work, that `path` can be written: makes its folder and creates and
 * removes a probe file beside it. Throws naming `path` and why (a folder, no permission, …).
 */
export async function probeWritable(path: string): Promise<void> {
  if ((await Deno.stat(path).catch(() => null))?.isDirectory) {
    throw new Error(`${path} is a folder; give a file path`);
  }
  const probe = `${path}.probe-${Deno.pid}`;
  try {
    await Deno.mkdir(dirname(path), { recursive: true });
    await Deno.writeFile(probe, new Uint8Array(0), { createNew: true });
  } catch (e) {
    throw new Error(`cannot write ${path}: ${(e as Error).message}`);
  } finally {
    await Deno.remove(probe).catch(() => {});
  }
}

/**
 * Saves with `write(path)`; if that fails, saves to a fresh file in the system's temporary folder
 * instead and throws an error that names both, so the work is not lost. Returns the path written.
 */
export async function saveOrFallback(
  path: string,
  write: (path: string) => Promise<void>,
  prefix = "run-",
): Promise<string> {
  try {
    await write(path);
    return path;
  } catch (e) {
    const suffix = /\.[a-z0-9]+$/i.exec(path)?.[0] ?? "";
    const fallback = await Deno.makeTempFile({ prefix, suffix });
    await write(fallback);
    throw new Error(`saving to ${path} failed (${(e as Error).message}); saved to ${fallback} instead`);
  }
}
