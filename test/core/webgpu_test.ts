import assert from "node:assert/strict";
import { findAdapter, WEBGPU_HELP } from "../../lib/core/webgpu.ts";
import { initTf, readsSync, tf } from "../../lib/core/tf.ts";
import { AirTrainer } from "../../lib/air/trainer.ts";
import { DataParallelAir } from "../../lib/air/parallel.ts";
import { small } from "../fixtures.ts";

const adapter = await findAdapter();
if (!adapter) console.error(`[webgpu_test] no WebGPU adapter, the webgpu tests are skipped: ${WEBGPU_HELP}`);

Deno.test("findAdapter: null or a named adapter; Deno's runtime dir is set", () => {
  assert.ok(Deno.env.get("XDG_RUNTIME_DIR"), "XDG_RUNTIME_DIR");
  if (adapter) {
    assert.ok(adapter.name.length > 0);
    assert.equal(typeof adapter.software, "boolean");
  }
  assert.match(WEBGPU_HELP, /mesa-vulkan-drivers/);
});

Deno.test({
  name: "webgpu: starts on the adapter and names it; reads only asynchronously; data-parallel AIR is refused",
  ignore: !adapter,
  fn: async () => {
    const info = await initTf("webgpu");
    try {
      assert.equal(info.backend, "webgpu");
      assert.ok(info.adapter?.startsWith(adapter!.name));
      assert.equal((await tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).data())[0], 11);
      assert.equal(readsSync(), false);
      const trainer = new AirTrainer({ ...small(), threads: 2 });
      await assert.rejects(
        () => DataParallelAir.start(trainer),
        /--threads 2 \(data-parallel training over wasm workers\) runs on the wasm backend only/,
      );
      trainer.dispose();
      // "auto" keeps wasm on a software adapter: it would only be slower.
      if (adapter!.software) {
        const auto = await initTf("auto");
        assert.equal(auto.backend, "wasm");
        assert.match(auto.notice ?? "", /auto: the only WebGPU adapter is a software one .*; using wasm/);
      }
    } finally {
      await initTf("wasm");
    }
  },
});
