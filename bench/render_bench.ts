/**
 * Renderer throughput on one thread: random scenes of 1–3 primitives (the reproduction's
 * sampler) rendered at 64×64 straight into one batch buffer, with the orthographic camera (the
 * reproduction's) and with the perspective one (default field of view).
 * Prints progress on stderr and, as its last stdout line, one JSON object.
 *
 *   deno task bench:render [-- --size 64 --seconds 3]
 */
import { type Camera, DEFAULT_CAMERA, samplePrimitiveScenes } from "../lib/scenes/primitives.ts";
import { Rng } from "../lib/core/random.ts";
import { renderThroughput } from "../lib/scenes/scenes3d.ts";
import { cliFlags, runCli } from "../lib/core/flags.ts";

const { size, seconds, batch, seed } = await runCli("bench:render", () =>
  cliFlags(
    import.meta.url,
    {
      size: 64,
      seconds: 3,
      batch: 1000,
      seed: 0,
    },
    Deno.args,
    {
      size: { int: true, min: 1, max: 1024 },
      seconds: { min: 0.01, max: 3600 },
      batch: { int: true, min: 1, max: 100000 },
      seed: { int: true },
    },
  ));
const perspective = { ...DEFAULT_CAMERA, projection: "perspective" as const };
const measure = (label: string, withMaps: boolean, camera?: Camera) => {
  const rate = renderThroughput({ size, seconds, batch, withMaps, seed, camera });
  console.error(`[bench:render] ${label}: ${Math.round(rate)} scenes/s`);
  return rate;
};

const t0 = performance.now();
samplePrimitiveScenes(new Rng(seed).child("sampling"), 10000);
const samplingRate = 10000 / ((performance.now() - t0) / 1000);
const imageOnly = measure("image only", false);
const withMaps = measure("image + ids + depth", true);
const perspImage = measure("perspective, image only", false, perspective);
const perspMaps = measure("perspective, image + ids + depth", true, perspective);
console.log(JSON.stringify({
  scenes_per_s: Math.round(imageOnly),
  scenes_per_s_with_ids_depth: Math.round(withMaps),
  perspective_scenes_per_s: Math.round(perspImage),
  perspective_scenes_per_s_with_ids_depth: Math.round(perspMaps),
  sampling_scenes_per_s: Math.round(samplingRate),
  image_size: size,
  primitives: "1-3",
  threads: 1,
  env: { deno: Deno.version.deno, v8: Deno.version.v8, os: Deno.build.os, arch: Deno.build.arch },
}));
