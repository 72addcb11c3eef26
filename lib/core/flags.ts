/**
 * A tiny typed flag parser for the project's CLIs: `--name value` or `--name=value`,
 * typed by the defaults object; unknown flags and malformed values are errors that name the flag.
 * `--help` (or `-h`) throws {@link HelpRequested}; a CLI reads its flags with {@link cliFlags},
 * which answers it by printing the script's doc comment and its flags, and exits 0.
 *
 * @example
 * ```ts
 * const { seed, size } = cliFlags(import.meta.url, { seed: 0, size: 64 }); // reads Deno.args
 * const { model } = parseFlags(["--model", "conv"], { model: "mlp" }); // --help would throw HelpRequested
 * ```
 * @module
 */
export type FlagValue = number | string | boolean;

const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());

/** What `parseFlags` throws for `--help` or `-h`; `flags` lists every flag with its default. */
export class HelpRequested extends Error {
  constructor(readonly flags: string) {
    super("--help: see the usage above");
    this.name = "HelpRequested";
  }
}

/** One line per flag: `--image-size <number>  (default 64)`. */
export function flagHelp(defaults: Record<string, FlagValue>): string {
  const rows = Object.entries(defaults).map(([k, v]) => {
    const kind = typeof v === "boolean" ? "" : ` <${typeof v}>`;
    return [`--${kebab(k)}${kind}`, `(default ${v === "" ? '""' : v})`];
  });
  const width = Math.max(...rows.map(([f]) => f.length));
  return rows.map(([f, d]) => `  ${f.padEnd(width)}  ${d}`).join("\n");
}

/**
 * A CLI's flags: {@link parseFlags} on `args`, except that `--help` prints the leading doc
 * comment of the script at `moduleUrl` and every flag with its default to stdout, and exits 0.
 */
export function cliFlags<T extends Record<string, FlagValue>>(
  moduleUrl: string,
  defaults: T,
  args: readonly string[] = Deno.args,
): T {
  try {
    return parseFlags(args, defaults);
  } catch (e) {
    if (!(e instanceof HelpRequested)) throw e;
    console.log(`${scriptDoc(moduleUrl)}\n\nEvery flag, with its default:\n${e.flags}`);
    Deno.exit(0);
  }
}

/** The text of the first `/** … *\/` comment of a source file, without its comment markers. */
export function scriptDoc(moduleUrl: string): string {
  const src = Deno.readTextFileSync(new URL(moduleUrl));
  const m = /\/\*\*([\s\S]*?)\*\//.exec(src);
  if (!m) return "";
  return m[1].split("\n").map((l) => l.replace(/^\s*\* ?/, "")).join("\n").trim();
}

export function parseFlags<T extends Record<string, FlagValue>>(args: readonly string[], defaults: T): T {
  if (args.includes("--help") || args.includes("-h")) throw new HelpRequested(flagHelp(defaults));
  const out: Record<string, FlagValue> = { ...defaults };
  const byFlag = new Map(Object.keys(defaults).map((k) => [kebab(k), k]));
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") continue;
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new Error(`unexpected argument ${JSON.stringify(arg)}; flags look like --name value`);
    const key = byFlag.get(m[1]);
    if (key === undefined) {
      throw new Error(
        `unknown flag --${m[1]}; allowed: ${[...byFlag.keys()].map((f) => "--" + f).join(", ")}`,
      );
    }
    const def = defaults[key];
    let raw = m[2];
    if (typeof def === "boolean") {
      if (raw === undefined || raw === "true") out[key] = true;
      else if (raw === "false") out[key] = false;
      else throw new Error(`--${m[1]} must be true or false, got ${raw}`);
      continue;
    }
    if (raw === undefined) {
      if (i + 1 >= args.length) throw new Error(`--${m[1]} needs a value`);
      raw = args[++i];
    }
    if (typeof def === "number") {
      const v = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(v)) throw new Error(`--${m[1]} must be a number, got ${raw}`);
      out[key] = v;
    } else out[key] = raw;
  }
  return out as T;
}
