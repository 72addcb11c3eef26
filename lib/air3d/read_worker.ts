/// <reference lib="deno.worker" />
/**
 * The Web Worker of `ReadPool` (`read_pool.ts`): builds a copy of the guide's network from its shape
 * and weights, then reads the shares of images it is sent with `predictSingle`. Never imported.
 * @module
 */
import { initTf } from "../core/tf.ts";
import { Rng } from "../core/random.ts";
import { predictSingle, type SingleObjectNet, singleObjectNet } from "./unsupervised.ts";
import type { ReadJob, ReadSetup } from "./read_pool.ts";

let net: SingleObjectNet | null = null;

self.onmessage = async (e: MessageEvent<ReadSetup | ReadJob>) => {
  try {
    if ("weights" in e.data) {
      await initTf();
      net = singleObjectNet(new Rng(0), e.data.shape); // its draws are overwritten by the weights
      net.params.restore(new Map(e.data.weights));
      self.postMessage({ ready: true });
      return;
    }
    if (!net) throw new Error("read before the network was sent");
    const { images, n, camera, rotation, options } = e.data;
    self.postMessage({ predictions: await predictSingle(net, images, n, camera, rotation, options) });
  } catch (err) {
    self.postMessage({ error: String((err as Error)?.message ?? err) });
  }
};
