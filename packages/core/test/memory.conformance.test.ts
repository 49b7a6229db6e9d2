import { runAdapterConformance } from "@queueflow/adapter-tests";
import { MemoryAdapter } from "@queueflow/core";

runAdapterConformance({
  name: "memory",
  capabilities: { wakeUp: true, transactions: false, groups: true },
  create: () => new MemoryAdapter(),
});
