/**
 * Finding Deno's WebGPU adapter, without loading tfjs (the setup script uses it before the npm
 * packages are in place).
 *
 * @example
 * ```ts
 * import { findAdapter } from "./webgpu.ts";
 * const adapter = await findAdapter(); // { name: "llvmpipe (LLVM 15.0.6, 256 bits)", software: true } or null
 * ```
 * @module
 */

/** What to install for a WebGPU adapter, per platform. */
export const WEBGPU_HELP = "install a Vulkan driver (Debian/Ubuntu without a GPU: `apt-get install " +
  "mesa-vulkan-drivers`, Mesa's software adapter; with a GPU: its vendor's Vulkan driver) — macOS (Metal) " +
  "and Windows (DX12) need nothing";

/** The WebGPU adapter Deno offers, or null (no `navigator.gpu`, or no adapter). */
export async function findAdapter(): Promise<{ name: string; software: boolean } | null> {
  // Deno's WebGPU wants a runtime dir for its Vulkan loader; without one it prints a warning.
  if (!Deno.env.get("XDG_RUNTIME_DIR")) Deno.env.set("XDG_RUNTIME_DIR", Deno.makeTempDirSync());
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) return null;
  type Adapter = {
    info?: { device?: string; description?: string; vendor?: string };
    isFallbackAdapter?: boolean;
  };
  let adapter: Adapter | null;
  try {
    adapter = await gpu.requestAdapter() as Adapter | null;
  } catch {
    return null; // no Vulkan loader, or a driver that fails to start: no adapter
  }
  if (!adapter) return null;
  const info = adapter.info ?? {};
  // Deno fills `description` with the driver's name ("llvmpipe (LLVM 15.0.6, 256 bits)"); device and
  // vendor are PCI ids.
  const name = info.description || [info.vendor, info.device].filter(Boolean).join(":") || "unnamed adapter";
  const software = Boolean(adapter.isFallbackAdapter) || /llvmpipe|swiftshader|lavapipe/i.test(name);
  return { name, software };
}
