/**
 * Render-and-compare fit speed on one thread: `n` scenes of one to three primitives (64×64), each
 * fitted from its true scene nudged off (centres by N(0, 0.05²), two Euler angles by N(0, 0.2²)), under
 * the orthographic and the perspective camera (λ 3, `--budget` renders). Prints, as its last stdout
 * line, one JSON object: per camera the ms per image, the renders per image and `cost_sum` — the sum
 * of the fits' final costs, which a change meant to keep the fits the same must leave exactly as it was.
 *
 *   deno task bench:fit [-- --n 60 --budget 12000 --seed 7]
 */
import { fitFromStarts, type FitObject } from "../lib/air3d/fit.ts";
import { Rng } from "../lib/core/random.ts";
import { cliFlags, runCli } from "../lib/core/flags.ts";
import {
  DEFAULT_CAMERA,
  eulerZYX,
  PRIMITIVE_TYPES,
  samplePrimitiveScenes,
} from "../lib/scenes/primitives.ts";
import { projectPoint, renderScene } from "../lib/scenes/render.ts";

const { n, budget, seed } = await runCli(
  "bench:fit",
  () =>
    cliFlags(import.meta.url, { n: 60, budget: 12000, seed: 7 }, Deno.args, {
      n: { int: true, min: 1, max: 10000 },
      budget: { int: true, min: 1, max: 1e7 },
      seed: { int: true },
    }),
);
const scenes = samplePrimitiveScenes(new Rng(seed), n, { maxPrimitives: 3 });
const out: Record<string, { ms_per_image: number; renders_per_image: number; cost_sum: number }> = {};
for (const projection of ["orthographic", "perspective"] as const) {
  const camera = projection === "perspective" ? { ...DEFAULT_CAMERA, projection } : undefined;
  const nudge = new Rng(seed).child("nudge");
  const jobs = scenes.map((scene) => ({
    image: renderScene(scene, { size: 64, ...(camera ? { camera } : {}) }).image,
    objects: scene.map((p): FitObject => {
      const [u, v] = camera ? projectPoint(p.position, camera) : p.position;
      return {
        type: PRIMITIVE_TYPES.indexOf(p.type),
        u: u + nudge.normal(0, 0.05),
        v: v + nudge.normal(0, 0.05),
        z: p.position[2] + nudge.normal(0, 0.05),
        R: eulerZYX(
          p.rotation[0] + nudge.normal(0, 0.2),
          p.rotation[1] + nudge.normal(0, 0.2),
          p.rotation[2],
        ),
      };
    }),
  }));
  let renders = 0, costs = 0;
  const t0 = performance.now();
  for (const { image, objects } of jobs) {
    const fit = fitFromStarts(image, [{ objects }], { size: 64, camera, lambda: 3, budget, maxObjects: 3 });
    renders += fit.renders, costs += fit.cost;
  }
  const ms = (performance.now() - t0) / n;
  out[projection] = { ms_per_image: ms, renders_per_image: renders / n, cost_sum: costs };
  console.error(
    `[bench:fit] ${projection}: ${ms.toFixed(2)} ms / image, ${(renders / n).toFixed(0)} renders`,
  );
}
console.log(JSON.stringify({ n, budget, seed, ...out }));
