/**
 * Type-checks everything: lib, tests, benchmarks, scripts, the code examples in their JSDoc
 * (`deno check --doc`: every `@example` must compile against the module it documents), and the
 * notebooks (each converted to a .ts script by `jupyter nbconvert --to script`, written under
 * `.check/` at the same depth as `notebooks/` so that their `../lib/` imports resolve).
 *
 *   deno task check
 */
import { basename, join } from "node:path";
import { listNotebooks, ROOT, run } from "./jupyter.ts";

const checkDir = join(ROOT, ".check");
await Deno.remove(checkDir, { recursive: true }).catch(() => {});
await Deno.mkdir(checkDir);
const files: string[] = [];
for (const nb of listNotebooks()) {
  const name = basename(nb, ".ipynb");
  const r = await run("jupyter", [
    "nbconvert",
    "--to",
    "script",
    "--output-dir",
    checkDir,
    "--output",
    name,
    nb,
  ]);
  if (r.code !== 0) {
    console.error(`[check] converting ${name}.ipynb failed:\n${r.stderr}`);
    Deno.exit(1);
  }
  const ts = join(checkDir, `${name}.ts`);
  try {
    await Deno.stat(ts);
  } catch {
    console.error(
      `[check] ${name}.ipynb did not convert to .ts: its language_info.file_extension must be ".ts"`,
    );
    Deno.exit(1);
  }
  files.push(ts);
}
const st = await new Deno.Command(Deno.execPath(), {
  args: ["check", "--doc", "lib/", "test/", "bench/", "scripts/", ...files],
  cwd: ROOT,
  stdout: "inherit",
  stderr: "inherit",
}).output();
if (st.code === 0) {
  console.error(
    `[check] type-checked lib, test, bench, scripts, their doc examples and ${files.length} notebook(s)`,
  );
}
Deno.exit(st.code);
