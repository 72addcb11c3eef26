import assert from "node:assert/strict";
import { requireInt, requireKnownKeys, requirePositive } from "../../lib/core/validate.ts";

Deno.test("config checks name the field and the allowed range", () => {
  const c = { n: 3, big: 9, frac: 1.5, lr: 1e-3, zero: 0, inf: Infinity };
  requireInt(c, "n", 1, 8);
  requirePositive(c, "lr");
  requirePositive(c, "zero", true);
  assert.throws(() => requireInt(c, "big", 1, 8), /big must be an integer in 1\.\.8, got 9/);
  assert.throws(() => requireInt(c, "frac", 0), /frac must be an integer in 0\.\.∞, got 1\.5/);
  assert.throws(() => requirePositive(c, "zero"), /zero must be > 0, got 0/);
  assert.throws(() => requirePositive({ d: -1 }, "d", true), /d must be ≥ 0, got -1/);
  assert.throws(() => requirePositive(c, "inf"), /inf must be > 0, got Infinity/);
});

Deno.test("requireKnownKeys names the stranger and the allowed keys", () => {
  requireKnownKeys({ a: 1, b: 2 }, ["a", "b", "c"], "option");
  assert.throws(
    () => requireKnownKeys({ a: 1, d: 2 }, new Set(["a", "b"]), "view option"),
    { message: 'unknown view option "d"; allowed: a, b' },
  );
});
