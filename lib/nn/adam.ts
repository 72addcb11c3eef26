/**
 * Adam with decoupled weight decay (AdamW, Loshchilov & Hutter 2019) on tfjs's optimiser, and
 * Adam run on the host as one fused loop per variable ({@link HostAdam}).
 *
 * AdamW step for a weight w with gradient g (biases are not decayed):
 *
 *     w ← w − η · m̂ / (√v̂ + ε)       (Adam)
 *     w ← w − η · λ · w              (decoupled decay, applied after the Adam update)
 *
 * @example
 * ```ts
 * import { AdamW } from "./adam.ts";
 * import { Params } from "./params.ts";
 * import { Rng } from "../core/random.ts";
 * const params = new Params(new Rng(0));
 * params.dense("fc", 4, 2);
 * const opt = new AdamW(params, { lr: 1e-3, weightDecay: 1e-3 });
 * ```
 * @module
 */
import { peekData, tf } from "../core/tf.ts";
import { assignValues, type Params } from "./params.ts";

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

  /** One step on `loss`; returns the loss value (read back asynchronously: any backend). */
  async step(loss: () => tf.Scalar): Promise<number> {
    // tfjs's Adam reads its (protected) learningRate on every update; schedules set it here.
    (this.opt as unknown as { learningRate: number }).learningRate = this.lr;
    const value = this.opt.minimize(loss, true, this.params.list())!;
    if (this.weightDecay > 0) {
      const f = 1 - this.lr * this.weightDecay;
      tf.tidy(() => {
        for (const v of this.decayed) v.assign(v.mul(f));
      });
    }
    const out = (await value.data())[0];
    value.dispose();
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
 *
 * On webgpu the weights live on the GPU and the host cannot read them synchronously: there
 * {@link HostAdam.apply} runs the same update as tensor ops beside them (m and v kept on the device).
 */
export class HostAdam {
  #m = new Map<string, Float32Array>();
  #v = new Map<string, Float32Array>();
  #onDevice = new Map<string, [tf.Variable, tf.Variable]>();
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
    if (tf.getBackend() === "webgpu") return this.#applyOnDevice(grads);
    for (const variable of this.vars) {
      const gt = grads[variable.name];
      if (!gt) continue;
      const w = peekData(variable).slice(); // the one copy; peeked views are read before any allocation
      this.update(variable.name, gt instanceof Float32Array ? gt : peekData(gt), w);
      assignValues(variable, w);
    }
  }

  /** The update of {@link update} as tensor ops, for backends whose memory the host cannot peek. */
  #applyOnDevice(grads: Record<string, tf.Tensor | Float32Array>): void {
    const { beta1: b1, beta2: b2, epsilon: eps, lr } = this;
    const c1 = 1 / (1 - b1 ** this.t), c2 = 1 / (1 - b2 ** this.t);
    for (const variable of this.vars) {
      const gt = grads[variable.name];
      if (!gt) continue;
      let mv = this.#onDevice.get(variable.name);
      if (!mv) {
        mv = [tf.variable(tf.zeros(variable.shape), false), tf.variable(tf.zeros(variable.shape), false)];
        this.#onDevice.set(variable.name, mv);
      }
      const [m, v] = mv;
      tf.tidy(() => {
        const g = gt instanceof Float32Array ? tf.tensor(gt, variable.shape) : gt;
        m.assign(tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1)));
        v.assign(tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2)));
        const step = tf.div(tf.mul(m, lr * c1), tf.add(tf.sqrt(tf.mul(v, c2)), eps));
        variable.assign(tf.sub(variable, step));
      });
    }
  }

  /** Frees the moments kept on the device (webgpu); the host ones are garbage-collected. */
  dispose(): void {
    for (const [m, v] of this.#onDevice.values()) tf.dispose([m, v]);
    this.#onDevice.clear();
  }
}
