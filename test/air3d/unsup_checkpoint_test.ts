import assert from "node:assert/strict";
import { initTf } from "../../lib/core/tf.ts";
import { defaultUnsupConfig, runUnsupervised } from "../../lib/air3d/unsup_train.ts";
import { loadUnsupGuide, saveUnsupGuide } from "../../lib/air3d/unsup_checkpoint.ts";
import { saveCheckpoint } from "../../lib/nn/checkpoint.ts";

const config = {
  ...defaultUnsupConfig(),
  imageSize: 32,
  maxSteps: 3,
  nTest: 10,
  nCurve: 4,
  curvePoints: 1,
  camera: "orbit" as const,
  cameraWarmup: 0,
};

Deno.test("a saved guide, loaded, reads the test scenes as the run that trained it did, without training", async () => {
  await initTf();
  const dir = await Deno.makeTempDir();
  try {
    const run = await runUnsupervised(config);
    const path = `${dir}/u.ckpt`;
    await saveUnsupGuide(path, run);
    const again = await runUnsupervised(config, undefined, undefined, await loadUnsupGuide(path, config));
    // Same weights (the object network's and the camera's), same readings; the training record carried over.
    for (
      const k of [
        "count_acc",
        "type_acc",
        "pos_mae",
        "rot_err_median_deg",
        "camera_err_deg",
        "recon_mse",
      ] as const
    ) {
      assert.deepEqual(again.result[k], run.result[k], k);
    }
    assert.deepEqual(again.result.scored!.pos_mae, run.result.scored!.pos_mae);
    assert.equal(again.result.steps, run.result.steps);
    assert.equal(again.result.train_s, run.result.train_s);
    assert.equal(again.curve.length, 0, "no training, no curve");
    // How it is read may change; what it is may not, and the error names the flag.
    const fewer = await runUnsupervised(
      { ...config, nTest: 4, refineReading: false },
      undefined,
      undefined,
      await loadUnsupGuide(path, { ...config, nTest: 4, refineReading: false }),
    );
    assert.equal(fewer.result.config.nTest, 4);
    await assert.rejects(
      () => loadUnsupGuide(path, { ...config, hidden: 128 }),
      /trained with --hidden 256, not 128; read it with the flags it was trained with \(only --n-test/,
    );
    await saveCheckpoint(`${dir}/other.ckpt`, { kind: "air3d" }, new Map());
    await assert.rejects(
      () => loadUnsupGuide(`${dir}/other.ckpt`, config),
      /not a guide of air3d-unsup \(kind "air3d"\)/,
    );
    await assert.rejects(
      () =>
        runUnsupervised({ ...config, camera: "fixed", learning: "direct" }, undefined, undefined, {
          checkpoint: { meta: {}, variables: new Map() },
          training: { steps: 0, train_s: 0 },
        }),
      /the direct baseline has no network to load/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
