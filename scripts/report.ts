/**
 * Executes notebooks with the Deno kernel and writes `reports/<notebook>.html`, offline reports
 * with their plots embedded, and `reports/index.html`, a page linking every report with its
 * notebook's summary, run time and when it was made. With no argument it runs every notebook in
 * `notebooks/`.
 *
 *   deno task report                                   # all notebooks, full size
 *   deno task report -- notebooks/01_air_3d_primitives.ipynb
 *   NOTEBOOK_QUICK=1 deno task report                  # quick mode (small sizes)
 */
import { basename, join } from "node:path";
import { executeNotebook, listNotebooks, ROOT } from "./jupyter.ts";
import { notebookSummary, type ReportEntry, updateIndex } from "./report_index.ts";

const outputDir = join(ROOT, "reports");
let notebooks: string[];
try {
  notebooks = listNotebooks(Deno.args.filter((a) => a !== "--"));
} catch (e) {
  console.error(`[report] ${(e as Error).message}`);
  Deno.exit(2);
}
if (notebooks.length === 0) {
  console.error("[report] no notebooks found in notebooks/");
  Deno.exit(2);
}
await Deno.mkdir(outputDir, { recursive: true });
const quick = Deno.env.get("NOTEBOOK_QUICK") === "1";
let failed = 0;
const made: ReportEntry[] = [];
for (const [i, nb] of notebooks.entries()) {
  const name = basename(nb);
  console.error(
    `[report] (${i + 1}/${notebooks.length}) executing ${name}${quick ? " in quick mode" : ""} …`,
  );
  const t0 = performance.now();
  try {
    const out = await executeNotebook(nb, { to: "html", outputDir, quick });
    const kb = (await Deno.stat(out)).size / 1024, seconds = (performance.now() - t0) / 1000;
    console.error(`[report]   wrote ${out} (${kb.toFixed(0)} KiB) in ${seconds.toFixed(1)} s`);
    made.push({
      report: basename(out),
      notebook: name,
      summary: notebookSummary(JSON.parse(await Deno.readTextFile(nb))),
      seconds,
      made: new Date().toISOString(),
      quick,
    });
  } catch (e) {
    failed++;
    console.error(`[report]   FAILED: ${(e as Error).message}`);
  }
}
if (made.length > 0) console.error(`[report] index: ${await updateIndex(outputDir, made)}`);
if (failed > 0) {
  console.error(`[report] ${failed} of ${notebooks.length} notebook(s) failed`);
  Deno.exit(1);
}
