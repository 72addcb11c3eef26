import assert from "node:assert/strict";
import {
  cliConfig,
  configFlags,
  flagHelp,
  HelpRequested,
  parseFlags,
  requireSameFlags,
  scriptDoc,
} from "../../lib/core/flags.ts";
import { runScript } from "../fixtures.ts";

Deno.test("flags are typed by their defaults, in both spellings", () => {
  const d = { seed: 0, imageSize: 64, model: "mlp", streaming: false };
  assert.deepEqual(parseFlags([], d), d);
  assert.deepEqual(
    parseFlags(["--", "--seed", "3", "--image-size=32", "--model", "conv", "--streaming"], d),
    { seed: 3, imageSize: 32, model: "conv", streaming: true },
  );
  assert.equal(parseFlags(["--streaming=false"], d).streaming, false);
});

Deno.test("bad flags are clear errors naming the flag", () => {
  const d = { seed: 0, imageSize: 64, streaming: false };
  assert.throws(
    () => parseFlags(["--sed", "1"], d),
    /unknown flag --sed; allowed: --seed, --image-size, --streaming/,
  );
  assert.throws(() => parseFlags(["--seed", "abc"], d), /--seed must be a number, got abc/);
  assert.throws(() => parseFlags(["--seed"], d), /--seed needs a value/);
  assert.throws(() => parseFlags(["--streaming=yes"], d), /--streaming must be true or false/);
  assert.throws(() => parseFlags(["seed"], d), /unexpected argument "seed"/);
});

Deno.test("--help lists every flag with its default, and each CLI prints its doc and exits 0", async () => {
  const d = { seed: 0, imageSize: 64, model: "mlp", streaming: false, save: "" };
  for (const arg of ["--help", "-h"]) {
    assert.throws(() => parseFlags(["--seed", "3", arg], d), HelpRequested);
  }
  try {
    parseFlags(["--help"], d);
  } catch (e) {
    assert.ok(e instanceof HelpRequested);
    assert.equal(e.flags, flagHelp(d));
  }
  assert.deepEqual(flagHelp(d).split("\n"), [
    "  --seed <number>        (default 0)",
    "  --image-size <number>  (default 64)",
    "  --model <string>       (default mlp)",
    "  --streaming            (default false)",
    '  --save <string>        (default "")',
  ]);
  // A flag named help is not taken for a value: `--save --help` still asks for help.
  assert.throws(() => parseFlags(["--save", "--help"], d), HelpRequested);
  assert.match(
    scriptDoc(new URL("../../lib/core/flags.ts", import.meta.url).href),
    /^A tiny typed flag parser/,
  );
  for (const name of ["air_mnist", "air3d", "genesis", "gqn", "../bench/metrics_bench"]) {
    const run = await runScript(name, ["--seed", "1", "--help"]);
    assert.equal(run.code, 0, `${name} --help: ${run.stderr}`);
    assert.match(run.stdout, /progress on stderr/, name);
    const flags = run.stdout.split("Every flag, with its default:\n")[1] ?? "";
    assert.ok(flags.split("\n").some((l) => /^ {2}--seed <number> +\(default \d+\)$/.test(l)), name);
    assert.equal(run.stderr.trim(), "", name);
  }
});

Deno.test("cliConfig: every config field is a flag; only given flags are written over the base", () => {
  const defaults = { seed: 0, counts: [0, 1, 2], model: { hidden: 64, kind: "a" }, fast: false };
  const read = (args: string[], base?: (e: { size: number }) => typeof defaults) =>
    cliConfig("file:///x.ts", defaults, { extra: { size: 50 }, base }, args);
  assert.deepEqual(configFlags(defaults).flags, {
    seed: 0,
    counts: "0,1,2",
    hidden: 64,
    kind: "a",
    fast: false,
  });
  const { config, extra } = read(["--hidden=128", "--counts", "3, 4", "--fast", "--size", "32"]);
  assert.deepEqual(config, { seed: 0, counts: [3, 4], model: { hidden: 128, kind: "a" }, fast: true });
  assert.deepEqual(extra, { size: 32 });
  assert.deepEqual(defaults.model.hidden, 64, "the defaults are not written to");
  // A CLI-only flag picks the base; unspoken fields keep the base's values.
  const based = read(
    ["--size", "32", "--seed", "3"],
    ({ size }) => ({ ...defaults, model: { hidden: size, kind: "b" } }),
  );
  assert.deepEqual(based.config.model, { hidden: 32, kind: "b" });
  assert.equal(based.config.seed, 3);
  assert.throws(() => read(["--counts", ""]), /--counts must be a comma-separated list of numbers, got ""/);
  assert.throws(() => read(["--counts", "1,,2"]), /--counts must be a comma-separated list of numbers/);
  assert.throws(() => configFlags({ a: { x: 1 }, b: { x: 2 } }), /config fields a.x and b.x share a flag/);
  assert.throws(() => read(["--hiden", "1"]), /unknown flag --hiden/);
});

Deno.test("requireSameFlags: a saved config must match but in the fields that may differ, and the error names the flag", () => {
  const config = { hiddenUnits: 64, nTest: 20 };
  const words = { noun: "network", verb: "score" };
  requireSameFlags("a.ckpt", { hiddenUnits: 64, nTest: 500 }, config, ["nTest"], words);
  assert.throws(
    () => requireSameFlags("a.ckpt", { hiddenUnits: 32, nTest: 20 }, config, ["nTest"], words),
    /^Error: a\.ckpt: the network was trained with --hidden-units 32, not 64; score it with the flags it was trained with \(only --n-test may differ\)$/,
  );
});
