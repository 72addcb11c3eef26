/**
 * `reports/index.html`: an offline page linking every report in `reports/`, with each notebook's
 * one-line summary (its title), how long it took to run, in which mode, and when it was made. The
 * facts live in `reports/index.json`, updated by each `deno task report` run, so reporting one
 * notebook keeps the others' entries.
 *
 * @example
 * ```ts
 * import { notebookSummary, renderIndex } from "./report_index.ts";
 * const summary = notebookSummary({ cells: [{ cell_type: "markdown", source: "# AIR — part 1\n\ntext" }] });
 * const page = renderIndex([{ report: "01.html", notebook: "01.ipynb", summary, seconds: 12, made: "2026-11-30T10:00:00Z", quick: true }]);
 * ```
 * @module
 */
import { join } from "node:path";
import { writeAtomic } from "../lib/core/files.ts";

/** One report on the index page. */
export interface ReportEntry {
  /** The report's file name in `reports/`. */
  report: string;
  notebook: string;
  summary: string;
  /** Seconds the notebook took to execute. */
  seconds: number;
  /** When it was made (ISO 8601). */
  made: string;
  /** Made in quick mode (small sizes). */
  quick: boolean;
}

/** A notebook's one-line summary: the text of its first heading (markdown stripped), else its name. */
export function notebookSummary(nb: { cells: { cell_type: string; source: string | string[] }[] }): string {
  for (const cell of nb.cells) {
    if (cell.cell_type !== "markdown") continue;
    const text = Array.isArray(cell.source) ? cell.source.join("") : cell.source;
    const heading = /^#+\s+(.+)$/m.exec(text);
    if (heading) return heading[1].replace(/[*_`]/g, "").trim();
  }
  return "";
}

const escape = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** The index page: a table of the reports, newest facts first in each row; no script, no network. */
export function renderIndex(entries: ReportEntry[]): string {
  const rows = [...entries].sort((a, b) => a.notebook.localeCompare(b.notebook)).map((e) =>
    `<tr><td><a href="${escape(e.report)}">${escape(e.notebook)}</a></td><td>${escape(e.summary)}</td>` +
    `<td class="num">${e.seconds.toFixed(0)} s${e.quick ? " (quick mode)" : ""}</td>` +
    `<td>${escape(e.made.replace("T", " ").replace(/\.\d+Z$|Z$/, " UTC"))}</td></tr>`
  );
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Object-centric scene models — reports</title>
<style>
body { font: 15px/1.5 system-ui, sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .4em .6em; border-bottom: 1px solid #ddd; }
td.num { text-align: right; white-space: nowrap; } th { background: #f4f4f4; }
</style></head><body>
<h1>Reports</h1>
<p>Each notebook executed top to bottom by Jupyter with the Deno kernel and exported with its plots embedded
(they draw offline). Made by <code>deno task report</code>.</p>
<table><thead><tr><th>notebook</th><th>what it walks through</th><th>run time</th><th>made</th></tr></thead>
<tbody>
${rows.join("\n")}
</tbody></table>
</body></html>
`;
}

/**
 * Records `made` in `dir/index.json` (replacing those notebooks' earlier entries, dropping entries
 * whose report file is gone) and rewrites `dir/index.html`. Returns the index page's path.
 */
export async function updateIndex(dir: string, made: ReportEntry[]): Promise<string> {
  const manifest = join(dir, "index.json");
  let entries: ReportEntry[] = [];
  try {
    entries = JSON.parse(await Deno.readTextFile(manifest));
    if (!Array.isArray(entries)) entries = [];
  } catch {
    entries = []; // no index yet, or an unreadable one: rebuilt from this run
  }
  const fresh = new Set(made.map((e) => e.notebook));
  const exists = async (e: ReportEntry) => (await Deno.stat(join(dir, e.report)).catch(() => null)) !== null;
  const kept = [];
  for (const e of entries) if (!fresh.has(e.notebook) && await exists(e)) kept.push(e);
  const all = [...kept, ...made];
  await writeAtomic(manifest, new TextEncoder().encode(JSON.stringify(all, null, 1) + "\n"));
  const page = join(dir, "index.html");
  await writeAtomic(page, new TextEncoder().encode(renderIndex(all)));
  return page;
}
