/**
 * A model's named parameters, initialised from a seeded stream (same seed → same weights), and
 * the one way a variable is set from host values.
 *
 * @example
 * ```ts
 * import { Params } from "./params.ts";
 * import { Rng } from "../core/random.ts";
 * const params = new Params(new Rng(0));
 * const fc = params.dense("fc", 4, 2); // W ~ N(0, 2/4), b = 0
 * params.count(); // 10
 * ```
 * @module
 */
import { tf } from "../core/tf.ts";
import type { Rng } from "../core/random.ts";
import type { Dense } from "./dense.ts";

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

  /** Copies of every value (a checkpoint), read back asynchronously (any backend). */
  async snapshot(): Promise<Map<string, Float32Array>> {
    const values = await Promise.all(this.list().map((v) => v.data() as Promise<Float32Array>));
    return new Map([...this.vars.keys()].map((k, i) => [k, values[i]]));
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
