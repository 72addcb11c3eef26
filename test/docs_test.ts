/**
 * The docs match the tools: docs/cli.md names every flag that each CLI's and benchmark's `--help`
 * prints, in that tool's section; the README stays a front door (≤ 10 KB) whose links resolve; and
 * nothing in the repository points at files outside it.
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { runScript } from "./fixtures.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const read = (p: string) => Deno.readTextFile(join(ROOT, p));

/** The section of docs/cli.md about `task` (from its mention in a heading or list item to the next). */
function section(doc: string, task: string): string {
  const lines = doc.split("\n");
  const start = lines.findIndex((l) =>
    (l.startsWith("## ") || l.startsWith("- ")) && l.includes(`\`deno task ${task}`)
  );
  assert.ok(start >= 0, `docs/cli.md has no section for deno task ${task}`);
  const end = lines.findIndex((l, i) =>
    i > start && (l.startsWith("## ") || (lines[start].startsWith("- ") && l.startsWith("- ")))
  );
  return lines.slice(start, end < 0 ? undefined : end).join("\n");
}

Deno.test("docs/cli.md names every flag each tool's --help prints", async () => {
  const doc = await read("docs/cli.md");
  const tools: [string, string][] = [
    ["air3d", "air3d"],
    ["air3d-unsup", "air3d_unsup"],
    ["air-mnist", "air_mnist"],
    ["gqn", "gqn"],
    ["genesis", "genesis"],
    ["bench:render", "../bench/render_bench"],
    ["bench:metrics", "../bench/metrics_bench"],
    ["bench:conv", "../bench/conv_bench"],
    ["bench:air-threads", "../bench/air_threads_bench"],
  ];
  const tasks = JSON.parse(await read("deno.json")).tasks as Record<string, string>;
  for (const [task, script] of tools) {
    assert.ok(
      tasks[task]?.includes(`${script.replace("../", "")}.ts`),
      `deno.json has no task ${task} for ${script}`,
    );
    const help = await runScript(script, ["--help"]);
    assert.equal(help.code, 0, `${task} --help: ${help.stderr}`);
    const flags = [
      ...(help.stdout.split("Every flag, with its default:\n")[1] ?? "").matchAll(/^ {2}(--[a-z0-9-]+)/gm),
    ]
      .map((m) => m[1]);
    assert.ok(flags.length > 0, `${task} --help lists no flags`);
    const text = section(doc, task);
    const missing = flags.filter((f) => !new RegExp(`\`${f}[\`\\s=]`).test(text));
    assert.deepEqual(missing, [], `docs/cli.md's ${task} section lacks ${missing.join(", ")}`);
  }
  // Every task in deno.json that runs an experiment or a benchmark has a section.
  for (
    const task of Object.keys(tasks).filter((t) => t.startsWith("bench:") || /^(air|gqn|genesis)/.test(t))
  ) {
    section(doc, task);
  }
});

Deno.test("the README is a front door (≤ 10 KB, the two commands); links in the docs and notebooks resolve", async () => {
  const readme = await read("README.md");
  assert.ok(new TextEncoder().encode(readme).length <= 10 * 1024, `README.md is ${readme.length} bytes`);
  assert.match(readme, /deno@2\.9\.6 task test/);
  assert.match(readme, /deno@2\.9\.6 task report/);
  const notebooks = [...Deno.readDirSync(join(ROOT, "notebooks"))].filter((e) => e.name.endsWith(".ipynb"))
    .map((e) => `notebooks/${e.name}`);
  const folders = [...Deno.readDirSync(join(ROOT, "lib"))].filter((e) => e.isDirectory).map((e) =>
    `lib/${e.name}/README.md`
  );
  for (
    const page of [
      "README.md",
      "docs/cli.md",
      "docs/references.md",
      ...listMd("docs/results"),
      ...folders,
      ...notebooks,
    ]
  ) {
    const raw = await read(page);
    const text = page.endsWith(".ipynb")
      ? (JSON.parse(raw).cells as { cell_type: string; source: string | string[] }[])
        .filter((c) => c.cell_type === "markdown").map((c) => [c.source].flat().join("")).join("\n")
      : raw;
    for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
      if (/^[a-z]+:/.test(target)) continue; // external
      const path = join(ROOT, dirname(page), target);
      assert.ok(await Deno.stat(path).catch(() => null), `${page} links to ${target}, which does not exist`);
    }
  }
});

function listMd(dir: string): string[] {
  return [...Deno.readDirSync(join(ROOT, dir))].filter((e) => e.name.endsWith(".md")).map((e) =>
    `${dir}/${e.name}`
  );
}

Deno.test("nothing in the repository points at files outside it or at issue numbers", async () => {
  const offenders: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(join(ROOT, dir))) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(p);
      else if (/\.(ts|md|ipynb)$/.test(e.name) && p !== "test/docs_test.ts") {
        const text = await read(p);
        if (/shared\/papers|\.\.\/shared\//.test(text)) offenders.push(`${p}: shared/`);
        if (/\b[Ii]ssue \d+\b/.test(text)) offenders.push(`${p}: issue number`);
      }
    }
  };
  for (const dir of ["lib", "test", "scripts", "bench", "notebooks", "docs"]) await walk(dir);
  for (const f of ["README.md", "data/README.md"]) {
    if (/shared\/papers|\b[Ii]ssue \d+\b/.test(await read(f))) offenders.push(f);
  }
  assert.deepEqual(offenders, []);
});
