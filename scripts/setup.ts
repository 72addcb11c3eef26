/**
 * Installs what the tasks need and a fresh machine lacks: the npm dependencies, Jupyter's
 * nbconvert + nbclient (Debian packages when root, else pip --user, else a clear message),
 * and the Deno kernelspec. Idempotent and quick when everything is there.
 *
 *   deno run -A scripts/setup.ts
 */
import { ensureDenoKernel, ensureNbconvert, ensureNodeModules } from "./jupyter.ts";

try {
  await ensureNodeModules();
  await ensureNbconvert();
  await ensureDenoKernel();
} catch (e) {
  console.error(`[setup] ${(e as Error).message}`);
  Deno.exit(1);
}
