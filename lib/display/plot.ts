/**
 * Plotly figures as MIME bundles: the plotly JSON for JupyterLab and, because nbconvert's HTML
 * export ignores it, a `text/html` div with a `Plotly.newPlot` call, so reports draw offline.
 *
 * @example
 * ```ts
 * import { plot } from "./plot.ts";
 * plot({ data: [{ y: [1, 3, 2] }], layout: { title: { text: "demo" } } });
 * ```
 * @module
 */
import {
  DISPLAY,
  type Displayable,
  freshId,
  html,
  MAX_CHUNK_CHARS,
  type MimeBundle,
  scriptJson,
} from "./mime.ts";

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

/**
 * The paths of the titles in a layout given as plain strings (`layout.title`, `xaxis.title`,
 * `scene.yaxis.title`, …). plotly.js 4 draws only titles given as `{ text }`, so these show nothing.
 */
export function stringTitles(layout: Record<string, unknown> = {}, path = "layout"): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(layout)) {
    if (k === "title" && typeof v === "string") out.push(`${path}.title`);
    else if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      out.push(...stringTitles(v as Record<string, unknown>, `${path}.${k}`));
    }
  }
  return out;
}

/** A copy of `layout` with every plain-string title written as `{ text }` (see {@link stringTitles}). */
export function textTitles(layout: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(layout).map(([k, v]) => {
      if (k === "title" && typeof v === "string") return [k, { text: v }];
      if (v !== null && typeof v === "object" && !Array.isArray(v)) {
        return [k, textTitles(v as Record<string, unknown>)];
      }
      return [k, v];
    }),
  );
}

/** What a figure shows until its script runs (an untrusted notebook runs none). */
export const UNDRAWN_NOTE =
  "This plot is drawn by a script: trust the notebook (or re-run the cell) to draw it.";

/**
 * A plotly figure; draws live in Jupyter and in exported HTML with no network. Plain-string
 * titles are written as `{ text }` (plotly.js 4 ignores the former).
 */
export class Figure implements Displayable {
  readonly id = freshId("fig");
  constructor(readonly spec: FigureSpec) {
    if (!spec || !Array.isArray(spec.data)) throw new TypeError("figure.data must be an array of traces");
  }

  /** The bundle; `embedPlotly` inlines plotly.js before the figure's script (one big message). */
  bundle(embedPlotly: boolean): MimeBundle {
    const layout = textTitles({ margin: { t: 40, l: 50, r: 20, b: 40 }, ...this.spec.layout });
    const config = { responsive: true, displaylogo: false, ...this.spec.config };
    const title = (layout as { title?: { text?: string } }).title?.text ?? "";
    const loader = embedPlotly ? `<script type="text/javascript">${plotlyJs()}</script>\n` : "";
    const script = `(function () {
  var spec = ${scriptJson({ data: this.spec.data, layout, config })};
  function draw() {
    var el = document.getElementById(${JSON.stringify(this.id)});
    el.textContent = "";
    window.Plotly.newPlot(el, spec.data, spec.layout, spec.config);
  }
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
        `${loader}<div id="${this.id}" class="plotly-figure" style="width:100%;height:${height}px">` +
        `<p class="plotly-undrawn" style="color:#777;font:13px sans-serif;margin:1em">${UNDRAWN_NOTE}</p></div>\n` +
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
