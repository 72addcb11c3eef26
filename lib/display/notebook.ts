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
 * `display/` imports nothing of the science and never touches `Deno.jupyter`:
 * the kernel is handed in (anything with `broadcast`), so it runs under `deno test`.
 *
 * @example
 * ```ts
 * // in a notebook cell
 * import { Notebook } from "./notebook.ts";
 * import { plot } from "./plot.ts";
 * const nb = new Notebook(Deno.jupyter);
 * await nb.show(plot({ data: [{ y: [1, 3, 2] }], layout: { title: { text: "demo" } } }));
 * const bar = nb.progress("training", 100);
 * for (let i = 1; i <= 100; i++) bar.update(i);
 * await bar.done();
 * ```
 * @module
 */
import {
  DISPLAY,
  type Displayable,
  DRAIN_MS,
  DRAIN_MS_PER_MB,
  escapeHtml,
  freshId,
  html,
  type KernelChannel,
  type MimeBundle,
  SEQ_KEY,
  sleep,
} from "./mime.ts";
import { Figure, plotlyLoader } from "./plot.ts";

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
