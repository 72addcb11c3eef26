/**
 * Jupyter MIME bundles for the notebooks: plotly figures, PNG image grids, HTML tables
 * and a progress display that updates in place.
 *
 * Every displayable here implements the kernel's `Symbol.for("Jupyter.display")`
 * protocol, so it renders when it is a cell's last expression. Notebooks should
 * rather end output cells with `await nb.show(...)` on a {@link Notebook}:
 *
 * - Deno's kernel can report "idle" before its output queue has drained, and
 *   nbclient stops listening at idle, so a cell's last outputs can be lost.
 *   `show` (and `Progress.done`) broadcast and then wait so the queue drains
 *   before the cell ends: {@link DRAIN_MS}, plus time for every byte sent since
 *   the last wait ({@link DRAIN_MS_PER_MB}).
 * - Under CPU load the kernel loses outputs that follow a multi-megabyte message
 *   (measured: a 2.5 MB output lost the next one in 1 of 3 runs, 4.8 MB in 2 of
 *   2). So no message is that large: plotly.js (4.8 MB) goes out in pieces of at
 *   most {@link MAX_CHUNK_CHARS}, which the page joins and runs.
 * - nbconvert's HTML export ignores `application/vnd.plotly.v1+json`, so each
 *   figure also carries `text/html` (a div and a `Plotly.newPlot` call), and the
 *   Notebook sends plotly.js once, before its first figure, so reports draw offline.
 *
 * This module imports nothing of the science and never touches `Deno.jupyter`:
 * the kernel is handed in (anything with `broadcast`), so it runs under `deno test`.
 *
 * @example
 * ```ts
 * // in a notebook cell
 * import { Notebook, plot, table } from "./display.ts";
 * const nb = new Notebook(Deno.jupyter);
 * await nb.show(plot({ data: [{ y: [1, 3, 2] }], layout: { title: { text: "demo" } } }));
 * const bar = nb.progress("training", 100);
 * for (let i = 1; i <= 100; i++) bar.update(i);
 * await bar.done();
 * ```
 * @module
 */
import { encode as encodePng } from "fast-png";
import { Buffer } from "node:buffer";

/** The kernel's display protocol symbol. */
export const DISPLAY: unique symbol = Symbol.for("Jupyter.display") as never;
/** A Jupyter MIME bundle: mime type → data. */
export type MimeBundle = Record<string, unknown>;
/** Anything the kernel can display. */
export interface Displayable {
  [DISPLAY](): MimeBundle;
}
/** What this module needs of a kernel; `Deno.jupyter` satisfies it. */
export interface KernelChannel {
  broadcast(msgType: string, content: Record<string, unknown>): Promise<void>;
}

/** Output-metadata key holding each output's sequence number within its notebook. */
export const SEQ_KEY = "nb_seq";

/** Wait after a cell's last output so Deno's kernel drains its queue before reporting idle. */
export const DRAIN_MS = 100;
/** Extra drain wait per megabyte sent since the last wait. */
export const DRAIN_MS_PER_MB = 100;
/** Largest piece of plotly.js sent in one output (larger messages get lost under load). */
export const MAX_CHUNK_CHARS = 256 * 1024;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const escapeHtml = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
/** JSON safe inside a <script>: no "</script", and non-finite numbers become null. */
const scriptJson = (v: unknown) =>
  JSON.stringify(v, (_k, x) => (typeof x === "number" && !Number.isFinite(x) ? null : x)).replace(
    /</g,
    "\\u003c",
  );
let idCounter = 0;
const freshId = (prefix: string) =>
  `${prefix}-${Date.now().toString(36)}-${(idCounter++).toString(36)}-${
    Math.random().toString(36).slice(2, 7)
  }`;

// ---------------------------------------------------------------- plain HTML / text

class Bundle implements Displayable {
  constructor(readonly bundle: MimeBundle) {}
  [DISPLAY](): MimeBundle {
    return this.bundle;
  }
}

/** Raw HTML (with a plain-text fallback). */
export function html(markup: string, plain = markup.replace(/<[^>]*>/g, "")): Displayable {
  return new Bundle({ "text/html": markup, "text/plain": plain });
}

/** Plain text. */
export function text(s: string): Displayable {
  return new Bundle({ "text/plain": s });
}

// ---------------------------------------------------------------- plotly figures

/** A plotly figure: `data` traces, `layout`, optional `config`. */
export interface FigureSpec {
  data: Record<string, unknown>[];
  layout?: Record<string, unknown>;
  config?: Record<string, unknown>;
}

let plotlySource: string | undefined;

/** The plotly.js bundle (read once from the npm package), safe to inline in a <script>. */
export function plotlyJs(): string {
  if (plotlySource === undefined) {
    const url = import.meta.resolve("plotly.js-dist-min");
    if (!url.startsWith("file:")) {
      throw new Error(
        `plotly.js is not installed in node_modules (resolved to ${url}); run \`deno install\` first`,
      );
    }
    plotlySource = Deno.readTextFileSync(new URL(url)).replace(/<\/script/gi, "<\\/script");
  }
  return plotlySource;
}

const HIDE_PIECES =
  ".jp-OutputArea-child:has(script.nb-plotly-part), .output_area:has(script.nb-plotly-part)" +
  " { display: none; }";

/**
 * plotly.js as a list of outputs, each at most about {@link MAX_CHUNK_CHARS}: every piece pushes
 * its text onto `window.__nbPlotlySrc`; the last one runs the joined source as one script (unless
 * plotly is already loaded). Scripts in outputs run in order, live and in exported HTML.
 */
export function plotlyLoader(maxChars = MAX_CHUNK_CHARS): Displayable[] {
  const src = plotlyJs();
  const pieces: Displayable[] = [];
  const n = Math.ceil(src.length / maxChars);
  for (let k = 0; k < n; k++) {
    const piece = scriptJson(src.slice(k * maxChars, (k + 1) * maxChars));
    // The first piece also hides the (empty) output areas of all pieces in exported reports.
    const style = k === 0 ? `<style>${HIDE_PIECES}</style>` : "";
    pieces.push(html(
      `${style}<script type="text/javascript" class="nb-plotly-part">(window.__nbPlotlySrc = window.__nbPlotlySrc || []).push(${piece});</script>`,
      `(plotly.js, part ${k + 1}/${n})`,
    ));
  }
  pieces.push(html(
    `<script type="text/javascript" class="nb-plotly-part">(function () {
  var parts = window.__nbPlotlySrc || []; window.__nbPlotlySrc = [];
  if (window.Plotly || !parts.length) return;
  var s = document.createElement("script"); s.type = "text/javascript"; s.text = parts.join("");
  document.head.appendChild(s);
})();</script>`,
    "(plotly.js loaded)",
  ));
  return pieces;
}

/** A plotly figure; draws live in Jupyter and in exported HTML with no network. */
export class Figure implements Displayable {
  readonly id = freshId("fig");
  constructor(readonly spec: FigureSpec) {
    if (!spec || !Array.isArray(spec.data)) throw new TypeError("figure.data must be an array of traces");
  }

  /** The bundle; `embedPlotly` inlines plotly.js before the figure's script (one big message). */
  bundle(embedPlotly: boolean): MimeBundle {
    const layout = { margin: { t: 40, l: 50, r: 20, b: 40 }, ...this.spec.layout };
    const config = { responsive: true, displaylogo: false, ...this.spec.config };
    const title = (layout as { title?: { text?: string } }).title?.text ?? "";
    const loader = embedPlotly ? `<script type="text/javascript">${plotlyJs()}</script>\n` : "";
    const script = `(function () {
  var spec = ${scriptJson({ data: this.spec.data, layout, config })};
  function draw() { window.Plotly.newPlot(${JSON.stringify(this.id)}, spec.data, spec.layout, spec.config); }
  if (window.Plotly) { draw(); } else {
    var tries = 0, timer = setInterval(function () {
      if (window.Plotly) { clearInterval(timer); draw(); }
      else if (++tries > 100) { clearInterval(timer);
        document.getElementById(${
      JSON.stringify(this.id)
    }).textContent = "plotly.js did not load: re-run the notebook's setup cell"; }
    }, 50);
  }
})();`;
    const height = Number((layout as { height?: number }).height ?? 420);
    return {
      "application/vnd.plotly.v1+json": { data: this.spec.data, layout, config },
      "text/html":
        `${loader}<div id="${this.id}" class="plotly-figure" style="width:100%;height:${height}px"></div>\n` +
        `<script type="text/javascript">${script}</script>`,
      "text/plain": `Figure${title ? `: ${title}` : ""} (${this.spec.data.length} trace(s))`,
    };
  }

  /** Self-contained bundle (embeds plotly.js): prefer `Notebook.show`, which sends it once, in pieces. */
  [DISPLAY](): MimeBundle {
    return this.bundle(true);
  }
}

/** A confusion matrix `matrix[true][predicted]` as an annotated heatmap (true classes down, predicted across). */
export function confusionHeatmap(matrix: number[][], labels: string[], title: string): FigureSpec {
  if (matrix.length !== labels.length || matrix.some((r) => r.length !== labels.length)) {
    throw new RangeError(`matrix must be ${labels.length}×${labels.length} (one row and column per label)`);
  }
  return {
    data: [{
      type: "heatmap",
      z: matrix,
      x: labels,
      y: labels,
      colorscale: "Blues",
      reversescale: true, // plotly's Blues runs dark → light; the largest count should be darkest
      text: matrix.map((r) => r.map(String)),
      texttemplate: "%{text}",
      showscale: false,
    }],
    layout: {
      title: { text: title },
      xaxis: { title: { text: "predicted" }, type: "category" },
      yaxis: { title: { text: "true" }, autorange: "reversed", type: "category" },
      height: 300,
      width: 380,
      margin: { t: 60, b: 50 },
    },
  };
}

/** Counts of `values` in `bins` equal bins over [min, max] (values outside are dropped), with bin centres. */
export function histogram(
  values: ArrayLike<number>,
  options: { bins: number; min: number; max: number },
): { centers: number[]; counts: number[]; width: number } {
  const { bins, min, max } = options;
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`bins must be an integer >= 1, got ${bins}`);
  if (!(max > min)) throw new RangeError(`need min < max, got min=${min}, max=${max}`);
  const width = (max - min) / bins;
  const counts = new Array(bins).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(v >= min && v <= max)) continue;
    counts[Math.min(bins - 1, Math.floor((v - min) / width))]++;
  }
  return { centers: counts.map((_, k) => min + (k + 0.5) * width), counts, width };
}

/** A plotly figure from traces and layout. */
export function plot(spec: FigureSpec): Figure {
  return new Figure(spec);
}

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

const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

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
  const markup =
    `${title}<div style="display:grid;grid-template-columns:repeat(${columns}, max-content);gap:2px">${
      cells.join("")
    }</div>`;
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

// ---------------------------------------------------------------- tables

export interface TableOptions {
  caption?: string;
  /** Significant digits for numbers; default 4. */
  digits?: number;
}

/** An HTML table from rows of records (columns are the keys of the first row, then any new ones). */
export function table(rows: Record<string, unknown>[], options: TableOptions = {}): Displayable {
  if (!Array.isArray(rows)) throw new TypeError("table: rows must be an array of objects");
  const digits = options.digits ?? 4;
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const fmt = (v: unknown) =>
    typeof v === "number"
      ? Number.isInteger(v)
        ? String(v)
        : Number.isFinite(v)
        ? String(Number(v.toPrecision(digits)))
        : String(v)
      : v === undefined || v === null
      ? ""
      : String(v);
  const cells = rows.map((r) => columns.map((c) => fmt(r[c])));
  const head = columns.map((c) => `<th style="text-align:left;padding:2px 10px">${escapeHtml(c)}</th>`).join(
    "",
  );
  const body = cells.map((r) =>
    `<tr>${r.map((v) => `<td style="text-align:left;padding:2px 10px">${escapeHtml(v)}</td>`).join("")}</tr>`
  ).join("");
  const caption = options.caption
    ? `<caption style="text-align:left;font-weight:bold">${escapeHtml(options.caption)}</caption>`
    : "";
  const widths = columns.map((c, k) => Math.max(c.length, ...cells.map((r) => r[k].length)));
  const line = (vals: string[]) => vals.map((v, k) => v.padEnd(widths[k])).join("  ").trimEnd();
  const plain = [options.caption ?? "", line(columns), ...cells.map(line)].filter((l) => l !== "").join("\n");
  return new Bundle({
    "text/html":
      `<table style="border-collapse:collapse;font:13px sans-serif">${caption}<thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`,
    "text/plain": plain,
  });
}

// ---------------------------------------------------------------- the notebook's output channel

/** Sends displayables to a kernel; embeds plotly.js once; waits for the output queue to drain. */
export class Notebook {
  #plotlySent = false;
  #seq = 0;
  #pendingChars = 0;
  readonly #seqOf = new Map<string, number>();
  /** Every bundle shown, in order (also the whole output when there is no kernel). */
  readonly shown: MimeBundle[] = [];

  /** `kernel` is `Deno.jupyter` in a notebook; without one, bundles are only recorded in `shown`. */
  constructor(readonly kernel?: KernelChannel, readonly drainMs = DRAIN_MS) {}

  /** The bundle for `item` (a figure's does not carry plotly.js: `send` ships it first, in pieces). */
  bundleOf(item: Displayable | string): MimeBundle {
    if (typeof item === "string") return { "text/plain": item };
    if (item instanceof Figure) return item.bundle(false);
    if (!item || typeof (item as Displayable)[DISPLAY] !== "function") {
      throw new TypeError('show: each item must be a string or implement Symbol.for("Jupyter.display")');
    }
    return item[DISPLAY]();
  }

  /** Displays each item as its own output, then waits for the kernel's queue to drain. */
  async show(...items: (Displayable | string)[]): Promise<void> {
    for (const item of items) await this.send("display_data", item);
    await this.drain();
  }

  /** A display with an id that later calls replace in place. */
  async display(item: Displayable | string, id = freshId("out")): Promise<LiveOutput> {
    const live = new LiveOutput(this, id);
    await live.send("display_data", item);
    return live;
  }

  /** A progress bar that updates in place (throttled); `await done()` at the end. */
  progress(label: string, total: number, options: { throttleMs?: number } = {}): Progress {
    return new Progress(this, label, total, options.throttleMs ?? 250);
  }

  /** @internal Sends one output (with `id`, one that later updates can replace). */
  async send(msgType: string, item: Displayable | string, id?: string): Promise<void> {
    if (item instanceof Figure && !this.#plotlySent) {
      this.#plotlySent = true;
      for (const piece of plotlyLoader()) await this.send("display_data", piece);
    }
    const data = this.bundleOf(item);
    for (const v of Object.values(data)) this.#pendingChars += typeof v === "string" ? v.length : 0;
    if (msgType === "display_data") this.shown.push(data);
    else this.shown.push({ ...data, "x-update-of": id });
    const metadata = msgType === "display_data" ? this.#stamp(id) : { [SEQ_KEY]: this.#seqOf.get(id!) };
    const transient = id === undefined ? {} : { display_id: id };
    await this.kernel?.broadcast(msgType, { data, metadata, transient });
  }

  /**
   * Output metadata carrying this output's sequence number: the notebook test checks that the
   * executed notebook holds an unbroken 0, 1, 2, … so no output was lost.
   */
  #stamp(id?: string): Record<string, number> {
    const seq = this.#seq++;
    if (id !== undefined) this.#seqOf.set(id, seq);
    return { [SEQ_KEY]: seq };
  }

  /** @internal Waits {@link DRAIN_MS} plus {@link DRAIN_MS_PER_MB} per megabyte sent since the last wait. */
  drain(): Promise<void> {
    const ms = this.drainMs + (DRAIN_MS_PER_MB * this.#pendingChars) / 1e6;
    this.#pendingChars = 0;
    return this.kernel ? sleep(ms) : Promise.resolve();
  }
}

/** An output that can be replaced in place (e.g. a live training curve). */
export class LiveOutput {
  constructor(readonly nb: Notebook, readonly id: string) {}
  /** @internal */
  send(msgType: string, item: Displayable | string): Promise<void> {
    return this.nb.send(msgType, item, this.id);
  }
  /** Replaces the output's content. */
  update(item: Displayable | string): Promise<void> {
    return this.send("update_display_data", item);
  }
  /** Final content, then wait for the drain. */
  async finish(item: Displayable | string): Promise<void> {
    await this.update(item);
    await this.nb.drain();
  }
}

/** A progress display: label, bar, count, elapsed time and rate; updates in place. */
export class Progress {
  readonly started = performance.now();
  #count = 0;
  #note = "";
  #last = -Infinity;
  #id = freshId("progress");
  #chain: Promise<void>;

  constructor(
    readonly nb: Notebook,
    readonly label: string,
    readonly total: number,
    readonly throttleMs: number,
  ) {
    if (!(total > 0)) throw new RangeError(`progress total must be > 0, got ${total}`);
    this.#chain = nb.send("display_data", this.view(), this.#id);
  }

  /** The current view: HTML bar and a text line. */
  view(): Displayable {
    const frac = Math.min(1, this.#count / this.total);
    const secs = (performance.now() - this.started) / 1000;
    const rate = secs > 0 ? this.#count / secs : 0;
    const line = `${this.label}: ${this.#count}/${this.total} (${(100 * frac).toFixed(0)}%) ${
      secs.toFixed(1)
    } s, ${rate.toPrecision(3)}/s${this.#note ? ` — ${this.#note}` : ""}`;
    return html(
      `<div style="font:13px monospace"><progress value="${this.#count}" max="${this.total}" style="width:240px"></progress> ${
        escapeHtml(line)
      }</div>`,
      line,
    );
  }

  /** Sets the count (and an optional note); sends an update at most every `throttleMs`. */
  update(count: number, note = ""): void {
    this.#count = count;
    this.#note = note;
    const now = performance.now();
    if (now - this.#last < this.throttleMs) return;
    this.#last = now;
    this.#sendView();
  }

  /** Queues an update with the current view, after any still in flight. */
  #sendView(): void {
    const view = this.view();
    this.#chain = this.#chain.then(() => this.nb.send("update_display_data", view, this.#id));
  }

  /** Final update, then waits for the kernel's queue to drain. */
  async done(note = this.#note): Promise<void> {
    this.#note = note;
    this.#sendView();
    await this.#chain;
    await this.nb.drain();
  }
}
