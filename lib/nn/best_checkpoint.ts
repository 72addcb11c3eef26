/**
 * Keeps the parameters of the lowest validation loss seen (early stopping's checkpoint).
 *
 * @example
 * ```ts
 * import { BestCheckpoint } from "./best_checkpoint.ts";
 * import { Params } from "./params.ts";
 * import { Rng } from "../core/random.ts";
 * const params = new Params(new Rng(0));
 * const best = new BestCheckpoint(params);
 * await best.offer(0.5, 0); // true: the first loss is the best so far
 * best.restore();
 * ```
 * @module
 */
import type { Params } from "./params.ts";

/** Keeps the parameters of the lowest validation loss seen. */
export class BestCheckpoint {
  best = Infinity;
  bestEpoch = -1;
  private snap: Map<string, Float32Array> | null = null;
  constructor(private params: Params) {}

  /** Records `loss` at `epoch`; snapshots when it is the best so far. Returns whether it was. */
  async offer(loss: number, epoch: number): Promise<boolean> {
    if (!(loss < this.best)) return false;
    this.best = loss;
    this.bestEpoch = epoch;
    this.snap = await this.params.snapshot();
    return true;
  }

  /** Puts the best parameters back. */
  restore(): void {
    if (this.snap) this.params.restore(this.snap);
  }
}
