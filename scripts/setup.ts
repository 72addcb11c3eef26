/**
 * Installs what the tasks need and a fresh machine lacks: the npm dependencies, Jupyter's
 * nbconvert + nbclient (Debian packages when root, else pip --user, else a clear message),
 * the Deno kernelspec, and a WebGPU adapter for the webgpu backend (`scripts/gpu.ts`: Mesa's software
 * Vulkan driver when root; else the tests that need it are skipped). Idempotent and quick when
 * everything is there.
 *
 *   deno run -A scripts/setup.ts
 */
import { ensureDenoKernel, ensureNbconvert, ensureNodeModules } from "./jupyter.ts";
import { ensureWebGpuAdapter } from "./gpu.ts";

try {
  await ensureNodeModules();
  await ensureNbconvert();
  await ensureDenoKernel();
  await ensureWebGpuAdapter();
} catch (e) {
  console.error(`[setup] ${(e as Error).message}`);
  Deno.exit(1);
}
