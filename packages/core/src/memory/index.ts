export type { MemoryAdapterOptions } from "./memory-adapter.js";
export { MemoryAdapter } from "./memory-adapter.js";
