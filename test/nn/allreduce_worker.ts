// Test helper (a Web Worker): rank 1 of a ReplicaGroup; contributes (rank + step) · input and
// descends on its range, or fails.
/// <reference lib="deno.worker" />
import { ReplicaGroup } from "../../lib/nn/allreduce.ts";

self.onmessage = (e: MessageEvent) => {
  const { sab, layout, failAt } = e.data;
  const group = new ReplicaGroup(sab, layout, 1);
  self.postMessage("ready");
  let step = 0;
  for (;;) {
    const cmd = group.nextCommand(step);
    if (!cmd) break;
    step = cmd.step;
    if (step === failAt) {
      group.fail(new Error("boom at step " + step));
      break;
    }
    const input = group.input(1);
    group.step(
      step,
      (slot) => {
        for (let i = 0; i < slot.length; i++) slot[i] = (1 + step) * input[i];
      },
      [cmd.scalars[0] * 10],
      (g, _from, w) => {
        for (let i = 0; i < g.length; i++) w[i] -= g[i];
      },
    );
  }
  self.close();
};
