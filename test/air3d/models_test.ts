import assert from "node:assert/strict";
import { initTf, tf } from "../../lib/core/tf.ts";
import { buildModel } from "../../lib/air3d/model.ts";
import { cellOf, GRID, gridObjects, gridPeaks } from "../../lib/air3d/grid.ts";
import { meanPool } from "../../lib/air3d/mlp.ts";
import { rotationFrom6d, spaceToDepth2 } from "../../lib/air3d/blocks.ts";
import {
  type Air3dConfig,
  calibrationSet,
  defaultConfig,
  runAir3d,
  validateConfig,
  validationSet,
} from "../../lib/air3d/train.ts";
import { asSeen, cameraOf, toWorld } from "../../lib/air3d/camera.ts";
import { sampleSlotDataset, slotDataset } from "../../lib/scenes/scenes3d.ts";
import { LAMBDAS } from "../../lib/air3d/refine.ts";
import { FIT_LAMBDAS } from "../../lib/air3d/fit_images.ts";
import { reconstructionMse } from "../../lib/air3d/reconstruction.ts";
import { AdamW } from "../../lib/nn/adam.ts";
import { Rng } from "../../lib/core/random.ts";
import { runScript } from "../fixtures.ts";

await initTf();

Deno.test("6-D rotation parametrisation gives proper rotations; space-to-depth and pooling", () => {
  tf.tidy(() => {
    const r = rotationFrom6d(tf.tensor2d([[1, 0.2, -0.3, 0.4, 1, 0.1], [0, 0, 2, 1, 1, 0]]))
      .arraySync() as number[][];
    for (const m of r) {
      const det = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) +
        m[2] * (m[3] * m[7] - m[4] * m[6]);
      assert.ok(Math.abs(det - 1) < 1e-5);
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < 3; j++) {
          const dot = m[i] * m[j] + m[3 + i] * m[3 + j] + m[6 + i] * m[6 + j]; // column i · column j
          assert.ok(Math.abs(dot - (i === j ? 1 : 0)) < 1e-5);
        }
      }
    }
    const x = tf.range(0, 16).reshape([1, 4, 4, 1]) as tf.Tensor4D;
    assert.deepEqual(spaceToDepth2(x).arraySync(), [[[[0, 1, 4, 5], [2, 3, 6, 7]], [[8, 9, 12, 13], [
      10,
      11,
      14,
      15,
    ]]]]);
  });
  assert.deepEqual(Array.from(meanPool(Float32Array.from({ length: 16 }, (_, i) => i), 1, 4, 2)), [
    2.5,
    4.5,
    10.5,
    12.5,
  ]);
});

for (const kind of ["mlp", "conv", "grid"] as const) {
  Deno.test(`${kind}: the loss falls on a fixed batch and the tensor count stays flat across steps`, async () => {
    const model = buildModel(kind, new Rng(0), { imageSize: 32, maxSlots: 3, hidden: 32 });
    const batch = sampleSlotDataset(new Rng(1), 16, { size: 32, maxPrimitives: 3 });
    const opt = new AdamW(model.params, { lr: 3e-3, weightDecay: 1e-3 });
    const counts: number[] = [], losses: number[] = [];
    for (let i = 0; i < 30; i++) {
      losses.push(await opt.step(() => model.loss(batch).total));
      counts.push(tf.memory().numTensors);
    }
    assert.ok(losses.every(Number.isFinite));
    assert.ok(losses.at(-1)! < 0.8 * losses[0], `loss ${losses[0]} → ${losses.at(-1)}`);
    assert.equal(new Set(counts.slice(2)).size, 1, `tensor counts ${counts}`);
    const pred = await model.predict(batch.images, batch.n);
    assert.equal(pred.length, 16);
    assert.equal(pred[0].length, 3);
    opt.dispose();
    model.params.dispose();
  });
}

Deno.test("grid: cells of world points, peaks, and blobs that hold two centres", () => {
  // The view spans [−1.6, 1.6]: on a 16-cell grid a cell is 0.2 wide; y up is rows down.
  assert.deepEqual(cellOf(0, 0, 16), { row: 8, col: 8, du: 0, dv: 0 });
  const c = cellOf(-1.5, 1.5, 16);
  assert.equal(c.row, 0);
  assert.equal(c.col, 0);
  assert.ok(Math.abs(c.du - 0.5) < 1e-9 && Math.abs(c.dv - 0.5) < 1e-9);
  assert.deepEqual(cellOf(9, -9, 16).col, 15); // clamped to the grid

  const G = 6, logits = new Float64Array(G * G).fill(-10);
  logits[1 * G + 1] = 3; // a lone, sure blob: mass ≈ 0.95
  logits[4 * G + 3] = 2.5; // two centres a cell apart: mass ≈ 0.92 + 0.88
  logits[4 * G + 4] = 2;
  assert.deepEqual(gridPeaks(Array.from(logits), G, 5), [1 * G + 1, 4 * G + 3]);
  const found = gridObjects(logits, G, 3);
  assert.deepEqual(found.map((o) => o.cell), [4 * G + 3, 1 * G + 1, 4 * G + 4]);
  assert.ok(found.every((o) => o.logit > 0), JSON.stringify(found));
  // With k = 2 only the two most certain objects are kept; a faint blob is an absent object.
  assert.equal(gridObjects(logits, G, 2).length, 2);
  logits.fill(-10);
  logits[2 * G + 2] = -1.5; // p ≈ 0.18: below ½
  const faint = gridObjects(logits, G, 3);
  assert.ok(faint[0].cell === 2 * G + 2 && faint[0].logit < 0 && faint[0].logit > -GRID.sharpness);
  // Ties: the first cell in raster order is the peak.
  assert.deepEqual(gridPeaks([1, 1, 0, 0], 2, 4), [0]);
});

const tiny = (kind: Air3dConfig["model"]): Air3dConfig => ({
  ...defaultConfig(kind),
  imageSize: 32,
  nEpochs: 3,
  nTrain: 64,
  nVal: 32,
  nTest: 32,
  batchSize: 32,
  hidden: 32,
});

Deno.test("runs: same seed → same result; tensor count flat across epochs", async () => {
  for (const kind of ["mlp", "conv", "grid"] as const) {
    const counts: number[] = [];
    const a = await runAir3d(tiny(kind), (r) => void counts.push(r.liveTensors));
    const b = await runAir3d(tiny(kind));
    const strip = (r: typeof a.result) => ({ ...r, synth_s: 0, train_s: 0, infer_ms_per_image: 0 });
    assert.deepEqual(strip(a.result), strip(b.result));
    assert.equal(new Set(counts).size, 1, `${kind}: live tensors per epoch ${counts}`);
    assert.equal(a.history.length, 3);
    for (const r of [a, b]) r.model?.params.dispose();
  }
});

Deno.test("counting by re-rendering: λ comes from the validation scenes; presence is the decision", async () => {
  const run = await runAir3d({ ...tiny("grid"), rerender: true });
  assert.ok(LAMBDAS.includes(run.result.rerender_lambda!), `${run.result.rerender_lambda}`);
  assert.ok(run.predictions.every((slots) => slots.every((p) => p.presence === 0 || p.presence === 1)));
  assert.ok(run.predictions.every((slots) => slots.some((p) => p.presence === 1))); // ≥ 1 object
  const plain = await runAir3d(tiny("grid"));
  assert.equal(plain.result.rerender_lambda, null);
  for (const r of [run, plain]) r.model?.params.dispose();
});

Deno.test("render-and-compare: --refine adds the refined figures beside the network's; direct trains nothing", async () => {
  const fit = { refineBudget: 200, refineThreads: 2 };
  const run = await runAir3d({ ...tiny("grid"), ...fit, refine: true });
  const r = run.result.refined!;
  assert.ok(FIT_LAMBDAS.includes(r.lambda), `λ ${r.lambda}`);
  // Each image gets the budget per start: its own proposal, and the mirrored image's where that fit leaves error.
  assert.ok(
    r.renders_per_image > 0 && r.renders_per_image <= 2 * (200 + 5),
    `renders ${r.renders_per_image}`,
  );
  assert.ok(r.count_acc >= 0 && r.count_acc <= 1 && r.failure_rate >= 0 && r.failure_rate <= 1);
  // Each reading's rendering against its image: the network's and the refined one's.
  for (
    const [preds, mse] of [[run.predictions, run.result.recon_mse], [
      run.refinement!.fits.predictions,
      r.recon_mse,
    ]] as const
  ) {
    assert.equal(mse, reconstructionMse(run.test.images, preds, run.test.size, undefined));
  }
  assert.ok(r.infer_ms_per_image > run.result.infer_ms_per_image); // the network's time is in it
  assert.equal(run.refinement!.fits.predictions.length, run.test.n);
  // λ is chosen on scenes of their own: not the validation scenes that picked the checkpoint.
  const c = run.result.config, cal = calibrationSet(c), val = validationSet(c);
  assert.equal(cal.n, c.nVal);
  assert.notDeepEqual(cal.images, val.images);
  assert.deepEqual(calibrationSet(c).images, cal.images);
  // One thread gives the same fits as two.
  const one = await runAir3d({ ...tiny("grid"), ...fit, refine: true, refineThreads: 1 });
  assert.deepEqual(one.refinement!.fits.costs, run.refinement!.fits.costs);
  // Without the mirrored restart, one start per image: fewer renders, no fit better than with it.
  const single = await runAir3d({ ...tiny("grid"), ...fit, refine: true, refineMirror: false });
  const s = single.result.refined!;
  assert.ok(s.renders_per_image <= 200 + 5 && s.renders_per_image < r.renders_per_image);
  if (s.lambda === r.lambda) {
    single.refinement!.fits.costs.forEach((c, b) => assert.ok(run.refinement!.fits.costs[b] <= c));
  }
  const direct = await runAir3d({ ...defaultConfig("direct"), nVal: 8, nTest: 8, ...fit });
  assert.equal(direct.model, null);
  assert.equal(direct.result.n_params, 0);
  assert.equal(direct.history.length, 0);
  assert.ok(FIT_LAMBDAS.includes(direct.result.lambda!));
  assert.ok(direct.result.failure_rate! >= 0 && direct.result.failure_rate! <= 1);
  assert.equal(direct.result.refined, undefined);
  for (const x of [run, one, single]) x.model?.params.dispose();
});

Deno.test("bad configs are clear errors naming the field", () => {
  const c = defaultConfig("mlp");
  assert.throws(() => validateConfig({ ...c, nEpochs: 0 }), /nEpochs must be an integer in 1\.\./);
  assert.throws(() => validateConfig({ ...c, lr: -1 }), /lr must be > 0/);
  assert.throws(
    () => validateConfig({ ...c, model: "rnn" as "mlp" }),
    /model must be one of mlp, conv, grid/,
  );
  assert.throws(() => validateConfig({ ...c, imageSize: 30, inputPool: 4 }), /divisible by inputPool/);
  assert.throws(() => validateConfig({ ...c, model: "conv", imageSize: 40 }), /multiple of 16/);
  assert.throws(
    () => validateConfig({ ...c, streaming: "yes" as unknown as boolean }),
    /streaming must be true or false/,
  );
  assert.throws(() => validateConfig({ ...c, bogus: 1 } as Air3dConfig), /unknown config key "bogus"/);
  assert.throws(() => defaultConfig("x" as "mlp"), /model must be one of/);
});

Deno.test("the CLI prints one JSON line last and rejects a bad flag", async () => {
  const run = (args: string[]) => runScript("air3d", args);
  const ok = await run([
    "--model",
    "mlp",
    "--image-size",
    "32",
    "--n-epochs",
    "1",
    "--n-train",
    "32",
    "--n-test",
    "16",
    "--n-val",
    "16",
  ]);
  assert.equal(ok.code, 0, ok.stderr);
  const json = ok.json!;
  for (
    const k of [
      "count_acc",
      "presence_acc",
      "type_acc",
      "pos_mae",
      "rot_mae_euler",
      "rot_err_median_deg",
      "z_floor_mae",
      "recon_mse",
      "best_epoch",
      "synth_s",
      "train_s",
      "infer_ms_per_image",
      "config",
      "env",
    ]
  ) {
    assert.ok(k in json, k);
  }
  assert.match(ok.stderr, /epoch 1\/1/);
  const bad = await run(["--model", "mlp", "--n-epochs", "-3"]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--n-epochs must be an integer in 1..∞, got -3/);
  const unknown = await run(["--modle", "mlp"]);
  assert.match(unknown.stderr, /unknown flag --modle/);
});

Deno.test("the perspective camera reaches the datasets, the re-rendering count and the JSON; z's floor is reported", async () => {
  const base = {
    ...defaultConfig("mlp"),
    imageSize: 32,
    nEpochs: 1,
    nTrain: 32,
    nTest: 16,
    nVal: 16,
    rerender: true,
  };
  const ortho = await runAir3d(base);
  const persp = await runAir3d({ ...base, camera: "perspective" });
  // Same scenes (same seed), other images: the camera reached the renderer.
  assert.deepEqual(persp.test.scenes, ortho.test.scenes);
  assert.notDeepEqual(persp.test.images, ortho.test.images);
  const again = slotDataset(persp.test.scenes, {
    size: 32,
    maxSlots: 3,
    camera: cameraOf(persp.result.config),
  });
  assert.deepEqual(again.images, persp.test.images);
  // z's floor: the MAE of predicting the mean z; for z ~ U(−0.3, 0.3) about 0.15.
  assert.ok(Math.abs(persp.result.z_floor_mae - 0.15) < 0.04, `z floor ${persp.result.z_floor_mae}`);
  assert.equal(persp.result.z_floor_mae, ortho.result.z_floor_mae);
  assert.equal(persp.result.config.camera, "perspective");
  assert.throws(
    () => validateConfig({ ...base, camera: "fisheye" as "perspective" }),
    /camera must be "orthographic" or "perspective"/,
  );
  ortho.model?.params.dispose();
  persp.model?.params.dispose();
});

Deno.test("asSeen and toWorld: image-plane (x, y) for the model, world (x, y) back for the scores", () => {
  const camera = cameraOf({ camera: "perspective" });
  const d = sampleSlotDataset(new Rng(4), 20, { size: 16, maxPrimitives: 3, camera });
  assert.equal(asSeen(d, undefined), d, "orthographic: the dataset itself");
  const seen = asSeen(d, camera);
  assert.notDeepEqual(seen.position, d.position);
  // Slots made from the seen positions go back to the world ones.
  const slots = Array.from({ length: d.n }, (_, b) =>
    Array.from({ length: d.maxSlots }, (_, k) => {
      const i = b * d.maxSlots + k;
      return {
        presence: d.presence[i],
        type: d.type[i],
        position: [seen.position[i * 3], seen.position[i * 3 + 1], seen.position[i * 3 + 2]] as [
          number,
          number,
          number,
        ],
        rotation: d.rotation.slice(i * 9, i * 9 + 9),
        euler: [0, 0, 0] as [number, number, number],
      };
    }));
  const back = toWorld(slots, camera);
  for (let i = 0; i < d.n * d.maxSlots; i++) {
    if (!d.presence[i]) continue;
    const p = back[Math.floor(i / d.maxSlots)][i % d.maxSlots].position;
    for (let a = 0; a < 3; a++) {
      assert.ok(Math.abs(p[a] - d.position[i * 3 + a]) < 1e-5, `slot ${i} axis ${a}`);
    }
  }
});
