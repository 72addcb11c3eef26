/**
 * A tiny typed flag parser for the project's CLIs: `--name value` or `--name=value`,
 * typed by the defaults object; unknown flags and malformed values are errors that name the flag.
 *
 * @example
 * ```ts
 * const { seed, size } = parseFlags(Deno.args, { seed: 0, size: 64 });
 * ```
 */
export type FlagValue = number | string | boolean;

export function parseFlags<T extends Record<string, FlagValue>>(args: readonly string[], defaults: T): T {
  const out: Record<string, FlagValue> = { ...defaults };
  const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
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
