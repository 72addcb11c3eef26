/**
 * Multi-dSprites-style RGB scenes with ground-truth instance masks (GENESIS App. A, after Burgess
 * et al. 2019): 1–4 sprites (square, ellipse, heart) at several scales and rotations, each in a
 * colour from a small palette, over a background of another palette colour. Sprites are drawn in
 * order, so later ones occlude earlier ones; the instance map gives each pixel the id of the
 * sprite that shows there (1..n in drawing order) or 0 for the background.
 *
 * The palette follows Multi-dSprites: each channel takes one of five equally spread values
 * (0, ¼, ½, ¾, 1); a sprite's colour differs from the background's.
 *
 * @example
 * ```ts
 * import { Rng } from "../core/random.ts";
 * import { sampleSprites } from "./sprites.ts";
 * const set = sampleSprites(new Rng(0), 8, { size: 64 });
 * set.images; // Float32Array [8, 64, 64, 3] in [0, 1]
 * set.masks;  // Int32Array   [8, 64, 64], 0 = background, k = k-th sprite drawn
 * ```
 * @module
 */
import type { Rng } from "../core/random.ts";
import { requireInt } from "../core/validate.ts";

export type SpriteShape = "square" | "ellipse" | "heart";
export const SPRITE_SHAPES: readonly SpriteShape[] = ["square", "ellipse", "heart"];

/** One sprite: shape, centre (pixels), half-size (pixels), rotation (radians), RGB colour. */
export interface Sprite {
  shape: SpriteShape;
  x: number;
  y: number;
  scale: number;
  angle: number;
  colour: [number, number, number];
}

/** The scene distribution. */
export interface SpriteSpec {
  /** Image side in pixels. */
  size: number;
  /** Fewest and most sprites per scene (uniform in between). */
  minSprites: number;
  maxSprites: number;
  /** Half-sizes to choose from, as fractions of the image side. */
  scales: number[];
  /** Channel levels of the palette. */
  levels: number[];
}

/** Multi-dSprites' channel levels: each colour channel takes one of five equally spread values. */
export const PALETTE_LEVELS: readonly number[] = [0, 0.25, 0.5, 0.75, 1];

/** 64×64, 1–4 sprites, six scales, Multi-dSprites' five-level colour palette. */
export function defaultSpriteSpec(overrides: Partial<SpriteSpec> = {}): SpriteSpec {
  return {
    size: 64,
    minSprites: 1,
    maxSprites: 4,
    scales: [0.08, 0.1, 0.12, 0.14, 0.16, 0.18],
    levels: [...PALETTE_LEVELS],
    ...overrides,
  };
}

/** Checks a scene spec, naming the bad field. */
export function validateSpriteSpec(s: SpriteSpec): void {
  requireInt(s, "size", 8, 512);
  requireInt(s, "minSprites", 0, 16);
  requireInt(s, "maxSprites", 0, 16);
  if (s.maxSprites < s.minSprites) {
    throw new RangeError(`maxSprites (${s.maxSprites}) must be at least minSprites (${s.minSprites})`);
  }
  if (!Array.isArray(s.scales) || s.scales.length === 0 || s.scales.some((v) => !(v > 0 && v < 0.5))) {
    throw new RangeError(`scales must be fractions of the image side in (0, 0.5), got [${s.scales}]`);
  }
  if (!Array.isArray(s.levels) || s.levels.length < 2 || s.levels.some((v) => !(v >= 0 && v <= 1))) {
    throw new RangeError(`levels must list at least two channel values in [0, 1], got [${s.levels}]`);
  }
}

/**
 * Whether the point (u, v) in the sprite's own frame (unit half-size, y up) is inside the shape.
 * Heart: the classic sextic (u² + v² − 1)³ ≤ u² v³, scaled to fit the unit square.
 */
export function insideShape(shape: SpriteShape, u: number, v: number): boolean {
  switch (shape) {
    case "square":
      return Math.abs(u) <= 0.8 && Math.abs(v) <= 0.8; // same area scale as the others
    case "ellipse":
      return u * u + (v * v) / 0.45 <= 1;
    case "heart": {
      const a = u * 0.85 * 1.3, b = v * 1.3 + 0.15; // centre the heart's bounding box
      const r = a * a + b * b - 1;
      return r * r * r <= a * a * b * b * b;
    }
  }
}

/** Draws the scene's sprites (in order) on a background colour into image [H, W, 3] and mask [H, W]. */
export function drawSprites(
  sprites: Sprite[],
  background: [number, number, number],
  size: number,
  image: Float32Array,
  mask: Int32Array,
): void {
  for (let p = 0; p < size * size; p++) {
    image[3 * p] = background[0];
    image[3 * p + 1] = background[1];
    image[3 * p + 2] = background[2];
    mask[p] = 0;
  }
  sprites.forEach((s, k) => {
    const cos = Math.cos(s.angle), sin = Math.sin(s.angle), r = s.scale * Math.SQRT2;
    const y0 = Math.max(0, Math.floor(s.y - r)), y1 = Math.min(size - 1, Math.ceil(s.y + r));
    const x0 = Math.max(0, Math.floor(s.x - r)), x1 = Math.min(size - 1, Math.ceil(s.x + r));
    for (let py = y0; py <= y1; py++) {
      for (let px = x0; px <= x1; px++) {
        // Pixel centre → sprite frame (rotate by −angle, scale to unit half-size, y up).
        const dx = px + 0.5 - s.x, dy = s.y - (py + 0.5);
        const u = (cos * dx + sin * dy) / s.scale, v = (-sin * dx + cos * dy) / s.scale;
        if (!insideShape(s.shape, u, v)) continue;
        const p = py * size + px;
        image[3 * p] = s.colour[0];
        image[3 * p + 1] = s.colour[1];
        image[3 * p + 2] = s.colour[2];
        mask[p] = k + 1;
      }
    }
  });
}

/** RGB scenes with ground-truth instance masks, as the segmentation metrics take them. */
export interface SegmentationSet {
  n: number;
  size: number;
  /** [n, H, W, 3] in [0, 1]. */
  images: Float32Array;
  /** [n, H, W]: 0 = background, k = the k-th object. */
  masks: Int32Array;
  counts: number[];
}

/** Sprite scenes, with what was drawn. */
export interface SpriteSet extends SegmentationSet {
  sprites: Sprite[][];
}

/** Samples `n` scenes; every sprite keeps at least one visible pixel (else the scene is redrawn). */
export function sampleSprites(rng: Rng, n: number, overrides: Partial<SpriteSpec> = {}): SpriteSet {
  const spec = defaultSpriteSpec(overrides);
  validateSpriteSpec(spec);
  if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`n must be a positive integer, got ${n}`);
  const S = spec.size, px = S * S;
  const images = new Float32Array(n * px * 3), masks = new Int32Array(n * px);
  const counts: number[] = [], all: Sprite[][] = [];
  const colour = () => [0, 1, 2].map(() => rng.choice(spec.levels)) as [number, number, number];
  const same = (a: number[], b: number[]) => a.every((v, i) => v === b[i]);
  for (let i = 0; i < n; i++) {
    const image = images.subarray(i * px * 3, (i + 1) * px * 3), mask = masks.subarray(i * px, (i + 1) * px);
    for (;;) {
      const count = rng.int(spec.minSprites, spec.maxSprites);
      const background = colour();
      const sprites: Sprite[] = [];
      for (let k = 0; k < count; k++) {
        const scale = rng.choice(spec.scales) * S;
        let c = colour();
        while (same(c, background)) c = colour();
        sprites.push({
          shape: rng.choice(SPRITE_SHAPES),
          x: rng.uniform(scale, S - scale),
          y: rng.uniform(scale, S - scale),
          scale,
          angle: rng.uniform(0, 2 * Math.PI),
          colour: c,
        });
      }
      drawSprites(sprites, background, S, image, mask);
      const seen = new Set(mask);
      if (sprites.every((_, k) => seen.has(k + 1))) {
        counts.push(count);
        all.push(sprites);
        break;
      }
    }
  }
  return { n, size: S, images, masks, counts, sprites: all };
}
