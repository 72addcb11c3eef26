/**
 * Learning-rate schedules: cosine decay from lr to a floor, with an optional linear warm-up.
 *
 *     η(p) = lr · (floor + (1 − floor) · ½(1 + cos πp)),   p ∈ [0, 1] the run's progress
 *
 * @example
 * ```ts
 * import { cosineDecay, cosineLr } from "./schedule.ts";
 * cosineDecay(0.5, 1e-3, 0.1); // half way: 5.5e-4
 * cosineLr(50, 100, 1e-3, 10); // step 50 of 100 after a 10-step warm-up
 * ```
 * @module
 */

/** η(p) = lr · (floor + (1 − floor) · ½(1 + cos πp)) at progress p ∈ [0, 1] (clamped). */
export function cosineDecay(progress: number, lr: number, floor: number): number {
  const p = Math.min(1, Math.max(0, progress));
  return lr * (floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * p)));
}

/** Linear warm-up over `warmup` steps, then cosine decay to `floor`·lr at step `total`. */
export function cosineLr(step: number, total: number, lr: number, warmup = 0, floor = 0.02): number {
  if (step < warmup) return lr * (step + 1) / warmup;
  return cosineDecay((step - warmup) / Math.max(1, total - warmup), lr, floor);
}
