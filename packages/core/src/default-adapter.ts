import type { StorageAdapter } from "./contract.js";
import { MemoryAdapter } from "./memory/index.js";

let shared: MemoryAdapter | undefined;

/**
 * The process-wide in-memory adapter used when a Queue or Worker is given none, so a queue
 * and a worker created without options see the same jobs.
 */
export function defaultAdapter(): StorageAdapter {
  shared ??= new MemoryAdapter();
  return shared;
}
