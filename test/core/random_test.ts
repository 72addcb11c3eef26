import assert from "node:assert/strict";
import { Rng } from "../../lib/core/random.ts";

Deno.test("same seed gives the same stream; different seeds differ", () => {
  const a = new Rng(7), b = new Rng(7), c = new Rng(8);
  const xa = Array.from({ length: 20 }, () => a.uniform());
  const xb = Array.from({ length: 20 }, () => b.uniform());
  const xc = Array.from({ length: 20 }, () => c.uniform());
  assert.deepEqual(xa, xb);
  assert.notDeepEqual(xa, xc);
});

Deno.test("child streams are independent of the parent's state and of each other", () => {
  const r1 = new Rng(0);
  const before = r1.child("data").uniformArray(5);
  r1.uniform(); // drawing from the parent does not move a child
  r1.child("weights").normalArray(100); // nor does drawing from a sibling
  assert.deepEqual(r1.child("data").uniformArray(5), before);
  assert.notDeepEqual(r1.child("noise").uniformArray(5), before);
  assert.equal(r1.child("data").child(3).key, "0/data/3");
});

Deno.test("uniform and int stay in range and cover it", () => {
  const r = new Rng("range");
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const u = r.uniform(-0.9, 0.9);
    assert.ok(u >= -0.9 && u < 0.9);
    const k = r.int(1, 3);
    assert.ok(Number.isInteger(k) && k >= 1 && k <= 3);
    seen.add(k);
  }
  assert.deepEqual([...seen].sort(), [1, 2, 3]);
});

Deno.test("normal has the requested mean and std", () => {
  const r = new Rng(1);
  const xs = r.normalArray(20000, 2, 0.5);
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length);
  assert.ok(Math.abs(mean - 2) < 0.02, `mean ${mean}`);
  assert.ok(Math.abs(sd - 0.5) < 0.02, `sd ${sd}`);
});

Deno.test("shuffle is a permutation; choice picks members", () => {
  const r = new Rng(3);
  const p = r.permutation(50);
  assert.deepEqual([...p].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
  assert.notDeepEqual(p, Array.from({ length: 50 }, (_, i) => i));
  const items = ["sphere", "cube", "cylinder"];
  for (let i = 0; i < 30; i++) assert.ok(items.includes(r.choice(items)));
});

Deno.test("bad arguments name the field", () => {
  assert.throws(() => new Rng(-1), /seed must be a non-negative integer/);
  assert.throws(() => new Rng(1.5), /seed/);
  assert.throws(() => new Rng(0).int(3, 1), /int: need integers lo <= hi/);
  assert.throws(() => new Rng(0).choice([]), /choice: items must not be empty/);
  assert.throws(() => new Rng(0).normal(0, -1), /std must be >= 0/);
  assert.throws(() => new Rng(0).uniform(1, 0), /lo <= hi/);
});

Deno.test("copy continues the stream from where it is, independently of the original", () => {
  const a = new Rng(3);
  a.normal(); // leaves a spare Box–Muller value, which the copy must carry
  a.uniform();
  const b = a.copy();
  const fromA = [a.normal(), a.uniform(), a.normal(), a.int(0, 9)];
  const fromB = [b.normal(), b.uniform(), b.normal(), b.int(0, 9)];
  assert.deepEqual(fromB, fromA);
  b.uniform(); // drawing from the copy does not move the original
  const twin = new Rng(3);
  twin.normal(), twin.uniform(), twin.normal(), twin.uniform(), twin.normal(), twin.int(0, 9);
  assert.equal(a.uniform(), twin.uniform());
});
