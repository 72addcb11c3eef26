/**
 * Data-parallel training over threads: gradients summed through shared memory, the optimiser
 * sharded over the replicas.
 *
 * tfjs's wasm backend runs on one thread (its multithreaded build does not load under Deno), so a
 * 2-core machine leaves a core idle. Here R replicas of a model, the main thread (rank 0) and
 * R − 1 Web Workers, each hold the same weights. Every step the main thread hands each worker its
 * shard of the batch (through shared memory), every replica computes the gradient of its shard's
 * loss, and all of them then form the same sum in rank order,
 *
 *     g = Σ_r w_r g_r,      w_r = n_r / n   (n_r rows of the batch's n),
 *
 * which is the gradient of the whole batch's mean loss. The flat parameter vector is split into R
 * ranges; replica r sums g over its range only, runs the optimiser on that range and writes the
 * new weights into a shared copy of the parameters, from which every replica then loads all of
 * them (a reduce-scatter and an all-gather, as ZeRO shards optimiser state). Every weight is
 * updated once, by one replica, so the replicas stay bit-identical, and each does 1/R of the
 * summing and of the optimiser's work.
 *
 * Synchronisation is by `Atomics.wait`/`notify` on two step counters per rank: "gradient
 * written" and "range updated". Nobody writes the next step's gradient before every replica has
 * finished reading this step's (second barrier), and nobody writes the shared weights before every
 * replica has loaded the last ones (first barrier of the next step), so one buffer of each
 * suffices. A replica that fails writes its message into the shared block; the others stop
 * waiting and throw it.
 *
 * @example
 * ```ts
 * import { ReplicaGroup } from "./allreduce.ts";
 * const layout = { replicas: 2, gradFloats: 3, inputFloats: 0, extras: 1 };
 * const sab = ReplicaGroup.allocate(layout);
 * // main thread: new ReplicaGroup(sab, layout, 0); a worker given `sab`: new ReplicaGroup(sab, layout, 1)
 * ```
 * @module
 */

/** Sizes of the shared block. */
export interface ReplicaLayout {
  /** R: number of replicas (the main thread is rank 0). */
  replicas: number;
  /** Length of the flat gradient every replica contributes (= the number of parameters). */
  gradFloats: number;
  /** Length of each rank's input region (a batch shard the main thread writes). */
  inputFloats: number;
  /** Number of per-step scalars (e.g. the shard's loss) summed alongside the gradient. */
  extras: number;
}

/** A step's command from the main thread: its number and scalars (e.g. the run's progress). */
export interface ReplicaCommand {
  step: number;
  scalars: number[];
}

// Int32 slots: command step (−1 stops), failing rank + 1; then per rank: gradient written, range updated
const CMD = 0, ERR = 1, WROTE = 8;
const SCALARS = 8, ERROR_BYTES = 1024;

const align8 = (bytes: number) => Math.ceil(bytes / 8) * 8;

function regions(l: ReplicaLayout) {
  let at = 0;
  const take = (bytes: number) => {
    const start = at;
    at = align8(at + bytes);
    return start;
  };
  return {
    ctrl: take(4 * (WROTE + 2 * l.replicas)),
    scalars: take(8 * SCALARS),
    error: take(ERROR_BYTES),
    extras: take(8 * l.replicas * l.extras),
    inputs: take(4 * l.replicas * l.inputFloats),
    grads: take(4 * l.replicas * l.gradFloats),
    weights: take(4 * l.gradFloats),
    bytes: at,
  };
}

/** Checks a layout, naming the bad field. */
export function validateReplicaLayout(l: ReplicaLayout): void {
  const limits: [keyof ReplicaLayout, number][] = [["replicas", 1], ["gradFloats", 0], [
    "inputFloats",
    0,
  ], ["extras", 0]];
  for (const [k, min] of limits) {
    if (!Number.isInteger(l[k]) || l[k] < min) {
      throw new RangeError(`replica layout: ${k} must be an integer ≥ ${min}, got ${l[k]}`);
    }
  }
}

/** One replica's view of the shared block (every rank builds its own from the same buffer). */
export class ReplicaGroup {
  readonly #ctrl: Int32Array;
  readonly #scalars: Float64Array;
  readonly #error: Uint8Array;
  readonly #extras: Float64Array;
  readonly #inputs: Float32Array;
  readonly #grads: Float32Array;
  readonly #weights: Float32Array;
  readonly #sum: Float32Array;
  /** This replica's range [from, to) of the flat parameters. */
  readonly range: [number, number];
  /** How long a replica waits for another before giving up (ms). */
  timeoutMs = 600_000;

  /** A zeroed shared block for `layout`. */
  static allocate(layout: ReplicaLayout): SharedArrayBuffer {
    validateReplicaLayout(layout);
    return new SharedArrayBuffer(regions(layout).bytes);
  }

  constructor(sab: SharedArrayBuffer, readonly layout: ReplicaLayout, readonly rank: number) {
    validateReplicaLayout(layout);
    const r = regions(layout), R = layout.replicas;
    if (!Number.isInteger(rank) || rank < 0 || rank >= R) {
      throw new RangeError(`rank must be an integer in 0..${R - 1}, got ${rank}`);
    }
    if (sab.byteLength !== r.bytes) {
      throw new RangeError(`shared block has ${sab.byteLength} bytes; the layout needs ${r.bytes}`);
    }
    this.#ctrl = new Int32Array(sab, r.ctrl, WROTE + 2 * R);
    this.#scalars = new Float64Array(sab, r.scalars, SCALARS);
    this.#error = new Uint8Array(sab, r.error, ERROR_BYTES);
    this.#extras = new Float64Array(sab, r.extras, R * layout.extras);
    this.#inputs = new Float32Array(sab, r.inputs, R * layout.inputFloats);
    this.#grads = new Float32Array(sab, r.grads, R * layout.gradFloats);
    this.#weights = new Float32Array(sab, r.weights, layout.gradFloats);
    this.range = shardRows(layout.gradFloats, R, rank);
    this.#sum = new Float32Array(this.range[1] - this.range[0]);
  }

  /** Rank `rank`'s input region (the main thread writes it before `command`). */
  input(rank: number): Float32Array {
    const n = this.layout.inputFloats;
    return this.#inputs.subarray(rank * n, (rank + 1) * n);
  }

  /** Main thread: starts step `step` (≥ 1, increasing) on every worker, with up to 8 `scalars`. */
  command(step: number, scalars: number[] = []): void {
    if (this.rank !== 0) throw new Error("only rank 0 issues commands");
    if (scalars.length > SCALARS) throw new RangeError(`at most ${SCALARS} scalars, got ${scalars.length}`);
    this.#scalars.set(scalars);
    Atomics.store(this.#ctrl, CMD, step);
    Atomics.notify(this.#ctrl, CMD);
  }

  /** Main thread: tells every worker to leave its loop (`nextCommand` returns null). */
  stop(): void {
    Atomics.store(this.#ctrl, CMD, -1);
    Atomics.notify(this.#ctrl, CMD);
  }

  /** Worker: blocks until a command after step `after` arrives; null when told to stop. */
  nextCommand(after: number): ReplicaCommand | null {
    const step = this.#waitUntil(CMD, (v) => v !== after, "the main thread");
    if (step < 0) return null;
    return { step, scalars: Array.from(this.#scalars) };
  }

  /**
   * The shared copy of the flat parameters: set it (rank 0, before the first step) to the initial
   * weights; after each {@link step} it holds the new ones. Read it before the next step begins.
   */
  weights(): Float32Array {
    return this.#weights;
  }

  /**
   * This replica's part of step `step`: `write` fills its gradient slot (already weighted by w_r)
   * and `extras` are its scalars. Once every rank has written, `update(g, from, w)` gets the sum
   * g over ranks of this replica's range [from, from + g.length) (summed in rank order) and the
   * shared weights `w` of that range, to update in place. Returns, once every range is updated,
   * the shared weights and the extras summed over ranks.
   */
  step(
    step: number,
    write: (slot: Float32Array) => void,
    extras: number[],
    update: (g: Float32Array, from: number, w: Float32Array) => void,
  ): { weights: Float32Array; extras: number[] } {
    const { replicas: R, gradFloats: G, extras: E } = this.layout;
    if (extras.length !== E) throw new RangeError(`step: expected ${E} extras, got ${extras.length}`);
    const [from, to] = this.range;
    write(this.#grads.subarray(this.rank * G, (this.rank + 1) * G));
    this.#extras.set(extras, this.rank * E);
    this.#arrive(WROTE, step);
    const sum = this.#sum;
    sum.set(this.#grads.subarray(from, to));
    for (let r = 1; r < R; r++) {
      const g = this.#grads.subarray(r * G + from, r * G + to);
      for (let i = 0; i < sum.length; i++) sum[i] += g[i];
    }
    const total = new Array(E).fill(0);
    for (let r = 0; r < R; r++) {
      for (let e = 0; e < E; e++) total[e] += this.#extras[r * E + e];
    }
    update(sum, from, this.#weights.subarray(from, to));
    this.#arrive(WROTE + R, step);
    return { weights: this.#weights, extras: total };
  }

  /** Marks this rank at `step` in counter block `base`, then waits for every other rank to be. */
  #arrive(base: number, step: number): void {
    Atomics.store(this.#ctrl, base + this.rank, step);
    Atomics.notify(this.#ctrl, base + this.rank);
    for (let r = 0; r < this.layout.replicas; r++) {
      if (r !== this.rank) this.#waitUntil(base + r, (v) => v >= step, `replica ${r}`);
    }
  }

  /** Records that this replica failed (message readable by all), and wakes every waiter. */
  fail(error: unknown): void {
    const text = new TextEncoder().encode(
      `replica ${this.rank}: ${error instanceof Error ? error.message : String(error)}`,
    ).subarray(0, ERROR_BYTES - 1);
    this.#error.fill(0);
    this.#error.set(text);
    Atomics.store(this.#ctrl, ERR, this.rank + 1);
    for (let i = 0; i < this.#ctrl.length; i++) Atomics.notify(this.#ctrl, i);
  }

  /** The failure message a replica recorded, or null. */
  failure(): string | null {
    if (Atomics.load(this.#ctrl, ERR) === 0) return null;
    const end = this.#error.indexOf(0);
    return new TextDecoder().decode(this.#error.slice(0, end < 0 ? ERROR_BYTES : end));
  }

  #waitUntil(index: number, ok: (value: number) => boolean, who: string): number {
    const deadline = performance.now() + this.timeoutMs;
    for (;;) {
      const failed = this.failure();
      if (failed) throw new Error(`data-parallel training stopped: ${failed}`);
      const v = Atomics.load(this.#ctrl, index);
      if (ok(v)) return v;
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`data-parallel training: ${who} did not answer in ${this.timeoutMs} ms`);
      Atomics.wait(this.#ctrl, index, v, Math.min(left, 1000));
    }
  }
}

/**
 * Rows [start, end) of rank `rank`'s shard when `n` rows are split over `replicas` as evenly as
 * possible (the first ranks take the remainder).
 */
export function shardRows(n: number, replicas: number, rank: number): [number, number] {
  const base = Math.floor(n / replicas), extra = n % replicas;
  const start = rank * base + Math.min(rank, extra);
  return [start, start + base + (rank < extra ? 1 : 0)];
}

/**
 * Writes a gradient into the flat `slot`, variable after variable in `vars` order; `read(name)`
 * gives a variable's gradient (undefined: it has none, and contributes zeros).
 */
export function writeGradients(
  slot: Float32Array,
  vars: { name: string; size: number }[],
  read: (name: string) => ArrayLike<number> | undefined,
): void {
  const views = flatViews(slot, vars);
  for (const v of vars) {
    const g = read(v.name);
    if (!g) views[v.name].fill(0);
    else views[v.name].set(g);
  }
}

/**
 * Per-variable views (by name) into a flat vector — a gradient as `writeGradients` writes it, or
 * the parameters themselves — laid out variable after variable in `vars` order.
 */
export function flatViews(
  flat: Float32Array,
  vars: { name: string; size: number }[],
): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  let at = 0;
  for (const v of vars) {
    out[v.name] = flat.subarray(at, at + v.size);
    at += v.size;
  }
  return out;
}
