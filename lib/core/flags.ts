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

/** A config field's flag name: `refineBudget` → `refine-budget`. */
export const kebab = (k: string): string => k.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());

/**
 * Checks that a saved run's `saved` config matches `config` in every field but `mayDiffer` (those that
 * only say how a trained model is scored), throwing an error that names the file, the flag and both
 * values: "`path`: the `noun` was trained with --hidden 256, not 128; `verb` it with the flags it was
 * trained with (only --n-test, … may differ)".
 */
export function requireSameFlags<T extends object>(
  path: string,
  saved: Record<string, unknown>,
  config: T,
  mayDiffer: readonly (keyof T & string)[],
  { noun, verb }: { noun: string; verb: string },
): void {
  for (const [key, value] of Object.entries(config)) {
    if ((mayDiffer as readonly string[]).includes(key)) continue;
    if (JSON.stringify(saved[key]) !== JSON.stringify(value)) {
      throw new Error(
        `${path}: the ${noun} was trained with --${kebab(key)} ${JSON.stringify(saved[key])}, not ${
          JSON.stringify(value)
        }; ${verb} it with the flags it was trained with (only ${
          mayDiffer.map((k) => `--${kebab(k)}`).join(", ")
        } may differ)`,
      );
    }
  }
}

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

/** The values a numeric flag may take: an integer or any finite number, in min..max. */
export interface FlagBound {
  min?: number;
  max?: number;
  int?: boolean;
}

/** Throws, naming the flag as typed, unless each bounded flag's value is within its bound. */
export function checkFlagBounds(values: Record<string, FlagValue>, bounds: Record<string, FlagBound>): void {
  for (const [key, b] of Object.entries(bounds)) {
    const v = values[key];
    const { min = -Infinity, max = Infinity, int = false } = b;
    if (typeof v !== "number" || !Number.isFinite(v) || (int && !Number.isInteger(v)) || v < min || v > max) {
      const range = `${min === -Infinity ? "−∞" : min}..${max === Infinity ? "∞" : max}`;
      throw new RangeError(
        `--${kebab(key)} must be ${int ? "an integer" : "a number"} in ${range}, got ${v}`,
      );
    }
  }
}

/**
 * A CLI's flags: {@link parseFlags} on `args`, then each flag in `bounds` checked
 * ({@link checkFlagBounds}); `--help` prints the leading doc comment of the script at `moduleUrl`
 * and every flag with its default to stdout, and exits 0.
 */
export function cliFlags<T extends Record<string, FlagValue>>(
  moduleUrl: string,
  defaults: T,
  args: readonly string[] = Deno.args,
  bounds: { [K in keyof T]?: FlagBound } = {},
  given?: Set<string>,
): T {
  let values: T;
  try {
    values = parseFlags(args, defaults, given);
  } catch (e) {
    if (!(e instanceof HelpRequested)) throw e;
    console.log(`${scriptDoc(moduleUrl)}\n\nEvery flag, with its default:\n${e.flags}`);
    Deno.exit(0);
  }
  checkFlagBounds(values, bounds as Record<string, FlagBound>);
  return values;
}

/** The config fields the last {@link cliConfig} made flags of (for {@link asFlagMessage}). */
let configFields = new Set<string>();

/**
 * A config check's message as the CLI's user reads it: a message that starts with a config field
 * the CLI made a flag of (`budgetS must be > 0`) names the flag instead (`--budget-s must be > 0`).
 */
export function asFlagMessage(message: string, fields: ReadonlySet<string> = configFields): string {
  const m = /^([a-z][a-zA-Z0-9]*)\b/.exec(message);
  return m && fields.has(m[1]) ? `--${kebab(m[1])}${message.slice(m[1].length)}` : message;
}

/**
 * Runs a CLI's `main` (or a benchmark's flag parsing) and returns what it returns; any error ends
 * the run with `<name>: <message>` on stderr (a config field named as its flag, see
 * {@link asFlagMessage}) and exit code 2, and nothing on stdout (its stack too
 * when `DEBUG` is set). Every CLI and benchmark goes through it, so a bad flag never ends in an
 * uncaught stack trace.
 */
export async function runCli<T>(name: string, main: () => Promise<T> | T): Promise<T> {
  try {
    return await main();
  } catch (e) {
    console.error(`${name}: ${asFlagMessage((e as Error).message)}`);
    if (Deno.env.get("DEBUG")) console.error((e as Error).stack);
    Deno.exit(2);
  }
}

/** The text of the first `/** … *\/` comment of a source file, without its comment markers. */
export function scriptDoc(moduleUrl: string): string {
  const src = Deno.readTextFileSync(new URL(moduleUrl));
  const m = /\/\*\*([\s\S]*?)\*\//.exec(src);
  if (!m) return "";
  return m[1].split("\n").map((l) => l.replace(/^\s*\* ?/, "")).join("\n").trim();
}

/**
 * The flags in `args`, typed by `defaults` (see the module doc). `given`, when passed, receives the
 * key of every flag the arguments set (what a config reader writes over its defaults).
 */
export function parseFlags<T extends Record<string, FlagValue>>(
  args: readonly string[],
  defaults: T,
  given?: Set<string>,
): T {
  if (args.includes("--help") || args.includes("-h")) throw new HelpRequested(flagHelp(defaults));
  const out: Record<string, FlagValue> = { ...defaults };
  const byFlag = new Map(Object.keys(defaults).map((k) => [kebab(k), k]));
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") continue;
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(arg);
    if (!m) {
      const prev = /^--([a-z0-9-]+)$/.exec(args[i - 1] ?? "")?.[1];
      if (
        prev && typeof defaults[byFlag.get(prev) ?? ""] === "boolean" && (arg === "true" || arg === "false")
      ) {
        throw new Error(`--${prev} takes no separate value: write --${prev}=${arg}`);
      }
      throw new Error(`unexpected argument ${JSON.stringify(arg)}; flags look like --name value`);
    }
    const key = byFlag.get(m[1]);
    if (key === undefined) {
      throw new Error(
        `unknown flag --${m[1]}; allowed: ${[...byFlag.keys()].map((f) => "--" + f).join(", ")}`,
      );
    }
    given?.add(key);
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

/** A config field as a flag: where it lives in the config and how its value is written. */
interface FieldFlag {
  path: string[];
  list: boolean;
}

/**
 * The flags of a config object: every scalar field, with nested objects flattened (`air.lstm` is
 * `--lstm`) and number arrays written as comma lists (`trainCounts: [0, 1, 2]` is
 * `--train-counts 0,1,2`). `omit` leaves fields out by dotted path. Two fields with one name are
 * an error (the flag would be ambiguous).
 */
export function configFlags(
  defaults: object,
  omit: readonly string[] = [],
): { flags: Record<string, FlagValue>; fields: Map<string, FieldFlag> } {
  const flags: Record<string, FlagValue> = {}, fields = new Map<string, FieldFlag>();
  const walk = (obj: Record<string, unknown>, path: string[]) => {
    for (const [k, v] of Object.entries(obj)) {
      const at = [...path, k];
      if (omit.includes(at.join("."))) continue;
      if (v !== null && typeof v === "object" && !Array.isArray(v)) {
        walk(v as Record<string, unknown>, at);
        continue;
      }
      if (fields.has(k)) {
        throw new Error(`config fields ${fields.get(k)!.path.join(".")} and ${at.join(".")} share a flag`);
      }
      if (Array.isArray(v)) {
        flags[k] = v.join(",");
        fields.set(k, { path: at, list: true });
      } else if (typeof v === "number" || typeof v === "string" || typeof v === "boolean") {
        flags[k] = v;
        fields.set(k, { path: at, list: false });
      } else throw new Error(`config field ${at.join(".")} has no flag form (${typeof v})`);
    }
  };
  walk(defaults as Record<string, unknown>, []);
  return { flags, fields };
}

/**
 * A CLI's config from its flags, derived from the config's defaults by {@link configFlags} (a new
 * config field is a new flag, with no hand copy): the flags given in `args` are written over
 * `base(extra)` — the defaults unless a CLI-only flag in `extra` changes them (AIR's `--canvas`,
 * GENESIS's `--dataset`). Returns the config and the values of the `extra` flags. `--help` prints
 * every flag with its default (see {@link cliFlags}).
 *
 * @example
 * ```ts
 * const { config } = cliConfig(import.meta.url, { seed: 0, model: { hidden: 64, layers: [32, 32] } }, {}, [
 *   "--hidden", "128", "--layers", "16,16,16",
 * ]);
 * config.model.layers; // [16, 16, 16]
 * ```
 */
export function cliConfig<C extends object, E extends Record<string, FlagValue> = Record<string, never>>(
  moduleUrl: string,
  defaults: C,
  options: { extra?: E; omit?: readonly string[]; base?: (extra: E) => C } = {},
  args: readonly string[] = Deno.args,
): { config: C; extra: E } {
  const { flags, fields } = configFlags(defaults, options.omit);
  configFields = new Set([...fields.keys(), ...Object.keys(options.extra ?? {})]);
  const extraDefaults = options.extra ?? ({} as E);
  for (const k of Object.keys(extraDefaults)) {
    if (k in flags) throw new Error(`the CLI flag --${kebab(k)} is also a config field`);
  }
  const given = new Set<string>();
  const values = cliFlags(moduleUrl, { ...flags, ...extraDefaults }, args, {}, given);
  const extra = Object.fromEntries(Object.keys(extraDefaults).map((k) => [k, values[k]])) as E;
  const config = structuredClone(options.base ? options.base(extra) : defaults);
  for (const key of given) {
    const field = fields.get(key);
    if (!field) continue;
    let value: unknown = values[key];
    if (field.list) {
      const items = String(value).split(",").map((s) => s.trim());
      const nums = items.map(Number);
      if (items.some((s) => s === "") || nums.some((n) => !Number.isFinite(n))) {
        throw new Error(
          `--${kebab(key)} must be a comma-separated list of numbers, got ${JSON.stringify(value)}`,
        );
      }
      value = nums;
    }
    let target = config as Record<string, unknown>;
    for (const p of field.path.slice(0, -1)) target = target[p] as Record<string, unknown>;
    target[field.path[field.path.length - 1]] = value;
  }
  return { config, extra };
}
