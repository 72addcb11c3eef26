/**
 * What the display modules share: the kernel's display protocol, MIME bundles, HTML and text
 * outputs, and the limits the notebook channel keeps to (see `notebook.ts`).
 *
 * @example
 * ```ts
 * import { DISPLAY, html } from "./mime.ts";
 * html("<b>hi</b>")[DISPLAY](); // { "text/html": "<b>hi</b>", "text/plain": "hi" }
 * ```
 * @module
 */

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

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const escapeHtml = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
/** JSON safe inside a <script>: no "</script", and non-finite numbers become null. */
export const scriptJson = (v: unknown) =>
  JSON.stringify(v, (_k, x) => (typeof x === "number" && !Number.isFinite(x) ? null : x)).replace(
    /</g,
    "\\u003c",
  );
let idCounter = 0;
export const freshId = (prefix: string) =>
  `${prefix}-${Date.now().toString(36)}-${(idCounter++).toString(36)}-${
    Math.random().toString(36).slice(2, 7)
  }`;
export class Bundle implements Displayable {
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
