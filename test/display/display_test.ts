import assert from "node:assert/strict";
import { decode } from "fast-png";
import { colorizeIds, imageGrid, normalizeDepth, toPng } from "../../lib/display/images.ts";
import {
  DISPLAY,
  DRAIN_MS_PER_MB,
  html,
  type KernelChannel,
  MAX_CHUNK_CHARS,
  SEQ_KEY,
} from "../../lib/display/mime.ts";
import { histogram, plot, plotlyJs, stringTitles, textTitles, UNDRAWN_NOTE } from "../../lib/display/plot.ts";
import { Notebook } from "../../lib/display/notebook.ts";
import { table } from "../../lib/display/table.ts";

/** A stand-in for Deno.jupyter that records what would go on the IOPub channel. */
class FakeKernel implements KernelChannel {
  messages: { type: string; content: Record<string, unknown>; at: number }[] = [];
  broadcast(type: string, content: Record<string, unknown>): Promise<void> {
    this.messages.push({ type, content, at: performance.now() });
    return Promise.resolve();
  }
}
const dataOf = (m: { content: Record<string, unknown> }) => m.content.data as Record<string, string>;
const displayId = (m: { content: Record<string, unknown> }) =>
  (m.content.transient as { display_id?: string }).display_id;

Deno.test("a figure carries plotly JSON and offline HTML; plotly.js goes first, once, in pieces", async () => {
  const k = new FakeKernel();
  const nb = new Notebook(k, 5);
  const fig = () =>
    plot({ data: [{ x: [1, 2], y: [3, NaN], name: "</script><b>x" }], layout: { title: { text: "t" } } });
  await nb.show(fig(), fig());
  const pieces = k.messages.slice(0, -2).map(dataOf);
  const [first, second] = k.messages.slice(-2).map(dataOf);
  // plotly.js (megabytes) travels as several outputs, none over the size limit, that rebuild it exactly.
  assert.ok(pieces.length >= 3, `${pieces.length} pieces`);
  const source: string[] = [];
  for (const p of pieces) {
    assert.ok(p["text/html"].length <= MAX_CHUNK_CHARS * 1.1, `piece of ${p["text/html"].length} chars`);
    assert.equal(p["text/html"].match(/<\/script>/g)!.length, 1);
    assert.match(p["text/html"], /class="nb-plotly-part"/);
    const pushed = p["text/html"].match(/\.push\(("(?:[^"\\]|\\.)*")\);<\/script>$/);
    if (pushed) source.push(JSON.parse(pushed[1]));
  }
  assert.equal(source.length, pieces.length - 1); // the last piece runs the joined source
  assert.match(pieces.at(-1)!["text/html"], /parts\.join\(""\)/);
  assert.equal(source.join(""), plotlyJs());
  for (const h of [first["text/html"], second["text/html"]]) {
    assert.ok(!/plotly\.js v\d/.test(h));
    assert.match(h, /<div id="fig-[^"]+" class="plotly-figure"/);
    assert.match(h, /Plotly\.newPlot\(el,/);
    // Until its script runs (an untrusted notebook runs none) the figure says why it is blank.
    assert.ok(
      h.includes(
        `<p class="plotly-undrawn" style="color:#777;font:13px sans-serif;margin:1em">${UNDRAWN_NOTE}</p>`,
      ),
    );
    assert.match(h, /el\.textContent = "";/);
    // No stray closing tag from data: one per <script>.
    assert.equal(h.match(/<\/script>/g)!.length, h.match(/<script/g)!.length);
    assert.match(h, /"y":\[3,null\]/); // NaN is not valid JSON
  }
  assert.ok(first["application/vnd.plotly.v1+json"]);
  assert.equal(first["text/plain"], "Figure: t (1 trace(s))");
  // The second figure, and a later show, send no more pieces.
  await nb.show(fig());
  assert.equal(k.messages.length, pieces.length + 3);
  // Another notebook (another kernel) sends them again.
  const other = new FakeKernel();
  await new Notebook(other, 0).show(fig());
  assert.equal(other.messages.length, pieces.length + 1);
  // As a bare last expression, a figure is self-contained.
  const alone = fig()[DISPLAY]()["text/html"] as string;
  assert.match(alone, /plotly\.js v\d/);
  assert.equal(alone.match(/<\/script>/g)!.length, alone.match(/<script/g)!.length);
});

Deno.test("the drain wait grows with the bytes sent since the last wait", async () => {
  const k = new FakeKernel();
  const nb = new Notebook(k, 0);
  let t0 = performance.now();
  await nb.show(html("x".repeat(1_000_000)));
  const big = performance.now() - t0;
  assert.ok(big >= DRAIN_MS_PER_MB * 0.95, `waited ${big} ms after 1 MB`);
  t0 = performance.now();
  await nb.show("small");
  assert.ok(performance.now() - t0 < DRAIN_MS_PER_MB / 2, "the count restarts after each wait");
});

Deno.test("show waits for the kernel's queue to drain after the last output", async () => {
  const k = new FakeKernel();
  const nb = new Notebook(k, 60);
  const t0 = performance.now();
  await nb.show("a", html("<b>b</b>"));
  const waited = performance.now() - k.messages[1].at;
  assert.ok(waited >= 55, `waited only ${waited} ms after the last message`);
  assert.ok(performance.now() - t0 >= 55);
  assert.deepEqual(k.messages.map((m) => m.type), ["display_data", "display_data"]);
  assert.equal(dataOf(k.messages[1])["text/plain"], "b");
  await assert.rejects(() => nb.show({} as never), /must be a string or implement Symbol.for/);
});

Deno.test("progress updates one display in place, throttled, and ends with the final count", async () => {
  const k = new FakeKernel();
  const nb = new Notebook(k, 5);
  const bar = nb.progress("render", 1000, { throttleMs: 1e6 });
  for (let i = 1; i <= 1000; i++) bar.update(i, `loss ${i}`);
  await bar.done("finished");
  const types = k.messages.map((m) => m.type);
  assert.equal(types[0], "display_data");
  assert.ok(types.length <= 3, `${types.length} messages for 1000 updates`);
  const ids = new Set(k.messages.map(displayId));
  assert.equal(ids.size, 1);
  assert.ok([...ids][0]);
  const last = dataOf(k.messages.at(-1)!);
  assert.equal(k.messages.at(-1)!.type, "update_display_data");
  assert.match(last["text/plain"], /^render: 1000\/1000 \(100%\) .* — finished$/);
  assert.match(last["text/html"], /<progress value="1000" max="1000"/);
  assert.throws(() => nb.progress("x", 0), /progress total must be > 0/);
});

Deno.test("a live output is replaced in place", async () => {
  const k = new FakeKernel();
  const nb = new Notebook(k, 1);
  const live = await nb.display("step 0");
  await live.update("step 1");
  await live.finish("done");
  assert.deepEqual(k.messages.map((m) => m.type), [
    "display_data",
    "update_display_data",
    "update_display_data",
  ]);
  assert.equal(new Set(k.messages.map(displayId)).size, 1);
  assert.equal(dataOf(k.messages[2])["text/plain"], "done");
});

Deno.test("outputs carry an unbroken sequence number; updates keep their output's number", async () => {
  const k = new FakeKernel();
  const nb = new Notebook(k, 0);
  await nb.show("a", "b");
  const live = await nb.display("c");
  await nb.show("d");
  await live.update("c2");
  const seqs = k.messages.map((m) => [m.type, (m.content.metadata as Record<string, number>)[SEQ_KEY]]);
  assert.deepEqual(seqs, [
    ["display_data", 0],
    ["display_data", 1],
    ["display_data", 2],
    ["display_data", 3],
    [
      "update_display_data",
      2,
    ],
  ]);
});

Deno.test("PNG encoding round-trips grey and RGB, clamping to [0, 1]", () => {
  const grey = decode(toPng({ data: Float32Array.of(0, 0.5, 1, 2, -1, NaN), width: 3, height: 2 }));
  assert.equal(grey.width, 3);
  assert.equal(grey.channels, 1);
  assert.deepEqual([...grey.data], [0, 128, 255, 255, 0, 0]);
  const rgb = decode(toPng({ data: Float32Array.of(1, 0, 0, 0, 0, 1), width: 2, height: 1, channels: 3 }));
  assert.equal(rgb.channels, 3);
  assert.deepEqual([...rgb.data], [255, 0, 0, 0, 0, 255]);
  assert.throws(
    () => toPng({ data: new Float32Array(5), width: 3, height: 2 }),
    /image\.data has 5 values; width·height·channels = 6/,
  );
  assert.throws(
    () => toPng({ data: new Float32Array(6), width: 3, height: 2, channels: 2 as 1 }),
    /channels must be 1 or 3/,
  );
});

Deno.test("image grid: one img per item, escaped captions, boxes at scaled pixel coordinates", () => {
  const img = { data: new Float32Array(16).fill(0.5), width: 4, height: 4 };
  const out = imageGrid([
    { ...img, caption: "a <b>", boxes: [{ x: 1, y: 2, w: 2, h: 1, color: "#00ff00", label: "z1" }] },
    { ...colorizeIds([0, 1, -1, 2], 2, 2), caption: "ids" },
  ], { columns: 2, scale: 5, title: "grid" });
  const h = out[DISPLAY]()["text/html"] as string;
  assert.equal(h.match(/<img src="data:image\/png;base64,/g)!.length, 2);
  assert.match(h, /a &lt;b&gt;/);
  assert.match(h, /left:5px;top:10px;width:10px;height:5px;border:2px solid #00ff00/);
  assert.match(h, />z1</);
  // Laid out as a table (an untrusted notebook keeps tables): 2 columns → one row of two cells.
  assert.equal(h.match(/<tr /g)!.length, 1);
  assert.equal(h.match(/<td /g)!.length, 2);
  const three = imageGrid([img, img, img], { columns: 2 })[DISPLAY]()["text/html"] as string;
  assert.equal(three.match(/<tr /g)!.length, 2, "3 items in 2 columns: 2 rows");
  assert.equal(out[DISPLAY]()["text/plain"], "grid: 2 image(s), 4×4");
  assert.throws(() => imageGrid([{ ...img, width: 3 }]), /items\[0\]\.data has 16 values/);
  assert.throws(() => imageGrid([]), /non-empty/);
});

Deno.test("id colouring and depth normalisation", () => {
  const c = colorizeIds([-1, 0, 9], 3, 1);
  assert.deepEqual([...c.data.slice(0, 3)], [0, 0, 0]);
  assert.notDeepEqual([...c.data.slice(3, 6)], [0, 0, 0]);
  const d = normalizeDepth([Infinity, 4, 5, 4.5], 4, 1);
  assert.deepEqual([...d.data], [0, 1, 0.25, 0.625]);
});

Deno.test("tables render HTML and aligned text, with numbers rounded", () => {
  const t = table([{ metric: "count <acc>", value: 0.8123456 }, { metric: "pos", value: 3, note: "x" }], {
    caption: "Results",
  })[DISPLAY]();
  assert.match(t["text/html"] as string, /<caption[^>]*>Results<\/caption>/);
  assert.match(t["text/html"] as string, /count &lt;acc&gt;/);
  assert.equal((t["text/html"] as string).match(/<tr>/g)!.length, 3);
  assert.equal(
    t["text/plain"],
    "Results\nmetric       value   note\ncount <acc>  0.8123\npos          3       x",
  );
});

Deno.test("histogram bins values over [min, max], the top edge in the last bin", () => {
  const h = histogram([0, 0.1, 0.5, 0.99, 1, 1.5, NaN, -0.1], { bins: 2, min: 0, max: 1 });
  assert.deepEqual(h.counts, [2, 3]);
  assert.deepEqual(h.centers, [0.25, 0.75]);
  assert.equal(h.width, 0.5);
  assert.throws(() => histogram([1], { bins: 0, min: 0, max: 1 }), /bins must be an integer >= 1/);
  assert.throws(() => histogram([1], { bins: 2, min: 1, max: 1 }), /need min < max/);
});

Deno.test("plain-string titles are found and written as { text } (plotly.js 4 draws only those)", () => {
  const layout = {
    title: "t",
    xaxis: { title: "x" },
    scene: { zaxis: { title: "z" } },
    yaxis: { title: { text: "y" } },
  };
  assert.deepEqual(stringTitles(layout), ["layout.title", "layout.xaxis.title", "layout.scene.zaxis.title"]);
  const fixed = textTitles(layout);
  assert.deepEqual(stringTitles(fixed), []);
  assert.deepEqual(fixed, {
    title: { text: "t" },
    xaxis: { title: { text: "x" } },
    scene: { zaxis: { title: { text: "z" } } },
    yaxis: { title: { text: "y" } },
  });
  const sent = plot({ data: [], layout })[DISPLAY]()["application/vnd.plotly.v1+json"] as { layout: object };
  assert.deepEqual(stringTitles(sent.layout as Record<string, unknown>), []);
});
