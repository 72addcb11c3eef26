/**
 * The WebGPU adapter the webgpu backend needs. On Linux without one, Debian's `mesa-vulkan-drivers`
 * (Mesa's lavapipe, a software Vulkan adapter) gives Deno one, so the webgpu path runs — slowly —
 * on any machine, and its equivalence tests run in CI. Installed when root with apt-get; otherwise
 * the command is printed and the webgpu tests are skipped.
 *
 *   deno run -A scripts/gpu.ts     (also run by scripts/setup.ts)
 * @module
 */
import { findAdapter, WEBGPU_HELP } from "../lib/core/webgpu.ts";
import { run, runLoud } from "./jupyter.ts";

const log = (msg: string) => console.error(`[setup] ${msg}`);

export const VULKAN_PACKAGES = ["mesa-vulkan-drivers"];

/**
 * Makes sure Deno finds a WebGPU adapter, installing Mesa's software Vulkan driver when it can: with
 * no hardware adapter, on Linux, as root with apt-get. (Without it, wgpu may still find Mesa's OpenGL
 * llvmpipe through EGL — about 15× slower than lavapipe on the webgpu tests.) Never fails the setup.
 */
export async function ensureWebGpuAdapter(): Promise<void> {
  const adapter = await findAdapter();
  if (adapter && !adapter.software) return;
  const canApt = Deno.build.os === "linux" && Deno.uid() === 0 &&
    (await run("sh", ["-c", "command -v apt-get"])).code === 0;
  if (!canApt) {
    if (!adapter) log(`no WebGPU adapter: the webgpu tests will be skipped; ${WEBGPU_HELP}`);
    return;
  }
  const installed = (await run("dpkg", ["-s", ...VULKAN_PACKAGES])).code === 0;
  if (installed) return;
  log(
    `${adapter ? "only a slow software adapter" : "no WebGPU adapter"}; installing Debian packages: ${
      VULKAN_PACKAGES.join(", ")
    }`,
  );
  await runLoud("apt-get", ["update", "-qq"], "apt-get update");
  const install = `DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${
    VULKAN_PACKAGES.join(" ")
  }`;
  await runLoud("sh", ["-c", install], "apt-get install");
  // This process's adapter list was read before the driver existed; a fresh process sees it.
  const probe = await run(Deno.execPath(), [
    "eval",
    "const a = await navigator.gpu?.requestAdapter(); Deno.exit(a ? 0 : 1)",
  ]);
  log(probe.code === 0 ? "WebGPU adapter found" : `still no WebGPU adapter; ${WEBGPU_HELP}`);
}

if (import.meta.main) await ensureWebGpuAdapter();
