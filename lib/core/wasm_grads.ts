/**
 * Fast gradients on the wasm backend: convolutions and matrix products.
 *
 * tfjs's wasm `BatchMatMul` is fast (XNNPACK) only without its transpose flags: with
 * `transposeA`/`transposeB` it is 5–8× slower, and tfjs's own matMul gradient uses exactly
 * those flags (dA = dY·Bᵀ, dB = Aᵀ·dY). The gradient registered here transposes explicitly
 * and multiplies without flags.
 *
 * tfjs's wasm backend has no `Conv2DBackpropFilter` kernel (so `tf.grad` through `tf.conv2d`
 * fails there), and its `Conv2DBackpropInput` is a plain loop ≈ 10× slower than the forward
 * convolution. Both gradients of Y = conv2d(X, W; stride s) are themselves convolutions, which
 * wasm runs on XNNPACK; this module re-registers the gradient of `Conv2D` to use them.
 *
 * Filter gradient — a correlation of the input with ∂L/∂Y dilated by s, batch and channels swapped:
 *
 *     ∂L/∂W[i, j, c, o] = Σ_{b, y, x} X̃[b, s·y + i, s·x + j, c] · ∂L/∂Y[b, y, x, o]
 *                       = conv2d(X̃ᵀ[c, ·, ·, b], ∂L/∂Yᵀ[·, ·, b, o]; dilation s)[c, i, j, o]
 *
 * Input gradient — a full correlation of the zero-upsampled ∂L/∂Y with the flipped filter:
 *
 *     ∂L/∂X[b, h, w, c] = Σ_{i, j, o} U[b, h + top − i, w + left − j, o] · W[i, j, c, o],
 *     U = ∂L/∂Y with s − 1 zeros between neighbours (depthToSpace of [∂L/∂Y, 0, …]).
 *
 * X̃ is X zero-padded as in the forward pass (`top`, `left` from tfjs's conv info).
 *
 * @example
 * ```ts
 * import { initTf, tf } from "./tf.ts";      // initTf installs the gradients
 * await initTf();
 * const w = tf.variable(tf.ones([3, 3, 1, 4]));
 * const x = tf.ones([1, 8, 8, 1]) as tf.Tensor4D;
 * const { grads } = tf.variableGrads(() => tf.conv2d(x, w as tf.Variable<tf.Rank.R4>, 1, "same").sum() as tf.Scalar);
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";

type Pad = "valid" | "same" | number;
type FilterShape = [number, number, number, number];

function convInfo(xShape: number[], filterShape: FilterShape, strides: number | [number, number], pad: Pad) {
  const info = tf.backend_util.computeConv2DInfo(xShape as FilterShape, filterShape, strides, 1, pad);
  if (info.strideHeight !== info.strideWidth) throw new Error("conv2d gradient: strides must be equal");
  return info;
}

/** ∂L/∂W of `conv2d(x, W, strides, pad)` (NHWC, dilation 1) given ∂L/∂Y = `dy`. */
export function conv2dFilterGrad(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: FilterShape,
  strides: number | [number, number],
  pad: Pad,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw] = filterShape;
    const info = convInfo(x.shape, filterShape, strides, pad);
    const s = info.strideHeight;
    const { top, left } = info.padInfo;
    // X̃ cropped to exactly the rows/columns the forward pass read.
    const hNeed = s * (info.outHeight - 1) + kh, wNeed = s * (info.outWidth - 1) + kw;
    const [, h, w] = x.shape;
    const xp = tf.pad(x, [
      [0, 0],
      [top, Math.max(0, hNeed - h - top)],
      [left, Math.max(0, wNeed - w - left)],
      [
        0,
        0,
      ],
    ]).slice([0, 0, 0, 0], [-1, hNeed, wNeed, -1]);
    const g = tf.conv2d(
      xp.transpose([3, 1, 2, 0]) as tf.Tensor4D, // [Cin, H, W, B]: channels become the batch
      dy.transpose([1, 2, 0, 3]) as tf.Tensor4D, // [Ho, Wo, B, Cout]: ∂L/∂Y becomes the filter
      1,
      "valid",
      "NHWC",
      s,
    ); // [Cin, kh, kw, Cout]
    return g.transpose([1, 2, 0, 3]) as tf.Tensor4D;
  });
}

/** ∂L/∂X of `conv2d(x, W, strides, pad)` (NHWC, dilation 1) given ∂L/∂Y = `dy`. */
export function conv2dInputGrad(
  xShape: [number, number, number, number],
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  strides: number | [number, number],
  pad: Pad,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw] = filter.shape;
    const info = convInfo(xShape, filter.shape as FilterShape, strides, pad);
    const s = info.strideHeight;
    const { top, left } = info.padInfo;
    let u: tf.Tensor4D = dy;
    if (s > 1) {
      // s − 1 zeros between neighbours: dy in the top-left of each s×s block.
      const zeros = tf.zerosLike(dy);
      u = tf.depthToSpace(tf.concat([dy, ...Array(s * s - 1).fill(zeros)], 3) as tf.Tensor4D, s);
    }
    const [, h, w] = xShape;
    const lu = [s * (info.outHeight - 1) + 1, s * (info.outWidth - 1) + 1];
    u = u.slice([0, 0, 0, 0], [-1, lu[0], lu[1], -1]);
    const pt = kh - 1 - top, pl = kw - 1 - left;
    const pb = h + kh - 1 - pt - lu[0], pr = w + kw - 1 - pl - lu[1];
    const padded = tf.pad(u, [
      [0, 0],
      [Math.max(0, pt), Math.max(0, pb)],
      [Math.max(0, pl), Math.max(0, pr)],
      [
        0,
        0,
      ],
    ]).slice([0, Math.max(0, -pt), Math.max(0, -pl), 0], [-1, h + kh - 1, w + kw - 1, -1]);
    // Flip the kernel in space and swap its in/out channels: [kh, kw, Cout, Cin].
    const flipped = tf.reverse(filter, [0, 1]).transpose([0, 1, 3, 2]) as tf.Tensor4D;
    return tf.conv2d(padded as tf.Tensor4D, flipped, 1, "valid");
  });
}

/** Swaps the last two axes. */
function t2(x: tf.Tensor): tf.Tensor {
  const perm = x.shape.map((_, i) => i);
  [perm[x.rank - 2], perm[x.rank - 1]] = [perm[x.rank - 1], perm[x.rank - 2]];
  return tf.transpose(x, perm);
}

/** Sums a broadcast gradient back down to `shape` (leading batch axes). */
function reduceTo(g: tf.Tensor, shape: number[]): tf.Tensor {
  if (g.rank === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank - 2; i++) if (i < lead || shape[i - lead] === 1) axes.push(i);
  return tf.sum(g, axes, true).reshape(shape);
}

/**
 * Gradients of Y = op(A)·op(B) (op = identity or transpose of the last two axes), with every
 * product written flag-free: e.g. for Y = A·B, ∂A = ∂Y·Bᵀ and ∂B = Aᵀ·∂Y with Aᵀ, Bᵀ materialised.
 * `which` picks the operand, so an unneeded gradient is never computed.
 */
export function matMulGrad(
  which: "a" | "b",
  a: tf.Tensor,
  b: tf.Tensor,
  dy: tf.Tensor,
  transposeA: boolean,
  transposeB: boolean,
): tf.Tensor {
  const mm = (x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y);
  if (which === "a" && !transposeA && !transposeB && a.rank === 2 && b.rank === 2) {
    // ∂A = ∂Y·Bᵀ [M, K]. XNNPACK packs the right operand of each product into a blocked copy, and
    // Bᵀ is a new tensor at every call: for a weight B [K, N] and a batch of M rows, (B·∂Yᵀ)ᵀ packs
    // ∂Yᵀ (M·N values) instead of Bᵀ (K·N), and transposes M·(N + K) values instead of K·N.
    const [M, K] = a.shape, [, N] = b.shape as [number, number];
    if (2 * M * N + M * K < 2 * K * N) return t2(mm(b, t2(dy)));
  }
  if (which === "a") {
    const da = !transposeA ? mm(dy, transposeB ? b : t2(b)) : transposeB ? mm(t2(b), t2(dy)) : mm(b, t2(dy));
    return reduceTo(da, a.shape);
  }
  const db = !transposeB ? mm(transposeA ? a : t2(a), dy) : transposeA ? mm(t2(dy), t2(a)) : mm(t2(dy), a);
  return reduceTo(db, b.shape);
}

let installed = false;

/**
 * Replaces the registered gradients of `Conv2D` (by {@link conv2dInputGrad} and
 * {@link conv2dFilterGrad}) and `BatchMatMul` (by {@link matMulGrad}), for every backend.
 * Dilated and NCHW convolutions are rejected with a clear error. Idempotent.
 */
export function installFastGrads(): void {
  if (installed) return;
  installed = true;
  // tfjs warns when a gradient is overridden; this override is deliberate.
  const warn = console.warn;
  console.warn = () => {};
  try {
    tf.registerGradient({
      kernelName: tf.Conv2D,
      inputsToSave: ["x", "filter"],
      gradFunc: (dy, saved, attrs) => {
        const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
        const { dilations, strides, pad, dataFormat } = attrs as unknown as {
          dilations: number | [number, number];
          strides: number | [number, number];
          pad: Pad;
          dataFormat: string;
        };
        const dil = typeof dilations === "number" ? [dilations, dilations] : dilations ?? [1, 1];
        if (dil[0] !== 1 || dil[1] !== 1) throw new Error("conv2d gradient: dilations must be 1");
        if (dataFormat !== "NHWC") {
          throw new Error(`conv2d gradient: dataFormat must be NHWC, got ${dataFormat}`);
        }
        const d = dy as tf.Tensor4D;
        const fs = filter.shape as FilterShape;
        return {
          x: () => conv2dInputGrad(x.shape as FilterShape, d, filter, strides, pad),
          filter: () => conv2dFilterGrad(x, d, fs, strides, pad),
        };
      },
    });
    tf.registerGradient({
      kernelName: tf.BatchMatMul,
      inputsToSave: ["a", "b"],
      gradFunc: (dy, saved, attrs) => {
        const [a, b] = saved;
        const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
        return {
          a: () => matMulGrad("a", a, b, dy as tf.Tensor, transposeA, transposeB),
          b: () => matMulGrad("b", a, b, dy as tf.Tensor, transposeA, transposeB),
        };
      },
    });
  } finally {
    console.warn = warn;
  }
}
