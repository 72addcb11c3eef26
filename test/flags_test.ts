import assert from "node:assert/strict";
import { parseFlags } from "../lib/flags.ts";

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
