/**
 * Config checks shared by the experiment configs: each names the field and what is allowed.
 *
 * @example
 * ```ts
 * import { requireInt, requirePositive } from "./validate.ts";
 * const config = { batchSize: 64, lr: 1e-3 };
 * requireInt(config, "batchSize", 1);   // ok
 * requirePositive(config, "lr");        // ok; lr: 0 throws "lr must be > 0, got 0"
 * ```
 * @module
 */

/**
 * Throws unless every key of `obj` is in `known`, naming the first stranger and the allowed keys:
 * `unknown <what> "<key>"; allowed: a, b, c`.
 */
export function requireKnownKeys(obj: object, known: Iterable<string>, what: string): void {
  const allowed = [...known];
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) throw new RangeError(`unknown ${what} "${k}"; allowed: ${allowed.join(", ")}`);
  }
}

/** Throws unless `obj[key]` is an integer in lo..hi. */
export function requireInt<T>(obj: T, key: keyof T & string, lo: number, hi = Infinity): void {
  const v = obj[key] as unknown as number;
  if (!Number.isInteger(v) || v < lo || v > hi) {
    throw new RangeError(`${key} must be an integer in ${lo}..${hi === Infinity ? "∞" : hi}, got ${v}`);
  }
}

/** Throws unless `obj[key]` is a finite number > 0 (≥ 0 with `allowZero`). */
export function requirePositive<T>(obj: T, key: keyof T & string, allowZero = false): void {
  const v = obj[key] as unknown as number;
  if (!Number.isFinite(v) || (allowZero ? v < 0 : v <= 0)) {
    throw new RangeError(`${key} must be ${allowZero ? "≥ 0" : "> 0"}, got ${v}`);
  }
}
