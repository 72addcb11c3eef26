/**
 * tfjs backend choice and small memory helpers.
 *
 * {@link initTf} selects the WebAssembly backend (its SIMD binary is picked up
 * automatically; ≈ 40× the plain `cpu` backend on matMul) and falls back to
 * `cpu` with a visible notice when wasm cannot start. It also installs the fast conv and matMul
 * gradients of `wasm_grads.ts` (wasm has no `Conv2DBackpropFilter`).
 *
 * @example
 * ```ts
 * import { initTf, tf } from "./tf.ts";
 * const info = await initTf();           // { backend: "wasm", notice: null }
 * const y = tf.tidy(() => tf.add(1, 2));
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { installFastGrads } from "./wasm_grads.ts";

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

/** Which backend is active, and a notice for the reader when it is not the requested one. */
export interface BackendInfo {
  backend: string;
  notice: string | null;
}

/**
 * Selects `preferred` ("wasm" by default) before any op runs; falls back to "cpu".
 * The notice is also written to stderr, so a fallback is never silent.
 */
export async function initTf(preferred: "wasm" | "cpu" = "wasm"): Promise<BackendInfo> {
  if (preferred !== "wasm" && preferred !== "cpu") {
    throw new RangeError(`initTf: preferred must be "wasm" or "cpu", got ${JSON.stringify(preferred)}`);
  }
  let notice: string | null = null;
  let ok = false;
  try {
    ok = await tf.setBackend(preferred);
  } catch (e) {
    notice = `tfjs backend "${preferred}" failed to start (${
      (e as Error).message
    }); using "cpu" (≈ 40× slower)`;
  }
  if (!ok) {
    notice ??= `tfjs backend "${preferred}" is unavailable; using "cpu" (≈ 40× slower)`;
    await tf.setBackend("cpu");
  }
  await tf.ready();
  // wasm lacks Conv2DBackpropFilter and is slow on transposed matMuls: flag-free gradients.
  installFastGrads();
  if (notice) console.error(`[tf] ${notice}`);
  return { backend: tf.getBackend(), notice };
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
    os: `${Deno.build.os} ${Deno.build.arch}`,
    cpus: String(navigator.hardwareConcurrency),
  };
}
