/**
 * Training utilities shared by the models: named parameters with seeded initialisation, Adam
 * with decoupled weight decay (AdamW, Loshchilov & Hutter 2019), learning-rate schedules, and
 * a best-checkpoint keeper.
 *
 * AdamW step for a weight w with gradient g (biases are not decayed):
 *
 *     w ← w − η · m̂ / (√v̂ + ε)       (Adam)
 *     w ← w − η · λ · w              (decoupled decay, applied after the Adam update)
 *
 * @example
 * ```ts
 * import { AdamW, Params } from "./train.ts";
 * import { Rng } from "../core/random.ts";
 * const params = new Params(new Rng(0));
 * const w = params.dense("fc", 4, 2);
 * const opt = new AdamW(params, { lr: 1e-3, weightDecay: 1e-3 });
 * ```
 * @module
 */
import { peekData, tf } from "../core/tf.ts";
import type { Rng } from "../core/random.ts";

/** A dense layer's weights. */
export interface Dense {
  w: tf.Variable;
  b: tf.Variable;
}

/**
 * Sets a variable's values from a host array (same size), leaving no tensor behind: the upload is
 * a fresh tensor each time (wasm's matMul keeps a packed copy of its weight operand per tensor, so
 * a variable's memory must never be rewritten in place; see {@link HostAdam}).
 */
export function assignValues(v: tf.Variable, values: ArrayLike<number>): void {
  if (values.length !== v.size) {
    throw new RangeError(`${v.name}: expected ${v.size} values, got ${values.length}`);
  }
  tf.tidy(() => v.assign(tf.tensor(values as Float32Array, v.shape, "float32")));
}

/**
 * x·W [B, out] from a weight stored transposed, Wᵀ [out, in], computed as (Wᵀ·xᵀ)ᵀ. Same product;
 * the reason is speed on wasm, whose matMul (XNNPACK) packs its right-hand operand into a blocked
 * copy the first time it sees that tensor. A trained weight is a new tensor every step, and
 * packing the 2.6 M weights of AIR's 50×50 image projection took ≈ 25 ms of a ≈ 37 ms product
 * (measured here); with the weight on the left only xᵀ (B·in values) is packed, and the product
 * with its transposes takes ≈ 12 ms. Worth it for a large weight used once per step on a small batch.
 */
export function timesTransposed(x: tf.Tensor2D, wT: tf.Tensor2D): tf.Tensor2D {
  return tf.transpose(tf.matMul(wT, tf.transpose(x)));
}

/** A model's variables by name, initialised from a seeded stream (same seed → same weights). */
export class Params {
  readonly vars = new Map<string, tf.Variable>();
  /** Names that weight decay skips (biases). */
  readonly noDecay = new Set<string>();
  constructor(private rng: Rng) {}

  /** A variable of `shape` filled with N(0, std²) from the stream. */
  normal(name: string, shape: number[], std: number, decay = true): tf.Variable {
    const size = shape.reduce((a, b) => a * b, 1);
    return this.#add(name, this.rng.normalArray(size, 0, std), shape, decay);
  }

  /**
   * The transpose, [cols, rows], of the weights `normal(name, [rows, cols], std)` would draw (the
   * same draws), for a weight a model stores transposed.
   */
  normalTransposed(name: string, [rows, cols]: [number, number], std: number): tf.Variable {
    const drawn = this.rng.normalArray(rows * cols, 0, std), values = new Float32Array(rows * cols);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) values[j * rows + i] = drawn[i * cols + j];
    }
    return this.#add(name, values, [cols, rows], true);
  }

  #add(name: string, values: Float32Array, shape: number[], decay: boolean): tf.Variable {
    if (this.vars.has(name)) throw new Error(`parameter ${name} defined twice`);
    const init = tf.tensor(values, shape);
    const v = tf.variable(init, true, name + "_" + uid());
    init.dispose(); // the variable keeps the data; the handle would otherwise stay live
    this.vars.set(name, v);
    if (!decay) this.noDecay.add(name);
    return v;
  }

  zeros(name: string, shape: number[]): tf.Variable {
    return this.normal(name, shape, 0, false);
  }

  /** He-initialised dense layer (ReLU nets): W ~ N(0, 2/fanIn), b = 0. */
  dense(name: string, fanIn: number, fanOut: number, gain = 2): Dense {
    return {
      w: this.normal(`${name}.w`, [fanIn, fanOut], Math.sqrt(gain / fanIn)),
      b: this.zeros(`${name}.b`, [fanOut]),
    };
  }

  /** He-initialised conv filter [k, k, cin, cout] and bias. */
  conv(name: string, k: number, cin: number, cout: number): Dense {
    return {
      w: this.normal(`${name}.w`, [k, k, cin, cout], Math.sqrt(2 / (k * k * cin))),
      b: this.zeros(`${name}.b`, [cout]),
    };
  }

  /** One row per parameter: name, shape and number of weights (a notebook's parameter table). */
  summary(): { parameter: string; shape: string; count: number }[] {
    return [...this.vars].map(([name, v]) => ({
      parameter: name,
      shape: v.shape.join(" × "),
      count: v.size,
    }));
  }

  list(): tf.Variable[] {
    return [...this.vars.values()];
  }

  /** Number of scalar parameters. */
  count(): number {
    return this.list().reduce((n, v) => n + v.size, 0);
  }

  /** Copies of every value (a checkpoint). */
  snapshot(): Map<string, Float32Array> {
    return new Map([...this.vars].map(([k, v]) => [k, new Float32Array(v.dataSync())]));
  }

  restore(snap: Map<string, Float32Array>): void {
    for (const [k, v] of this.vars) {
      const s = snap.get(k);
      if (!s) throw new Error(`checkpoint lacks ${k}`);
      assignValues(v, s);
    }
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

let uidCounter = 0;
function uid(): number {
  return ++uidCounter;
}

export interface AdamWOptions {
  lr: number;
  weightDecay?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

/** Adam from tfjs plus decoupled weight decay on every parameter not in `params.noDecay`. */
export class AdamW {
  private opt: tf.AdamOptimizer;
  private decayed: tf.Variable[];
  lr: number;
  readonly weightDecay: number;

  constructor(private params: Params, options: AdamWOptions) {
    const { lr, weightDecay = 0, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8 } = options;
    if (!(lr > 0)) throw new RangeError(`lr must be > 0, got ${lr}`);
    if (!(weightDecay >= 0)) throw new RangeError(`weightDecay must be ≥ 0, got ${weightDecay}`);
    this.lr = lr;
    this.weightDecay = weightDecay;
    this.opt = tf.train.adam(lr, beta1, beta2, epsilon);
    this.decayed = [...params.vars].filter(([k]) => !params.noDecay.has(k)).map(([, v]) => v);
  }

  /** One step on `loss`; returns the loss value. */
  step(loss: () => tf.Scalar): number {
    // tfjs's Adam reads its (protected) learningRate on every update; schedules set it here.
    (this.opt as unknown as { learningRate: number }).learningRate = this.lr;
    const value = this.opt.minimize(loss, true, this.params.list())!;
    const out = value.dataSync()[0];
    value.dispose();
    if (this.weightDecay > 0) {
      const f = 1 - this.lr * this.weightDecay;
      tf.tidy(() => {
        for (const v of this.decayed) v.assign(v.mul(f));
      });
    }
    return out;
  }

  dispose(): void {
    this.opt.dispose();
  }
}

/**
 * Adam (Kingma & Ba 2015) run on the host as one fused loop per variable:
 *
 *     m ← β₁m + (1 − β₁)g,   v ← β₂v + (1 − β₂)g²,   w ← w − η · (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)
 *
 * Same update as `tf.train.adam`, but tfjs runs about a dozen separate elementwise kernels per
 * variable; for AIR's 2.6 M-weight input projection that is ~35 ms a step on wasm, the fused
 * loop a fraction of it.
 *
 * The new weights go in as a fresh tensor (`assign`), never written into the variable's wasm
 * memory in place: the wasm backend's matMul (XNNPACK) keeps a packed copy of its weight operand
 * per tensor, so after an in-place write `tf.matMul` silently goes on using the old weights
 * (checked: w ← 10·w in place leaves x·w unchanged while x + w changes).
 */
export class HostAdam {
  #m = new Map<string, Float32Array>();
  #v = new Map<string, Float32Array>();
  t = 0;
  constructor(
    readonly vars: tf.Variable[],
    public lr: number,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly epsilon = 1e-8,
  ) {
    if (!(lr > 0)) throw new RangeError(`lr must be > 0, got ${lr}`);
    for (const v of vars) {
      this.#m.set(v.name, new Float32Array(v.size));
      this.#v.set(v.name, new Float32Array(v.size));
    }
  }

  /** Starts a step: advances the step count t that the bias corrections use. */
  beginStep(): void {
    this.t++;
  }

  /**
   * Adam on part of variable `name` (this step's t, see {@link beginStep}): `g` and `w` are its
   * gradient and weights for elements [from, from + g.length); `w` is updated in place.
   */
  update(name: string, g: Float32Array, w: Float32Array, from = 0): void {
    const m = this.#m.get(name), v = this.#v.get(name);
    if (!m || !v) throw new Error(`HostAdam: no variable named ${name}`);
    if (g.length !== w.length || from < 0 || from + g.length > m.length) {
      throw new RangeError(`HostAdam.update(${name}): elements [${from}, ${from + g.length}) of ${m.length}`);
    }
    const { beta1: b1, beta2: b2, epsilon: eps, lr } = this;
    const c1 = 1 / (1 - b1 ** this.t), c2 = 1 / (1 - b2 ** this.t);
    for (let i = 0, k = from; i < w.length; i++, k++) {
      const gi = g[i];
      const mi = m[k] = b1 * m[k] + (1 - b1) * gi;
      const vi = v[k] = b2 * v[k] + (1 - b2) * gi * gi;
      w[i] -= lr * (mi * c1) / (Math.sqrt(vi * c2) + eps);
    }
  }

  /**
   * Applies one update from `grads` (by variable name, as tensors or host arrays); a variable with
   * no gradient is left alone.
   */
  apply(grads: Record<string, tf.Tensor | Float32Array>): void {
    this.beginStep();
    for (const variable of this.vars) {
      const gt = grads[variable.name];
      if (!gt) continue;
      const w = peekData(variable).slice(); // the one copy; peeked views are read before any allocation
      this.update(variable.name, gt instanceof Float32Array ? gt : peekData(gt), w);
      assignValues(variable, w);
    }
  }
}

/** Linear warm-up over `warmup` steps, then cosine decay to `floor`·lr at `total`. */
export function cosineLr(step: number, total: number, lr: number, warmup = 0, floor = 0.02): number {
  if (step < warmup) return lr * (step + 1) / warmup;
  const t = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
  return lr * (floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * t)));
}

/** Keeps the parameters of the lowest validation loss seen. */
export class BestCheckpoint {
  best = Infinity;
  bestEpoch = -1;
  private snap: Map<string, Float32Array> | null = null;
  constructor(private params: Params) {}

  /** Records `loss` at `epoch`; snapshots when it is the best so far. Returns whether it was. */
  offer(loss: number, epoch: number): boolean {
    if (!(loss < this.best)) return false;
    this.best = loss;
    this.bestEpoch = epoch;
    this.snap = this.params.snapshot();
    return true;
  }

  /** Puts the best parameters back. */
  restore(): void {
    if (this.snap) this.params.restore(this.snap);
  }
}

/**
 * One LSTM step (Hochreiter & Schmidhuber 1997) from pre-activations `gates` [..., 4H], laid out
 * i, f, g, o along the last axis, and the previous cell state [..., H]:
 *
 *     c ← σ(f) ⊙ c + σ(i) ⊙ tanh(g),   h ← σ(o) ⊙ tanh(c)
 *
 * Returns [h, c]. With [B, G, G, 4H] gates from a convolution this is a ConvLSTM step.
 */
export function lstmCell<T extends tf.Tensor>(gates: T, cell: T): [T, T] {
  const [i, f, g, o] = tf.split(gates, 4, gates.rank - 1);
  const next = tf.add(tf.mul(tf.sigmoid(f), cell), tf.mul(tf.sigmoid(i), tf.tanh(g))) as T;
  return [tf.mul(tf.sigmoid(o), tf.tanh(next)) as T, next];
}

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
 * (yielding to the event loop after each, so a notebook's outputs go out). `step` gets the run's
 * progress in [0, 1]: by steps when the run is step-limited (so a seed repeats), else by time.
 * Returns the seconds spent training; the final evaluation is the caller's.
 */
export async function trainWithinBudget(
  limits: BudgetLimits,
  hooks: { steps: () => number; step: (progress: number) => void; evaluate: (trainS: number) => void },
): Promise<number> {
  const { budgetS, maxSteps, evalEveryS } = limits;
  let trainMs = 0, nextEval = evalEveryS > 0 ? 0 : Infinity;
  while (trainMs < budgetS * 1000 && (maxSteps === 0 || hooks.steps() < maxSteps)) {
    if (trainMs >= nextEval) {
      hooks.evaluate(trainMs / 1000);
      nextEval += evalEveryS * 1000;
      await new Promise((r) => setTimeout(r, 0));
    }
    const t0 = performance.now();
    hooks.step(maxSteps > 0 ? hooks.steps() / maxSteps : trainMs / (budgetS * 1000));
    trainMs += performance.now() - t0;
  }
  return trainMs / 1000;
}
