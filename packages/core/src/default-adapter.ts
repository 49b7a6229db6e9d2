import type { StorageAdapter } from "./contract.js";
import { MemoryAdapter } from "./memory/index.js";

/**
 * Where the default adapter lives: on globalThis under a registered symbol, not in a module
 * variable. The ESM and CommonJS builds are two module instances, loaded side by side when
 * an app imports the package and a dependency requires it; with a variable each held its own
 * store, and a job added through one was never seen by a worker of the other. Copies of the
 * package installed twice share it the same way, as they share error matching by name.
 */
const KEY = Symbol.for("queueflow.defaultStore");

type Holder = { [KEY]?: StorageAdapter };

/**
 * The process-wide in-memory adapter used when a Queue or Worker is given none, so a queue
 * and a worker created without options see the same jobs, whichever build created them.
 */
export function defaultAdapter(): StorageAdapter {
  const holder = globalThis as Holder;
  holder[KEY] ??= new MemoryAdapter();
  return holder[KEY];
}
