/**
 * Images as PNG MIME bundles: one image, grids with captions and boxes, instance-id colouring and
 * depth normalisation. Images are Float32 in [0, 1], row-major, 1 or 3 interleaved channels.
 *
 * @example
 * ```ts
 * import { toPng } from "./images.ts";
 * const png = toPng({ data: new Float32Array(4).fill(0.5), width: 2, height: 2, channels: 1 });
 * ```
 * @module
 */
import { encode as encodePng } from "fast-png";
import { Buffer } from "node:buffer";
import { Bundle, type Displayable, escapeHtml } from "./mime.ts";

// ---------------------------------------------------------------- PNG images and grids

/** An image: Float32 values in [0, 1], row-major, 1 (grey) or 3 (RGB) interleaved channels. */
export interface ImageData {
  data: Float32Array | Uint8Array;
  width: number;
  height: number;
  channels?: 1 | 3;
}

/** A box drawn over an image, in pixel coordinates of that image. */
export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
  color?: string;
  label?: string;
}

export interface GridItem extends ImageData {
  caption?: string;
  boxes?: Box[];
}

function checkImage(img: ImageData, field: string): 1 | 3 {
  const ch = img.channels ?? 1;
  if (ch !== 1 && ch !== 3) throw new RangeError(`${field}.channels must be 1 or 3, got ${ch}`);
  for (const k of ["width", "height"] as const) {
    if (!Number.isInteger(img[k]) || img[k] < 1) {
      throw new RangeError(`${field}.${k} must be an integer >= 1`);
    }
  }
  if (img.data.length !== img.width * img.height * ch) {
    throw new RangeError(
      `${field}.data has ${img.data.length} values; width·height·channels = ${img.width * img.height * ch}`,
    );
  }
  return ch;
}

/** Encodes an image as PNG bytes (values clamped to [0, 1]; Uint8Array data is taken as 0..255). */
export function toPng(img: ImageData): Uint8Array {
  const ch = checkImage(img, "image");
  let bytes: Uint8Array;
  if (img.data instanceof Uint8Array) bytes = img.data;
  else {
    bytes = new Uint8Array(img.data.length);
    for (let i = 0; i < bytes.length; i++) {
      const v = img.data[i];
      bytes[i] = v > 0 ? (v < 1 ? Math.round(v * 255) : 255) : 0; // NaN → 0
    }
  }
  return encodePng({ width: img.width, height: img.height, data: bytes, channels: ch, depth: 8 });
}

export const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

/** A single PNG image displayed at `scale` screen pixels per image pixel. */
export function image(img: ImageData, scale = 4): Displayable {
  return imageGrid([img], { columns: 1, scale });
}

export interface GridOptions {
  columns?: number;
  /** Screen pixels per image pixel (nearest-neighbour upscaling); default 3. */
  scale?: number;
  title?: string;
}

/** A grid of PNG images with optional captions and boxes, as one HTML block (text/plain: a one-line summary). */
export function imageGrid(items: GridItem[], options: GridOptions = {}): Displayable {
  if (!Array.isArray(items) || items.length === 0) {
    throw new RangeError("imageGrid: items must be a non-empty array");
  }
  const columns = options.columns ?? Math.min(items.length, 8);
  const scale = options.scale ?? 3;
  if (!Number.isInteger(columns) || columns < 1) {
    throw new RangeError(`columns must be an integer >= 1, got ${columns}`);
  }
  if (!(scale > 0)) throw new RangeError(`scale must be > 0, got ${scale}`);
  const cells = items.map((it, k) => {
    checkImage(it, `items[${k}]`);
    const w = it.width * scale, h = it.height * scale;
    const boxes = (it.boxes ?? []).map((b) => {
      const color = escapeHtml(b.color ?? "#ff3b30");
      const label = b.label
        ? `<span style="position:absolute;left:0;top:-1.3em;font:11px sans-serif;color:${color}">${
          escapeHtml(b.label)
        }</span>`
        : "";
      return `<div class="box" style="position:absolute;left:${b.x * scale}px;top:${b.y * scale}px;width:${
        b.w * scale
      }px;height:${b.h * scale}px;border:2px solid ${color};box-sizing:border-box">${label}</div>`;
    }).join("");
    const cap = it.caption
      ? `<figcaption style="font:12px sans-serif;text-align:center;max-width:${w}px">${
        escapeHtml(it.caption)
      }</figcaption>`
      : "";
    return `<figure style="margin:4px"><div style="position:relative;width:${w}px;height:${h}px">` +
      `<img src="data:image/png;base64,${base64(toPng(it))}" width="${w}" height="${h}" ` +
      `style="image-rendering:pixelated;display:block">${boxes}</div>${cap}</figure>`;
  });
  const title = options.title
    ? `<div style="font:bold 13px sans-serif;margin:4px">${escapeHtml(options.title)}</div>`
    : "";
  // A table, not a CSS grid: an untrusted notebook's sanitiser drops styles but keeps tables, so the
  // images stay in their rows there too.
  const rows: string[] = [];
  const td = (c: string) => `<td style="padding:1px;vertical-align:top">${c}</td>`;
  for (let r = 0; r < cells.length; r += columns) {
    rows.push(`<tr style="background:none">${cells.slice(r, r + columns).map(td).join("")}</tr>`);
  }
  const markup = `${title}<table style="border-collapse:collapse;border:none">${rows.join("")}</table>`;
  const plain = `${options.title ? options.title + ": " : ""}${items.length} image(s), ${items[0].width}×${
    items[0].height
  }`;
  return new Bundle({ "text/html": markup, "text/plain": plain });
}

/** A perceptual-ish palette for instance ids (id −1 → black). */
export const PALETTE: readonly [number, number, number][] = [
  [0.90, 0.30, 0.24],
  [0.20, 0.60, 0.86],
  [0.18, 0.80, 0.44],
  [0.95, 0.77, 0.06],
  [0.61, 0.35, 0.71],
  [0.90, 0.49, 0.13],
  [0.10, 0.74, 0.61],
  [0.93, 0.44, 0.69],
];

/** Colours an id map (−1 = background, black) into an RGB image. */
export function colorizeIds(ids: ArrayLike<number>, width: number, height: number): ImageData {
  const data = new Float32Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    const id = ids[p];
    if (id < 0) continue;
    const c = PALETTE[id % PALETTE.length];
    data[3 * p] = c[0];
    data[3 * p + 1] = c[1];
    data[3 * p + 2] = c[2];
  }
  return { data, width, height, channels: 3 };
}

/** Maps finite values linearly to [1, 0.25] (near = bright, far = dim); non-finite (background) → 0. For depth maps. */
export function normalizeDepth(depth: ArrayLike<number>, width: number, height: number): ImageData {
  let lo = Infinity, hi = -Infinity;
  for (let p = 0; p < width * height; p++) {
    const d = depth[p];
    if (!Number.isFinite(d)) continue;
    if (d < lo) lo = d;
    if (d > hi) hi = d;
  }
  const data = new Float32Array(width * height);
  for (let p = 0; p < width * height; p++) {
    const d = depth[p];
    if (Number.isFinite(d)) data[p] = hi > lo ? 0.25 + 0.75 * (hi - d) / (hi - lo) : 1;
  }
  return { data, width, height, channels: 1 };
}
