/**
 * The guide's test-time reading over both cores: tfjs's wasm backend runs on one thread, so `threads`
 * − 1 Web Workers (`read_worker.ts`) each hold a copy of the trained network and read a contiguous
 * share of the images while this thread reads the first. Each image's reading depends on nothing
 * else, so the answer is `predictSingle`'s on all the images at once, image for image.
 *
 * @example
 * ```ts
 * import { initTf } from "../core/tf.ts";
 * import { Rng } from "../core/random.ts";
 * import { singleObjectNet } from "./unsupervised.ts";
 * import { ReadPool } from "./read_pool.ts";
 * await initTf();
 * const net = singleObjectNet(new Rng(0), { size: 32, hidden: 16, presence: true });
 * const pool = await ReadPool.start(net, 2);
 * const read = await pool.read(new Float32Array(4 * 32 * 32), 4, undefined, "6d", { steps: 3 });
 * pool.close();
 * read.length; // 4
 * ```
 * @module
 */
import type { Camera } from "../scenes/primitives.ts";
import type { SlotPrediction } from "../metrics/slots.ts";
import { shardRows } from "../nn/allreduce.ts";
import {
  predictSingle,
  type ReadOptions,
  type SingleNetShape,
  type SingleObjectNet,
} from "./unsupervised.ts";

/** What a worker is sent first: the network's shape and weights. */
export interface ReadSetup {
  shape: SingleNetShape;
  weights: [string, Float32Array][];
}

/** A share of images to read (`predictSingle`'s arguments; no `scoring`, whose likelihood stays here). */
export interface ReadJob {
  images: Float32Array;
  n: number;
  camera: Camera | undefined;
  rotation: "6d" | "euler";
  options: Omit<ReadOptions, "scoring">;
}

/** A network's reading over `threads` threads: this one and `threads` − 1 workers holding copies of it. */
export class ReadPool {
  #workers: Worker[];
  private constructor(readonly net: SingleObjectNet, workers: Worker[]) {
    this.#workers = workers;
  }

  /** Number of threads reading (this one and the workers). */
  get threads(): number {
    return this.#workers.length + 1;
  }

  /**
   * Starts `threads` − 1 workers, each with a copy of `net`'s current weights (a network trained later
   * needs a new pool). `threads` 1 starts none: the reading is `predictSingle`'s here.
   */
  static async start(net: SingleObjectNet, threads: number): Promise<ReadPool> {
    if (!(Number.isInteger(threads) && threads >= 1)) {
      throw new RangeError(`threads must be an integer ≥ 1, got ${threads}`);
    }
    const workers: Worker[] = [];
    if (threads === 1) return new ReadPool(net, workers);
    const setup: ReadSetup = { shape: net.shape, weights: [...await net.params.snapshot()] };
    try {
      await Promise.all(
        Array.from({ length: threads - 1 }, (_, r) => {
          const worker = new Worker(new URL("./read_worker.ts", import.meta.url).href, { type: "module" });
          workers.push(worker);
          const ready = reply<{ ready: true }>(worker, `reading worker ${r + 1}`);
          worker.postMessage(setup);
          return ready;
        }),
      );
    } catch (err) {
      for (const w of workers) w.terminate();
      throw err;
    }
    return new ReadPool(net, workers);
  }

  /**
   * `predictSingle(net, images, n, camera, rotation, options)` with the images split into contiguous
   * shares, one per thread (`yaw`, when given, split alike).
   */
  async read(
    images: Float32Array,
    n: number,
    camera: Camera | undefined,
    rotation: "6d" | "euler",
    options: Omit<ReadOptions, "scoring"> = {},
  ): Promise<SlotPrediction[][]> {
    const px = this.net.size * this.net.size, R = this.threads;
    // This thread's share is a view; a worker's is a copy (a view would post its whole buffer).
    const share = (r: number) => {
      const [lo, hi] = shardRows(n, R, r), cut = r === 0 ? "subarray" : "slice";
      const yaw = options.yaw?.[cut](lo, hi);
      return {
        images: images[cut](lo * px, hi * px),
        n: hi - lo,
        options: { ...options, ...(yaw ? { yaw } : {}) },
      };
    };
    const parts = await Promise.all([
      (() => {
        const s = share(0);
        return predictSingle(this.net, s.images, s.n, camera, rotation, s.options);
      })(),
      ...this.#workers.map((worker, w) => {
        const s = share(w + 1);
        const done = reply<{ predictions: SlotPrediction[][] }>(worker, `reading worker ${w + 1}`);
        const job: ReadJob = { ...s, camera, rotation };
        worker.postMessage(job);
        return done.then((m) => m.predictions);
      }),
    ]);
    return parts.flat();
  }

  /** Ends the workers. */
  close(): void {
    for (const w of this.#workers) w.terminate();
    this.#workers = [];
  }
}

/** The worker's next message, or its error as a rejection that names it. */
function reply<T>(worker: Worker, name: string): Promise<T> {
  return new Promise((resolve, reject) => {
    worker.onmessage = (e: MessageEvent<T & { error?: string }>) =>
      e.data?.error === undefined ? resolve(e.data) : reject(new Error(`${name}: ${e.data.error}`));
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      reject(new Error(`${name}: ${e.message}`));
    };
  });
}
