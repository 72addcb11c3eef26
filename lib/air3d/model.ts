/**
 * What every AIR-3D slot model is — a loss for training on ground-truth slots and per-image slot
 * predictions — and the factory that builds one of the three (`mlp.ts`, `conv.ts`, `grid.ts`).
 *
 * @example
 * ```ts
 * import { initTf } from "../core/tf.ts";
 * import { buildModel } from "./model.ts";
 * import { Rng } from "../core/random.ts";
 * await initTf();
 * const model = buildModel("conv", new Rng(0), { imageSize: 64, maxSlots: 3 });
 * ```
 * @module
 */
import { readsSync, tf } from "../core/tf.ts";
import type { Rng } from "../core/random.ts";
import { Params } from "../nn/params.ts";
import type { SlotDataset } from "../scenes/scenes3d.ts";
import type { SlotPrediction } from "../metrics/slots.ts";
import { mlpModel } from "./mlp.ts";
import { convModel } from "./conv.ts";
import { gridModel } from "./grid.ts";

export type ModelKind = "mlp" | "conv" | "grid";
export const MODEL_KINDS: readonly ModelKind[] = ["mlp", "conv", "grid"];

/** Shape options of a model. */
export interface ModelShape {
  imageSize: number;
  maxSlots: number;
  /** Hidden width (mlp: 128, the reproduction's; conv: GRU width). */
  hidden?: number;
  /** Mean-pooling factor of the mlp's input (the reproduction's 2). */
  inputPool?: number;
}

/** What a model's {@link SlotModel.plan} hands its loss (opaque outside the model). */
export type LossPlan = unknown;

/**
 * The plan for `batch` where the backend cannot read synchronously (webgpu), else undefined (the
 * loss reads what it needs in place, saving a forward pass).
 */
export function planLoss(model: SlotModel, batch: SlotDataset): Promise<LossPlan | undefined> {
  return readsSync() || !model.plan ? Promise.resolve(undefined) : model.plan(batch);
}

/** Loss value and its parts (for curves), named by the model's `partNames`. */
export interface LossParts {
  total: tf.Scalar;
  parts: tf.Tensor1D;
}

/** A slot model: parameters, a loss on a batch, and predictions. */
export interface SlotModel {
  kind: ModelKind;
  params: Params;
  /** Names of the loss parts, in order. */
  partNames: string[];
  /**
   * Loss of a batch (inside a tidy/minimize). `plan` is what {@link plan} computed for this batch;
   * without it a model that needs host values reads them synchronously (wasm, cpu).
   */
  loss(batch: SlotDataset, plan?: LossPlan): LossParts;
  /**
   * The host-side constants the loss takes from a forward pass (the conv model's matching of steps
   * to objects), read back asynchronously, as webgpu needs; absent when the loss needs none.
   */
  plan?(batch: SlotDataset): Promise<LossPlan>;
  /**
   * Per-image slot predictions, computed in chunks. The glimpse models read type and pose only
   * for slots whose presence exceeds `readFrom` (default ½; counting by re-rendering asks for the
   * doubtful ones too).
   */
  predict(images: Float32Array, n: number, readFrom?: number): Promise<SlotPrediction[][]>;
}
/** Builds a model of `kind`. */
export function buildModel(kind: ModelKind, rng: Rng, shape: ModelShape): SlotModel {
  if (kind === "mlp") return mlpModel(rng, shape);
  if (kind === "conv") return convModel(rng, shape);
  if (kind === "grid") return gridModel(rng, shape);
  throw new RangeError(`model must be one of ${MODEL_KINDS.join(", ")}, got ${JSON.stringify(kind)}`);
}
