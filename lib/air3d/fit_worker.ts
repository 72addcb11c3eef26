/// <reference lib="deno.worker" />
/**
 * The Web Worker of `fitImagesParallel` (`fit_images.ts`): fits the share of images it is sent with
 * `fitImages` and posts the fits back. Pure JavaScript: it loads no tfjs.
 * @module
 */
import { fitImages } from "./fit_images.ts";

/** What the worker is sent: `fitImages`'s arguments. */
export interface FitJob {
  images: Float32Array;
  n: number;
  starts: Parameters<typeof fitImages>[2];
  options: Parameters<typeof fitImages>[3];
  slots: number;
}

self.onmessage = (e: MessageEvent<FitJob>) => {
  const { images, n, starts, options, slots } = e.data;
  try {
    self.postMessage({ fits: fitImages(images, n, starts, options, slots) });
  } catch (err) {
    self.postMessage({ error: String((err as Error)?.message ?? err) });
  }
};
