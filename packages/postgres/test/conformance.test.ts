import { runAdapterConformance } from "@queueflow/adapter-tests";
import type { StorageAdapter } from "@queueflow/core";
import { PostgresAdapter } from "../src/index.js";
import { databaseUrl, dropSchema, freshSchema } from "./database.js";

const url = databaseUrl();

// Each contract area gets its own adapter in a fresh schema, dropped when the area is done.
runAdapterConformance({
  name: "postgres",
  capabilities: { wakeUp: true, transactions: true, groups: true },
  create: () => new PostgresAdapter({ connection: url, schema: freshSchema("conformance") }),
  cleanup: (adapter: StorageAdapter) => dropSchema((adapter as PostgresAdapter).schema),
});
