import { runAdapterConformance } from "@queueflow/adapter-tests";
import { MapAdapter } from "../src/index.js";

runAdapterConformance({
  name: "map",
  capabilities: { wakeUp: false, transactions: false },
  create: () => new MapAdapter(),
});
