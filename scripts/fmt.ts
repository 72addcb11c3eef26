/**
 * Formats (or, with --check, checks) everything, notebooks included.
 *
 * Deno 2.9.6's `deno fmt --check` reports every .ipynb as "not formatted", even one that
 * `deno fmt` leaves byte-identical (a cold-cache run shows it on a one-cell notebook; a warm
 * incremental cache hides it). So notebooks are excluded from deno.json's fmt scope and handled
 * here: each is formatted as a temporary copy with the project's config, and the copy is compared
 * with the original (check) or written back (format).
 *
 * Markdown is left as written (deno.json excludes every .md file): deno fmt pads every table cell to
 * its column's widest, which made the research tables mostly spaces.
 *
 *   deno task fmt          # format
 *   deno task fmt:check    # check only; exit 1 listing what is not formatted
 */
import { basename, join } from "node:path";
import { listNotebooks, ROOT } from "./jupyter.ts";

const check = Deno.args.includes("--check");
const deno = Deno.execPath();
let failed = false;

const rest = await new Deno.Command(deno, {
  args: ["fmt", ...(check ? ["--check"] : [])],
  cwd: ROOT,
  stdout: "inherit",
  stderr: "inherit",
}).output();
if (rest.code !== 0) failed = true;

const tmp = await Deno.makeTempDir({ prefix: "nbfmt-" });
try {
  for (const nb of listNotebooks()) {
    const copy = join(tmp, basename(nb));
    const original = await Deno.readTextFile(nb);
    await Deno.writeTextFile(copy, original);
    const r = await new Deno.Command(deno, {
      args: ["fmt", "--config", join(ROOT, "deno.json"), copy],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (r.code !== 0) {
      console.error(`[fmt] formatting ${basename(nb)} failed:\n${new TextDecoder().decode(r.stderr)}`);
      failed = true;
      continue;
    }
    const formatted = await Deno.readTextFile(copy);
    if (formatted === original) continue;
    if (check) {
      console.error(`[fmt] not formatted: notebooks/${basename(nb)} (run \`deno task fmt\`)`);
      failed = true;
    } else {
      await Deno.writeTextFile(nb, formatted);
      console.error(`[fmt] formatted notebooks/${basename(nb)}`);
    }
  }
} finally {
  await Deno.remove(tmp, { recursive: true });
}
Deno.exit(failed ? 1 : 0);
