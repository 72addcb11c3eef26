/**
 * The experiment runs' training loop: steps within a wall-clock budget or a step limit, with
 * evaluations at fixed intervals of training time.
 *
 * @example
 * ```ts
 * import { trainWithinBudget } from "./loop.ts";
 * let steps = 0;
 * const trainS = await trainWithinBudget({ budgetS: 1, maxSteps: 3, evalEveryS: 0 }, {
 *   steps: () => steps,
 *   step: () => steps++,
 *   evaluate: () => {},
 * });
 * ```
 * @module
 */

/** The limits of a budgeted run. */
export interface BudgetLimits {
  /** Wall-clock training budget in seconds (evaluation time excluded). */
  budgetS: number;
  /** Stop after this many steps (0: no limit). */
  maxSteps: number;
  /** Seconds of training between evaluations (0: none during training). */
  evalEveryS: number;
}

/**
 * The experiment runs' training loop: calls `step` until the budget or the step limit is reached,
 * timing only the steps, and `evaluate` at time 0 and then every `evalEveryS` seconds of training
 * (yielding to the event loop after each, so a notebook's outputs go out). A step-limited run
 * (`maxSteps` > 0) evaluates at time 0 only, so its curve — start and end — repeats exactly. `step` gets the run's
 * progress in [0, 1]: by steps when the run is step-limited (so a seed repeats), else by time.
 * Returns the seconds spent training; the final evaluation is the caller's.
 */
export async function trainWithinBudget(
  limits: BudgetLimits,
  hooks: {
    steps: () => number;
    step: (progress: number) => unknown;
    evaluate: (trainS: number) => unknown;
  },
): Promise<number> {
  const { budgetS, maxSteps, evalEveryS } = limits;
  let trainMs = 0, nextEval = evalEveryS > 0 ? 0 : Infinity;
  while (trainMs < budgetS * 1000 && (maxSteps === 0 || hooks.steps() < maxSteps)) {
    if (trainMs >= nextEval) {
      await hooks.evaluate(trainMs / 1000);
      // A step-limited run evaluates at its start (here) and its end (the caller) only: a schedule
      // driven by the clock would put the evaluations at different steps on each run.
      nextEval = maxSteps > 0 ? Infinity : nextEval + evalEveryS * 1000;
      await new Promise((r) => setTimeout(r, 0));
    }
    const t0 = performance.now();
    await hooks.step(maxSteps > 0 ? hooks.steps() / maxSteps : trainMs / (budgetS * 1000));
    trainMs += performance.now() - t0;
  }
  return trainMs / 1000;
}

/**
 * A training trace kept every `every` steps that always holds the first and the last step, so a
 * short run (a notebook's quick mode) still draws a curve.
 *
 * @example
 * ```ts
 * import { StepTrace } from "./loop.ts";
 * const trace = new StepTrace<[number, number]>(10);
 * for (let step = 1; step <= 25; step++) trace.offer([step, 1 / step]);
 * trace.rows.map(([s]) => s); // [1, 10, 20, 25]
 * ```
 */
export class StepTrace<Row extends number[]> {
  readonly rows: Row[] = [];
  #provisional = false;
  constructor(readonly every = 10) {}

  /**
   * Offers a row whose first entry is its step: kept at step 1 and at multiples of `every`; the
   * latest row is always last (replaced by the next offer when it is not a kept step).
   */
  offer(row: Row): void {
    if (this.#provisional) this.rows.pop();
    this.rows.push(row);
    const step = row[0];
    this.#provisional = !(step === 1 || step % this.every === 0);
  }
}
