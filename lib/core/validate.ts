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

/**
 * The most memory one setting may ask for, in bytes: 2 GiB, half of what tfjs's wasm heap can ever
 * address (4 GiB), so that a setting that cannot fit is refused before any allocation instead of
 * ending in an `Array buffer allocation failed` or a raw WebAssembly error that names nothing.
 */
export const MEMORY_LIMIT_BYTES = 2 * 1024 ** 3;

const human = (bytes: number) =>
  bytes >= 1024 ** 4
    ? `${(bytes / 1024 ** 4).toPrecision(3)} TiB`
    : bytes >= 1024 ** 3
    ? `${(bytes / 1024 ** 3).toPrecision(3)} GiB`
    : `${(bytes / 1024 ** 2).toPrecision(3)} MiB`;

/**
 * Throws unless `bytes` — what the value of `key` would make the run allocate for `what` — is
 * within `limit`, naming the field, the need and the limit: `batchSize 1000000 would need 5.72 TiB
 * for one batch's activations; the limit is 2.00 GiB`.
 */
export function requireBytes<T>(
  obj: T,
  key: keyof T & string,
  bytes: number,
  what: string,
  limit = MEMORY_LIMIT_BYTES,
): void {
  if (!(bytes <= limit)) {
    throw new RangeError(
      `${key} ${obj[key]} would need ${human(bytes)} for ${what}; the limit is ${human(limit)}`,
    );
  }
}
