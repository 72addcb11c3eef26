/**
 * Seeded random streams on `seedrandom` (Alea generator).
 *
 * Every random draw in the project goes through an {@link Rng}. A stream is
 * named by its seed path; {@link Rng.child} derives an independent stream from
 * a name, so data, initial weights and noise are each reproducible on their own:
 * adding a draw to one stream never shifts the numbers of another.
 *
 * @example
 * ```ts
 * import { Rng } from "./random.ts";
 * const root = new Rng(0);
 * const data = root.child("data");      // same numbers whatever "weights" does
 * const weights = root.child("weights");
 * data.uniform(-0.9, 0.9); weights.normal(0, 0.1); data.int(1, 3);
 * ```
 * @module
 */
// @ts-types="@types/seedrandom"
import seedrandom from "seedrandom";

/** A seed: a non-negative integer or a string. */
export type Seed = number | string;

function seedKey(seed: Seed, field = "seed"): string {
  if (typeof seed === "number") {
    if (!Number.isInteger(seed) || seed < 0) {
      throw new RangeError(`${field} must be a non-negative integer or a string, got ${seed}`);
    }
    return String(seed);
  }
  if (typeof seed !== "string") throw new TypeError(`${field} must be a number or a string`);
  return seed;
}

/** A seeded stream of random numbers. */
export class Rng {
  /** The full seed path of this stream, e.g. `"0/data/batch3"`. */
  readonly key: string;
  #next: seedrandom.StatefulPRNG<seedrandom.State.Alea>;
  #spare: number | null = null;

  constructor(seed: Seed) {
    this.key = seedKey(seed);
    this.#next = seedrandom.alea(this.key, { state: true });
  }

  /**
   * A copy of this stream at its current position: the copy and the original then draw the same
   * numbers, each on its own (e.g. to run a forward pass twice with the same noise).
   */
  copy(): Rng {
    const twin = new Rng(this.key);
    twin.#next = seedrandom.alea("", { state: this.#next.state() });
    twin.#spare = this.#spare;
    return twin;
  }

  /** An independent stream derived from this stream's seed and `name` (not from its state). */
  child(name: string | number): Rng {
    return new Rng(`${this.key}/${seedKey(name, "child name")}`);
  }

  /** Uniform on [lo, hi). */
  uniform(lo = 0, hi = 1): number {
    if (!(hi >= lo)) throw new RangeError(`uniform: need lo <= hi, got lo=${lo}, hi=${hi}`);
    return lo + (hi - lo) * this.#next();
  }

  /** Gaussian N(mean, std²) by the Box–Muller transform (the second value is kept for the next call). */
  normal(mean = 0, std = 1): number {
    if (!(std >= 0)) throw new RangeError(`normal: std must be >= 0, got ${std}`);
    let z: number;
    if (this.#spare !== null) {
      z = this.#spare;
      this.#spare = null;
    } else {
      // u1 in (0, 1] so that log(u1) is finite.
      const u1 = 1 - this.#next();
      const u2 = this.#next();
      const r = Math.sqrt(-2 * Math.log(u1));
      z = r * Math.cos(2 * Math.PI * u2);
      this.#spare = r * Math.sin(2 * Math.PI * u2);
    }
    return mean + std * z;
  }

  /** Integer uniform on the inclusive range [lo, hi]. */
  int(lo: number, hi: number): number {
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || hi < lo) {
      throw new RangeError(`int: need integers lo <= hi, got lo=${lo}, hi=${hi}`);
    }
    return lo + Math.floor(this.#next() * (hi - lo + 1));
  }

  /** One element of `items`, uniformly. */
  choice<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("choice: items must not be empty");
    return items[this.int(0, items.length - 1)];
  }

  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      const t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
    return items;
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): number[] {
    if (!Number.isInteger(n) || n < 0) {
      throw new RangeError(`permutation: n must be an integer >= 0, got ${n}`);
    }
    return this.shuffle(Array.from({ length: n }, (_, i) => i));
  }

  /** `n` uniform draws on [lo, hi) into a new Float32Array. */
  uniformArray(n: number, lo = 0, hi = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.uniform(lo, hi);
    return out;
  }

  /** `n` Gaussian draws into a new Float32Array. */
  normalArray(n: number, mean = 0, std = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.normal(mean, std);
    return out;
  }
}
