/**
 * The likelihood of AIR-3D's generative model, through the renderer (paper App. I.3): render the
 * scene, blur the rendering and the image with one fixed Gaussian kernel B, and score
 *
 *     log p(x | z) = −‖B·x − B·render(z)‖² / (2σ²)  −  P·log(σ√(2π)),
 *
 * P the number of pixels. The renderer has no derivatives, so the gradient of log p with respect to
 * an object's continuous latents — its image-plane centre (u, v), its depth z and its rotation — is
 * taken by **central finite differences** (App. I.1 uses forward differences with ε = 1e-4 on
 * MuJoCo's anti-aliased output; this renderer samples each pixel at one point, so a step must move
 * an edge across pixel centres to be seen: ε is a fraction of a pixel, and the blur turns the
 * moved edges into a smooth change). A rotation's derivative is taken along small turns about the
 * three world axes, R ← R_a(±ε)·R: the gradient on the rotation's tangent space.
 *
 * @example
 * ```ts
 * import { RenderLikelihood } from "./likelihood.ts";
 * import { renderScene } from "../scenes/render.ts";
 * const x = renderScene([{ type: "sphere", position: [0.2, 0, 0], rotation: [0, 0, 0] }], { size: 32 }).image;
 * const lik = new RenderLikelihood({ size: 32, sigma: 0.1, blurPx: 1 });
 * lik.setImage(x);
 * const guess = { type: 0, u: 0.1, v: 0, z: 0, R: Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1) };
 * const g = lik.gradient([guess], 0); // g[0] > 0: moving right raises log p
 * ```
 * @module
 */
import { axisRotation, type Camera } from "../scenes/primitives.ts";
import { Rasteriser } from "../scenes/render.ts";
import { matMul3 } from "../metrics/slots.ts";
import { type FitObject, sceneOf } from "./fit.ts";

/** Settings of {@link RenderLikelihood}. */
export interface LikelihoodOptions {
  /** Image side in pixels. */
  size: number;
  /** The camera (default: the reproduction's orthographic one). */
  camera?: Camera;
  /** σ of the Gaussian likelihood, in pixel-value units (images in [0, 1]). */
  sigma: number;
  /** σ of the blur kernel in pixels (0: no blur). */
  blurPx: number;
  /** Finite-difference steps: centre (image-plane units; 1 px ≈ 0.05 at 64²), depth, angle (rad). */
  eps?: { uv: number; z: number; angle: number };
}

/** Default finite-difference steps: ≈ ½ px at 64², the same in depth, ≈ 3° of turn. */
export const DEFAULT_EPS = { uv: 0.025, z: 0.025, angle: 0.05 };

/** The latents a gradient is taken over, in order: u, v, z, turns about world x, y, z. */
export const LATENT_NAMES = ["u", "v", "z", "rx", "ry", "rz"] as const;

/** A normalised 1-D Gaussian kernel of std `sigmaPx`, radius ⌈3σ⌉. */
export function gaussianKernel(sigmaPx: number): Float32Array {
  if (!(sigmaPx >= 0) || !Number.isFinite(sigmaPx)) {
    throw new RangeError(`blurPx must be a finite number ≥ 0, got ${sigmaPx}`);
  }
  if (sigmaPx === 0) return Float32Array.of(1);
  const r = Math.ceil(3 * sigmaPx), k = new Float32Array(2 * r + 1);
  let s = 0;
  for (let i = -r; i <= r; i++) s += k[i + r] = Math.exp(-(i * i) / (2 * sigmaPx * sigmaPx));
  return k.map((v) => v / s);
}

/** Rows i0..i1 and columns j0..j1 (inclusive) of a size×size image. */
export interface PixelRange {
  i0: number;
  i1: number;
  j0: number;
  j1: number;
}

/** The smallest box holding every nonzero pixel of a size×size image; null if it has none. */
export function supportOf(src: ArrayLike<number>, size: number): PixelRange | null {
  let i0 = size, i1 = -1, j0 = size, j1 = -1;
  for (let i = 0; i < size; i++) {
    const row = i * size;
    let a = 0;
    while (a < size && src[row + a] === 0) a++;
    if (a === size) continue;
    let b = size - 1;
    while (src[row + b] === 0) b--;
    if (i0 === size) i0 = i;
    i1 = i;
    if (a < j0) j0 = a;
    if (b > j1) j1 = b;
  }
  return i1 < 0 ? null : { i0, i1, j0, j1 };
}

/**
 * {@link blurImage} of an image that is 0 outside `box`, written to `out` over the box widened by
 * the kernel's radius r (clipped to the image; returned) and nowhere else: the first pass runs over
 * the box's rows and the widened columns, the second over the widened box. Each output sums the same
 * nonzero terms in the same order as a blur of the whole image (the terms it skips are k·0), so the
 * two agree bit for bit.
 */
export function blurBox(
  src: ArrayLike<number>,
  size: number,
  kernel: Float32Array,
  box: PixelRange,
  out: Float32Array,
  scratch: Float32Array,
): PixelRange {
  const { i0, i1, j0, j1 } = box, r = (kernel.length - 1) / 2;
  const c0 = Math.max(0, j0 - r), c1 = Math.min(size - 1, j1 + r);
  const r0 = Math.max(0, i0 - r), r1 = Math.min(size - 1, i1 + r);
  // Along rows: scratch[i, j] = Σ_t k[t] src[i, j + t − r] over the source columns in [j0, j1].
  for (let i = i0; i <= i1; i++) {
    const row = i * size;
    for (let j = c0; j <= c1; j++) {
      let acc = 0;
      for (let q = Math.max(j0, j - r), hi = Math.min(j1, j + r); q <= hi; q++) {
        acc += kernel[q - j + r] * src[row + q];
      }
      scratch[row + j] = acc;
    }
  }
  // Along columns: out[i, j] = Σ_t k[t] scratch[i + t − r, j] over the source rows in [i0, i1].
  for (let i = r0; i <= r1; i++) {
    const lo = Math.max(i0, i - r), hi = Math.min(i1, i + r);
    for (let j = c0; j <= c1; j++) {
      let acc = 0;
      for (let q = lo; q <= hi; q++) acc += kernel[q - i + r] * scratch[q * size + j];
      out[i * size + j] = acc;
    }
  }
  return { i0: r0, i1: r1, j0: c0, j1: c1 };
}

/**
 * Separable blur of a size×size image (zero outside it: the background is 0): rows then columns,
 * into `out` ({@link blurBox} over the whole image). `scratch` is a size² buffer.
 */
export function blurImage(
  src: ArrayLike<number>,
  size: number,
  kernel: Float32Array,
  out: Float32Array,
  scratch: Float32Array,
): Float32Array {
  blurBox(src, size, kernel, { i0: 0, i1: size - 1, j0: 0, j1: size - 1 }, out, scratch);
  return out;
}

/**
 * {@link blurImage} of an image that is mostly 0: only its nonzero pixels' box is blurred
 * ({@link blurBox}), and `out` is 0 elsewhere — bit for bit the whole-image blur. Returns `out`.
 */
export function blurSupport(
  src: ArrayLike<number>,
  size: number,
  kernel: Float32Array,
  out: Float32Array,
  scratch: Float32Array,
): Float32Array {
  out.fill(0);
  const box = supportOf(src, size);
  if (box) blurBox(src, size, kernel, box, out, scratch);
  return out;
}

/**
 * log p(x | z) through the renderer for one image at a time (`setImage`), with its finite-difference
 * gradients. Renders are counted in `renders`.
 */
export class RenderLikelihood {
  readonly size: number;
  readonly sigma: number;
  readonly eps: { uv: number; z: number; angle: number };
  readonly kernel: Float32Array;
  readonly perspective: boolean;
  renders = 0;
  readonly #raster: Rasteriser;
  readonly #camera: Camera | undefined;
  readonly #x: Float32Array;
  readonly #r: Float32Array;
  readonly #br: Float32Array;
  readonly #scratch: Float32Array;
  readonly #constant: number;
  /** The base scene's rendering and B·x − B·render(base) ({@link setBase}). */
  readonly #base: Float32Array;
  readonly #baseResidual: Float32Array;
  #baseSse = 0;
  #hasBase = false;
  constructor(options: LikelihoodOptions) {
    const { size, camera, sigma, blurPx } = options;
    if (!(sigma > 0) || !Number.isFinite(sigma)) throw new RangeError(`sigma must be > 0, got ${sigma}`);
    this.size = size;
    this.sigma = sigma;
    this.eps = options.eps ?? DEFAULT_EPS;
    this.kernel = gaussianKernel(blurPx);
    this.#camera = camera;
    this.perspective = camera?.projection === "perspective";
    this.#raster = new Rasteriser({ size, ...(camera ? { camera } : {}) });
    const px = size * size;
    [this.#x, this.#r, this.#br, this.#scratch, this.#base, this.#baseResidual] = [0, 1, 2, 3, 4, 5].map(() =>
      new Float32Array(px)
    );
    this.#constant = -px * Math.log(sigma * Math.sqrt(2 * Math.PI));
  }

  /** The light of the renders that follow (towards the light; see `Rasteriser.setLight`). */
  setLight(direction: readonly number[]): void {
    this.#raster.setLight(direction);
    this.#hasBase = false;
  }

  /** The image x that follows calls score (blurred once here). */
  setImage(image: ArrayLike<number>): void {
    if (image.length < this.size * this.size) {
      throw new RangeError(`image must hold ${this.size}×${this.size} values, got ${image.length}`);
    }
    blurImage(image, this.size, this.kernel, this.#x, this.#scratch);
    this.#hasBase = false;
  }

  /**
   * The image as already blurred by this likelihood's kernel (`blurImage(x, size, kernel, …)`): to
   * score one image again without blurring it again.
   */
  setBlurredImage(blurred: ArrayLike<number>): void {
    if (blurred.length < this.size * this.size) {
      throw new RangeError(`image must hold ${this.size}×${this.size} values, got ${blurred.length}`);
    }
    for (let i = 0; i < this.#x.length; i++) this.#x[i] = blurred[i];
    this.#hasBase = false;
  }

  /**
   * Renders `objects` (one render) as the base that {@link logLikFromBase} compares scenes with:
   * scenes that differ from it in a few pixels (one object added, moved or removed) are scored by
   * blurring only the pixels that differ. Set the image first; a new image clears the base.
   */
  setBase(objects: readonly FitObject[]): void {
    this.#raster.draw(sceneOf(objects, this.#camera), this.#base, objects.map((o) => o.R));
    this.renders++;
    blurSupport(this.#base, this.size, this.kernel, this.#br, this.#scratch);
    let e = 0;
    for (let i = 0; i < this.#x.length; i++) {
      const d = this.#baseResidual[i] = this.#x[i] - this.#br[i];
      e += d * d;
    }
    this.#baseSse = e;
    this.#hasBase = true;
  }

  /**
   * log p(x | objects) by way of the base (one render): B·render(objects) = B·render(base) + B·δ, δ
   * the pixels where the two renderings differ, so only δ's box is blurred. Equal to
   * {@link logLik} up to float rounding.
   */
  logLikFromBase(objects: readonly FitObject[]): number {
    if (!this.#hasBase) throw new RangeError("logLikFromBase needs a base: call setBase after the image");
    const r = this.#r, base = this.#base, e0 = this.#baseResidual, br = this.#br;
    this.#raster.draw(sceneOf(objects, this.#camera), r, objects.map((o) => o.R));
    this.renders++;
    for (let i = 0; i < r.length; i++) r[i] -= base[i]; // δ
    const box = supportOf(r, this.size);
    let e = this.#baseSse;
    if (box) {
      // ‖e₀ − B·δ‖² = ‖e₀‖² + Σ over B·δ's box of (e₀ − B·δ)² − e₀².
      const { i0, i1, j0, j1 } = blurBox(r, this.size, this.kernel, box, br, this.#scratch);
      for (let i = i0; i <= i1; i++) {
        for (let p = i * this.size + j0, end = i * this.size + j1; p <= end; p++) {
          const d = e0[p] - br[p];
          e += d * d - e0[p] * e0[p];
        }
      }
    }
    return -e / (2 * this.sigma * this.sigma) + this.#constant;
  }

  /**
   * ‖B·x − B·render(objects)‖² (one render). The rendering is 0 on the background, so B·render is 0
   * beyond its drawn pixels' bounding box widened by the kernel's radius: only that box is blurred
   * ({@link blurSupport}; the same sums as a whole-image blur, so the same values bit for bit).
   */
  sse(objects: readonly FitObject[]): number {
    this.#raster.draw(sceneOf(objects, this.#camera), this.#r, objects.map((o) => o.R));
    this.renders++;
    blurSupport(this.#r, this.size, this.kernel, this.#br, this.#scratch);
    let e = 0;
    for (let i = 0; i < this.#x.length; i++) {
      const d = this.#x[i] - this.#br[i];
      e += d * d;
    }
    return e;
  }

  /** log p(x | objects): −SSE / (2σ²) + the Gaussian's normaliser. */
  logLik(objects: readonly FitObject[]): number {
    return -this.sse(objects) / (2 * this.sigma * this.sigma) + this.#constant;
  }

  /**
   * ∂ log p / ∂(u, v, z, turn about x, y, z) of object k by central differences (6 numbers; z only
   * under the perspective camera, where it changes the image — else 0; the turns are 0 for a sphere,
   * whose rotation shows nothing). 2 renders per latent taken; `which` limits them to the centre
   * (u, v, z) or the turns.
   */
  gradient(
    objects: readonly FitObject[],
    k: number,
    which: "all" | "centre" | "turns" = "all",
  ): Float64Array {
    const g = new Float64Array(6), o = objects[k], { uv, z, angle } = this.eps;
    const at = (moved: FitObject) => {
      const trial = objects.slice();
      trial[k] = moved;
      return this.logLik(trial);
    };
    if (which !== "turns") {
      g[0] = (at({ ...o, u: o.u + uv }) - at({ ...o, u: o.u - uv })) / (2 * uv);
      g[1] = (at({ ...o, v: o.v + uv }) - at({ ...o, v: o.v - uv })) / (2 * uv);
      if (this.perspective) g[2] = (at({ ...o, z: o.z + z }) - at({ ...o, z: o.z - z })) / (2 * z);
    }
    if (o.type !== 0 && which !== "centre") {
      for (let a = 0; a < 3; a++) {
        g[3 + a] = (at({ ...o, R: matMul3(axisRotation(a, angle), o.R) }) -
          at({ ...o, R: matMul3(axisRotation(a, -angle), o.R) })) /
          (2 * angle);
      }
    }
    return g;
  }
}

/**
 * log p along one latent of object k (0 u, 1 v, 2 z, 3–5 a turn about world x, y, z) moved by each of
 * `deltas`, with the finite-difference derivative along it there: the landscape the gradient sees.
 */
export function logLikSlice(
  lik: RenderLikelihood,
  objects: readonly FitObject[],
  k: number,
  latent: number,
  deltas: readonly number[],
): { delta: number[]; logLik: number[]; derivative: number[] } {
  if (!(Number.isInteger(latent) && latent >= 0 && latent < 6)) {
    throw new RangeError(`latent must be 0..5 (${LATENT_NAMES.join(", ")}), got ${latent}`);
  }
  const o = objects[k], logLik: number[] = [], derivative: number[] = [];
  for (const d of deltas) {
    const moved: FitObject = latent < 3
      ? {
        ...o,
        u: o.u + (latent === 0 ? d : 0),
        v: o.v + (latent === 1 ? d : 0),
        z: o.z + (latent === 2 ? d : 0),
      }
      : { ...o, R: matMul3(axisRotation(latent - 3, d), o.R) };
    const trial = objects.slice();
    trial[k] = moved;
    logLik.push(lik.logLik(trial));
    derivative.push(lik.gradient(trial, k)[latent]);
  }
  return { delta: [...deltas], logLik, derivative };
}
