/**
 * Shared test fixtures: a small fake MNIST and a small AIR run config (no files, no network).
 * @module
 */
import { defaultAirConfig, defaultAirRunConfig } from "../lib/air/config.ts";
import { defaultGqnConfig, type GqnConfig } from "../lib/gqn/model.ts";
import { defaultGenesisConfig, type GenesisConfig } from "../lib/genesis/model.ts";
import { encodeIdx, type Mnist, parseSplit } from "../lib/scenes/mnist.ts";
import { eulerZYX, PRIMITIVE_TYPES, type Scene } from "../lib/scenes/primitives.ts";
import type { SlotPrediction } from "../lib/metrics/slots.ts";

/** A small fake MNIST: 40 "digits", each a filled rectangle of its own size. */
export async function fakeMnist(): Promise<Mnist> {
  const n = 40;
  const images = new Uint8Array(n * 784).map((_, k) => {
    const i = Math.floor(k / 784), r = Math.floor((k % 784) / 28), c = k % 28;
    const h = 6 + (i % 5) * 2;
    return r >= 14 - h && r < 14 + h && c >= 9 && c < 19 ? 230 : 0;
  });
  const split = await parseSplit(
    encodeIdx([n, 28, 28], images),
    encodeIdx([n], new Uint8Array(n).map((_, i) => i % 10)),
  );
  return { train: split, test: split, source: "cache" };
}

/** A small AIR (32×32 canvas, 12-px window, tiny layers) that trains in milliseconds per step. */
export const small = () =>
  defaultAirRunConfig({
    air: defaultAirConfig({ canvas: 32, window: 12, lstm: 32, zWhat: 8, hidden: 32, scalePrior: 0.48 }),
    batchSize: 16,
    lr: 1e-3,
    nTest: 40,
    budgetS: 60,
    evalEveryS: 1e6,
  });

/** What a CLI run gave: exit code, stdout, stderr, and its last stdout line parsed as JSON (or null). */
export interface ScriptRun {
  code: number;
  stdout: string;
  stderr: string;
  json: Record<string, unknown> | null;
}

/** Runs `scripts/<name>.ts` with `args` in a fresh Deno process. */
export async function runScript(name: string, args: string[]): Promise<ScriptRun> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(`../scripts/${name}.ts`, import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout), stderr = new TextDecoder().decode(out.stderr);
  let json: Record<string, unknown> | null = null;
  try {
    json = JSON.parse(stdout.trim().split("\n").at(-1) ?? "");
  } catch {
    json = null;
  }
  return { code: out.code, stdout, stderr, json };
}

/** A GQN small enough to train in milliseconds per step on 16×16 views. */
export const tinyGqn = (overrides: Partial<GqnConfig> = {}): GqnConfig =>
  defaultGqnConfig({
    size: 16,
    towerChannels: [8, 8],
    rChannels: 8,
    hidden: 8,
    zChannels: 2,
    layers: 2,
    canvasChannels: 4,
    readChannels: 4,
    epipolarChannels: 8,
    ...overrides,
  });

/** A GENESIS model small enough to train in milliseconds per step on 16×16 images. */
export const tinyGenesis = (overrides: Partial<GenesisConfig> = {}): GenesisConfig =>
  defaultGenesisConfig({
    size: 16,
    encChannels: [8, 8],
    encHidden: 32,
    lstm: 16,
    zDim: 4,
    maskHidden: 8,
    ...overrides,
  });

/** The true scenes as slot predictions (every object present, at its own pose): what a perfect model reads. */
export const truthPredictions = (scenes: readonly Scene[]): SlotPrediction[][] =>
  scenes.map((scene) =>
    scene.map((o) => ({
      presence: 1,
      type: PRIMITIVE_TYPES.indexOf(o.type),
      position: o.position,
      rotation: eulerZYX(...o.rotation),
      euler: o.rotation,
    }))
  );
