import assert from "node:assert/strict";
import { join } from "node:path";
import { notebookSummary, renderIndex, type ReportEntry, updateIndex } from "../scripts/report_index.ts";

const entry = (notebook: string, seconds: number): ReportEntry => ({
  report: `${notebook}.html`,
  notebook,
  summary: `about ${notebook} <&>`,
  seconds,
  made: "2026-11-30T10:00:00.000Z",
  quick: false,
});

Deno.test("notebookSummary reads the first heading, markdown stripped", () => {
  const nb = {
    cells: [
      { cell_type: "code", source: "# not a heading" },
      { cell_type: "markdown", source: ["Intro\n", "# AIR on _3D_ primitives — part 1\n"] },
    ],
  };
  assert.equal(notebookSummary(nb), "AIR on 3D primitives — part 1");
  assert.equal(notebookSummary({ cells: [] }), "");
});

Deno.test("the index links each report with its summary, run time and date, escaped, with no script", () => {
  const page = renderIndex([entry("02_b", 313.4), { ...entry("01_a", 12), quick: true }]);
  assert.ok(page.indexOf("01_a") < page.indexOf("02_b"), "in notebook order");
  assert.match(
    page,
    /<a href="01_a\.html">01_a<\/a><\/td><td>about 01_a &lt;&amp;&gt;<\/td><td class="num">12 s \(quick mode\)/,
  );
  assert.match(page, /313 s<\/td><td>2026-11-30 10:00:00 UTC/);
  assert.ok(!/<script/.test(page), "offline and static");
});

Deno.test("updateIndex keeps other notebooks' entries, replaces re-run ones, drops missing reports", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const n of ["01_a", "02_b", "03_c"]) {
      await Deno.writeTextFile(join(dir, `${n}.html`), "<html></html>");
    }
    await updateIndex(dir, [entry("01_a", 10), entry("02_b", 20), entry("03_c", 30)]);
    await Deno.remove(join(dir, "03_c.html"));
    const page = await updateIndex(dir, [entry("02_b", 25)]);
    const kept = JSON.parse(await Deno.readTextFile(join(dir, "index.json"))) as ReportEntry[];
    assert.deepEqual(kept.map((e) => [e.notebook, e.seconds]), [["01_a", 10], ["02_b", 25]]);
    const html = await Deno.readTextFile(page);
    assert.match(html, /01_a\.html/);
    assert.ok(!html.includes("03_c"));
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((f) => f.name).filter((f) => f.includes(".partial-")),
      [],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
