/**
 * tfjs backend choice and small memory helpers.
 *
 * {@link initTf} selects a backend:
 * - `wasm` (the default) — WebAssembly with SIMD (≈ 40× the plain `cpu` backend on matMul), on every
 *   machine; falls back to `cpu` with a visible notice when it cannot start;
 * - `webgpu` — tfjs's WebGPU backend on Deno's WebGPU (Vulkan, Metal or DX12; on Linux without a GPU,
 *   Mesa's software adapter "llvmpipe" from Debian's `mesa-vulkan-drivers`). Asked for with no adapter,
 *   it throws, naming what to install;
 * - `cpu` — plain JavaScript;
 * - `auto` — `webgpu` when a hardware adapter is present, else `wasm`.
 *
 * `TFJS_BACKEND` picks the backend when the caller names none (notebooks and tests). `initTf` also
 * installs the fast conv and matMul gradients of `wasm_grads.ts` (wasm has no `Conv2DBackpropFilter`).
 *
 * On `webgpu` the host cannot read a tensor synchronously (`dataSync` needs a canvas Deno lacks):
 * every model reads with `await t.data()`, or reads synchronously only where {@link readsSync} says
 * the backend can (wasm's faster paths).
 *
 * @example
 * ```ts
 * import { initTf, tf } from "./tf.ts";
 * const info = await initTf();           // { backend: "wasm", adapter: null, notice: null }
 * const y = tf.tidy(() => tf.add(1, 2));
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { installFastGrads } from "./wasm_grads.ts";
import { findAdapter, WEBGPU_HELP } from "./webgpu.ts";

export { tf };

// tfjs's cpu backend greets Node.js users on first use ("Hi, looks like you are running TensorFlow.js
// in Node.js …"), and Deno counts as Node.js: it would land in CLI, test and notebook output. The
// banner is printed when the backend's `firstUse` flag is set, so the factory hands out backends
// with it cleared.
const cpuFactory = tf.findBackendFactory("cpu");
if (cpuFactory) {
  tf.removeBackend("cpu");
  tf.registerBackend("cpu", () => {
    const backend = cpuFactory() as tf.KernelBackend & { firstUse?: boolean };
    backend.firstUse = false;
    return backend;
  }, 1);
}

/** The backends {@link initTf} accepts. */
export const BACKENDS = ["wasm", "webgpu", "cpu", "auto"] as const;
export type BackendChoice = typeof BACKENDS[number];

/** `name` as a backend choice, or a RangeError naming `label` (the flag or variable it came from). */
function checkBackend(name: string, label: string): BackendChoice {
  if ((BACKENDS as readonly string[]).includes(name)) return name as BackendChoice;
  throw new RangeError(`${label} must be one of ${BACKENDS.join(", ")}, got ${JSON.stringify(name)}`);
}

/** Which backend is active, its adapter (webgpu), and a notice for the reader when it is not the requested one. */
export interface BackendInfo {
  backend: string;
  /** The WebGPU adapter, e.g. "llvmpipe (software)"; null on wasm and cpu. */
  adapter: string | null;
  notice: string | null;
}

let adapterName: string | null = null;

/**
 * Selects a backend before any op runs: `preferred`, else `TFJS_BACKEND`, else "wasm". wasm falls
 * back to "cpu" with a notice (also written to stderr, so a fallback is never silent); "webgpu"
 * with no adapter throws, naming what to install; "auto" is webgpu on a hardware adapter, else wasm.
 */
export async function initTf(preferred?: BackendChoice): Promise<BackendInfo> {
  let choice = preferred === undefined
    ? checkBackend(Deno.env.get("TFJS_BACKEND") || "wasm", "TFJS_BACKEND")
    : checkBackend(preferred, "backend");
  let notice: string | null = null;
  if (choice === "webgpu" || choice === "auto") {
    const adapter = await findAdapter();
    if (choice === "auto") {
      choice = adapter && !adapter.software ? "webgpu" : "wasm";
      if (adapter?.software) {
        notice = `auto: the only WebGPU adapter is a software one (${adapter.name}); using wasm`;
      }
    } else if (!adapter) {
      throw new Error(`backend "webgpu": Deno found no WebGPU adapter; ${WEBGPU_HELP}`);
    }
    if (choice === "webgpu") {
      await import("@tensorflow/tfjs-backend-webgpu");
      if (!(await tf.setBackend("webgpu"))) {
        throw new Error(`backend "webgpu": tfjs could not start on adapter ${adapter!.name}`);
      }
      adapterName = `${adapter!.name}${adapter!.software ? " (software)" : ""}`;
    }
  }
  if (choice === "wasm" || choice === "cpu") {
    adapterName = null;
    let ok = false, failure = "is unavailable";
    try {
      ok = await tf.setBackend(choice);
    } catch (e) {
      failure = `failed to start (${(e as Error).message})`;
    }
    if (!ok) {
      const fallback = `tfjs backend "${choice}" ${failure}; using "cpu" (≈ 40× slower)`;
      notice = notice ? `${notice}; ${fallback}` : fallback;
      await tf.setBackend("cpu");
    }
  }
  await tf.ready();
  // wasm lacks Conv2DBackpropFilter and is slow on transposed matMuls: flag-free gradients (built
  // from ops, so every backend runs the same gradient formulas).
  installFastGrads();
  if (notice) console.error(`[tf] ${notice}`);
  return { backend: tf.getBackend(), adapter: adapterName, notice };
}

/** Whether the active backend can read a tensor synchronously (`dataSync`): wasm and cpu, not webgpu. */
export function readsSync(): boolean {
  const backend = tf.getBackend();
  return backend === "wasm" || backend === "cpu";
}

/** `x` as a constant of the gradient (tfjs has no stopGradient): the same values, a zero gradient. */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  const op = tf.customGrad(
    ((a: tf.Tensor) => ({
      value: a.clone(),
      gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
    })) as unknown as Parameters<typeof tf.customGrad>[0],
  );
  return op(x) as T;
}

/** A CLI's `--backend`: checks the flag, starts the backend ({@link initTf}) and says on stderr what it runs on. */
export async function initCliBackend(cli: string, backend: string): Promise<BackendInfo> {
  const info = await initTf(checkBackend(backend, "--backend"));
  console.error(`[${cli}] backend ${info.backend}${info.adapter ? ` on ${info.adapter}` : ""}`);
  return info;
}

interface WasmBackend {
  typedArrayFromHeap(t: { shape: number[]; dtype: string; dataId: object }): Float32Array;
}

/**
 * A float32 tensor's values without copying them out: on wasm, a view of the backend's memory,
 * valid only until the next tensor is allocated (which may move that memory), so read it at once
 * and never write it; elsewhere `dataSync()`.
 */
export function peekData(t: tf.Tensor): Float32Array {
  if (tf.getBackend() !== "wasm" || t.dtype !== "float32") return t.dataSync() as Float32Array;
  const wasm = tf.backend() as unknown as WasmBackend;
  return wasm.typedArrayFromHeap(t as unknown as { shape: number[]; dtype: string; dataId: object });
}

/** Number of live tensors: compare before and after a training step to catch leaks. */
export function liveTensors(): number {
  return tf.memory().numTensors;
}

/**
 * Runs `fn` and throws if it leaves more live tensors than it found
 * (plus `allowed`, for tensors the caller means to keep).
 */
export async function assertNoLeak<T>(fn: () => T | Promise<T>, allowed = 0): Promise<T> {
  const before = liveTensors();
  const out = await fn();
  const leaked = liveTensors() - before - allowed;
  if (leaked > 0) throw new Error(`tensor leak: ${leaked} tensor(s) left alive`);
  return out;
}

/** Copies a tensor to a plain Float32Array (with its shape) and disposes it. */
export async function toArray(t: tf.Tensor): Promise<{ data: Float32Array; shape: number[] }> {
  try {
    return { data: new Float32Array(await t.data()), shape: t.shape.slice() };
  } finally {
    t.dispose();
  }
}

/** The software and machine a result came from (the CLIs' `env` field). */
export function environment(): Record<string, string> {
  return {
    deno: Deno.version.deno,
    tfjs: tf.version.tfjs,
    backend: tf.getBackend(),
    ...(adapterName ? { adapter: adapterName } : {}),
    os: `${Deno.build.os} ${Deno.build.arch}`,
    cpus: String(navigator.hardwareConcurrency),
  };
}
