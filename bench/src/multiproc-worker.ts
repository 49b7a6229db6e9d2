/**
 * Child process of the multi-process benchmark (forked by multiproc.ts). argv[2] is JSON
 * {lib, store, url, runId, concurrency}. It opens the parent's session (same prefix or schema),
 * prepares its worker (Session.prepareWork, not timed), says "ready", starts one Worker on
 * "go", and on "stop" closes it and exits. It never closes the session itself: that would
 * delete the parent's data.
 */
import type { WorkerHandle } from "./common.js";
import { libraryByName } from "./libraries.js";
import type { ChildMessage, ChildSpec } from "./multiproc.js";

function send(message: ChildMessage): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? "{}") as ChildSpec;
  const lib = await libraryByName(spec.lib, spec.store, spec.url);
  const session = await lib.open(spec.runId);
  await session.prepareWork?.(spec.concurrency);
  let handle: WorkerHandle | undefined;
  process.on("message", (m: { type: string }) => {
    if (m.type === "go") {
      session.work(spec.concurrency).then(
        (h) => {
          handle = h;
          send({ type: "started" });
        },
        (e: unknown) => send({ type: "error", message: String(e) }),
      );
    } else if (m.type === "stop") {
      const close = handle ? handle.close() : Promise.resolve();
      close.catch(() => {}).finally(() => process.exit(0));
      setTimeout(() => process.exit(0), 15_000).unref();
    }
  });
  send({ type: "ready" });
}

if (process.send && process.argv[2]) {
  main().catch((e: unknown) => {
    send({ type: "error", message: String(e) });
    process.exit(1);
  });
  // The parent going away must not leave this process behind.
  process.on("disconnect", () => process.exit(0));
}
