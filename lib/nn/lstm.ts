/**
 * The LSTM cell (Hochreiter & Schmidhuber 1997) that AIR's guide, GQN's ConvLSTM cores and
 * GENESIS's autoregressive prior share.
 *
 * @example
 * ```ts
 * import { lstmCell } from "./lstm.ts";
 * import { tf } from "../core/tf.ts";
 * const [h, c] = lstmCell(tf.zeros([2, 4 * 3]), tf.zeros([2, 3])); // H = 3
 * ```
 * @module
 */
import { tf } from "../core/tf.ts";

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
