/**
 * HTML tables from rows of records (numbers rounded for reading).
 *
 * @example
 * ```ts
 * import { table } from "./table.ts";
 * table([{ seed: 0, count_acc: 0.97 }], { caption: "held-out count accuracy" });
 * ```
 * @module
 */
import { Bundle, type Displayable, escapeHtml } from "./mime.ts";

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
