import assert from "node:assert/strict";
import { loadAir3dNetwork, saveAir3dNetwork, SCORING_FIELDS } from "../../lib/air3d/checkpoint.ts";
import { type Air3dConfig, defaultConfig, runAir3d } from "../../lib/air3d/train.ts";
import { saveCheckpoint } from "../../lib/nn/checkpoint.ts";
import { initTf } from "../../lib/core/tf.ts";

await initTf();

const tiny: Air3dConfig = {
  ...defaultConfig("grid"),
  imageSize: 32,
  nEpochs: 2,
  nTrain: 64,
  nVal: 32,
  nTest: 24,
  batchSize: 32,
  hidden: 32,
};

Deno.test("a saved network scores as the run that trained it, without training; scoring flags may differ", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = await runAir3d(tiny);
    const path = `${dir}/grid.ckpt`;
    await saveAir3dNetwork(path, first);
    let epochs = 0;
    const again = await runAir3d(tiny, () => void epochs++, undefined, await loadAir3dNetwork(path, tiny));
    assert.equal(epochs, 0, "no epoch is trained");
    assert.equal(again.history.length, 0);
    const strip = (r: typeof first.result) => ({ ...r, synth_s: 0, infer_ms_per_image: 0 });
    assert.deepEqual(strip(again.result), strip(first.result)); // train_s too: the file's
    // A scoring flag may differ: here more test scenes and the refinement.
    const scored = { ...tiny, nTest: 30, refine: true, refineBudget: 100, refineThreads: 1 };
    const refined = await runAir3d(scored, undefined, undefined, await loadAir3dNetwork(path, scored));
    assert.equal(refined.test.n, 30);
    assert.ok(refined.result.refined && refined.result.best_epoch === first.result.best_epoch);
    for (const r of [first, again, refined]) r.model?.params.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loading names the flag that differs from the network's training, and rejects other files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const run = await runAir3d({ ...tiny, nEpochs: 1 });
    const path = `${dir}/grid.ckpt`;
    await saveAir3dNetwork(path, run);
    run.model?.params.dispose();
    await assert.rejects(
      () => loadAir3dNetwork(path, { ...tiny, nEpochs: 1, seed: 3 }),
      /grid\.ckpt: the network was trained with --seed 0, not 3/,
    );
    await assert.rejects(
      () => loadAir3dNetwork(path, { ...tiny, nEpochs: 1, camera: "perspective" }),
      /--camera "orthographic", not "perspective"/,
    );
    assert.ok(SCORING_FIELDS.every((k) => k in tiny), "every scoring field is a config field");
    const other = `${dir}/other.ckpt`;
    await saveCheckpoint(other, { kind: "air" }, new Map());
    await assert.rejects(
      () => loadAir3dNetwork(other, tiny),
      /other\.ckpt: not an AIR-3D network \(kind "air"\)/,
    );
    await assert.rejects(() => loadAir3dNetwork(`${dir}/missing.ckpt`, tiny), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
