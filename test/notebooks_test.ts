/**
 * Executes every notebook in quick mode through Jupyter (nbconvert + nbclient) with the Deno
 * kernel, and fails if a cell raises, if a cell that shows something has no output, or if any
 * output was lost: every output a `Notebook` sends carries a sequence number (`nb_seq`), and
 * the executed notebook must hold each of 0, 1, …, N−1 exactly once.
 *
 * NOTEBOOK_RUNS=10 deno test -A test/notebooks_test.ts   # repeat each notebook (output-loss stress)
 */
import assert from "node:assert/strict";
import { basename } from "node:path";
import { executeNotebook, hasNbconvert, listNotebooks } from "../scripts/jupyter.ts";
import { SEQ_KEY } from "../lib/display/mime.ts";

interface Output {
  output_type: string;
  metadata?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
}
interface Cell {
  cell_type: string;
  source: string | string[];
  outputs?: Output[];
}

const SHOWING_CALL = /\bnb\.(show|display|progress)\(/g;
const runs = Number(Deno.env.get("NOTEBOOK_RUNS") ?? "1");
if (!Number.isInteger(runs) || runs < 1) {
  throw new Error(`NOTEBOOK_RUNS must be an integer >= 1, got ${runs}`);
}

/** Checks one executed notebook; returns the number of outputs it verified. */
export function checkExecuted(cells: Cell[], name: string): number {
  const seqs: number[] = [];
  cells.forEach((cell, i) => {
    if (cell.cell_type !== "code") return;
    const source = Array.isArray(cell.source) ? cell.source.join("") : cell.source;
    const outputs = cell.outputs ?? [];
    const errors = outputs.filter((o) => o.output_type === "error");
    assert.equal(
      errors.length,
      0,
      `${name} cell ${i} raised: ${errors.map((e) => `${e.ename}: ${e.evalue}`).join("; ")}`,
    );
    const calls = source.match(SHOWING_CALL)?.length ?? 0;
    const stamped = outputs.filter((o) => typeof o.metadata?.[SEQ_KEY] === "number");
    assert.ok(
      stamped.length >= calls,
      `${name} cell ${i}: ${calls} display call(s) but ${stamped.length} output(s) arrived`,
    );
    seqs.push(...stamped.map((o) => o.metadata![SEQ_KEY] as number));
  });
  assert.ok(seqs.length > 0, `${name} shows nothing`);
  const sorted = [...seqs].sort((a, b) => a - b);
  assert.deepEqual(
    sorted,
    sorted.map((_, k) => k),
    `${name}: outputs lost or duplicated (sequence ${sorted.join(",")})`,
  );
  return seqs.length;
}

Deno.test("checkExecuted catches a raised cell, a silent cell and a lost output", () => {
  const out = (seq: number): Output => ({ output_type: "display_data", metadata: { [SEQ_KEY]: seq } });
  const good: Cell[] = [
    { cell_type: "code", source: "await nb.show(a);", outputs: [out(0)] },
    { cell_type: "markdown", source: "text" },
    { cell_type: "code", source: ["await nb.show(b);\n", "await nb.show(c);"], outputs: [out(1), out(2)] },
  ];
  assert.equal(checkExecuted(good, "good"), 3);
  const silent = structuredClone(good);
  silent[2].outputs = [out(1)];
  assert.throws(() => checkExecuted(silent, "silent"), /2 display call\(s\) but 1 output/);
  const lost = structuredClone(good);
  lost[0].source = "await nb.show(a, b);"; // two outputs from one call: the count passes, the sequence does not
  lost[0].outputs = [out(0)];
  lost[2].outputs = [out(2), out(3)];
  assert.throws(() => checkExecuted(lost, "lost"), /outputs lost or duplicated/);
  const raised = structuredClone(good);
  raised[0].outputs!.push({ output_type: "error", ename: "RangeError", evalue: "boom" });
  assert.throws(() => checkExecuted(raised, "raised"), /raised: RangeError: boom/);
});

Deno.test("committed notebooks carry no outputs, and every cell has a unique id (no nbformat warning)", async () => {
  for (const notebook of listNotebooks()) {
    const nb = JSON.parse(await Deno.readTextFile(notebook));
    const ids = (nb.cells as { id?: string; outputs?: unknown[] }[]).map((c, i) => {
      assert.ok(
        typeof c.id === "string" && /^[a-zA-Z0-9-_]{1,64}$/.test(c.id),
        `${basename(notebook)} cell ${i} has no id`,
      );
      assert.equal(c.outputs?.length ?? 0, 0, `${basename(notebook)} cell ${i} carries outputs`);
      return c.id;
    });
    assert.equal(new Set(ids).size, ids.length, `${basename(notebook)}: duplicate cell ids`);
    assert.ok(
      nb.nbformat === 4 && nb.nbformat_minor >= 5,
      `${basename(notebook)}: cell ids need nbformat 4.5`,
    );
  }
});

Deno.test("notebooks read tensors asynchronously, so they run on webgpu too (TFJS_BACKEND=webgpu)", async () => {
  for (const notebook of listNotebooks()) {
    const nb = JSON.parse(await Deno.readTextFile(notebook));
    (nb.cells as Cell[]).forEach((c, i) => {
      const source = Array.isArray(c.source) ? c.source.join("") : c.source;
      assert.ok(
        c.cell_type !== "code" || !/\b(dataSync|arraySync)\(/.test(source),
        `${basename(notebook)} cell ${i} reads a tensor synchronously (webgpu cannot): use await t.data()`,
      );
    });
  }
});

for (const notebook of listNotebooks()) {
  const name = basename(notebook);
  Deno.test({
    name: `notebook ${name} runs top to bottom in quick mode and loses no output (${runs} run(s))`,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      assert.ok(
        await hasNbconvert(),
        "Jupyter's nbconvert + nbclient are missing: run `deno run -A scripts/setup.ts` (the test task does)",
      );
      const dir = await Deno.makeTempDir({ prefix: "nbtest-" });
      try {
        for (let r = 0; r < runs; r++) {
          const executed = await executeNotebook(notebook, {
            to: "notebook",
            outputDir: dir,
            quick: true,
            timeoutS: 300,
          });
          const cells = JSON.parse(await Deno.readTextFile(executed)).cells as Cell[];
          const n = checkExecuted(cells, `${name} (run ${r + 1}/${runs})`);
          if (runs > 1) console.error(`[notebooks] ${name} run ${r + 1}/${runs}: all ${n} outputs arrived`);
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
