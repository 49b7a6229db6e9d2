// One process, both builds of @queueflow/core: a job added through require() (the CommonJS
// build) must reach a Worker imported as ESM. Each build has its own classes; they meet only
// in the default in-memory store, which both take from globalThis. Exits 0 once the job ran.
import { createRequire } from "node:module";
import { Worker } from "@queueflow/core";

const cjs = createRequire(import.meta.url)("@queueflow/core");
if (cjs.Worker === Worker) {
  console.error("dual-package: require() and import gave one build; nothing is tested");
  process.exit(1);
}

const ran = new Promise((resolve) => {
  const worker = new Worker("dual", { ping: async (job) => resolve([worker, job.payload]) });
});
const queue = new cjs.Queue("dual");
await queue.add("ping", { from: "require" });
const timeout = setTimeout(() => {
  console.error("dual-package: the imported Worker never saw the job added through require()");
  process.exit(1);
}, 10_000);
const [worker, payload] = await ran;
clearTimeout(timeout);
await worker.close();
if (payload?.from !== "require") {
  console.error(`dual-package: the worker got ${JSON.stringify(payload)}`);
  process.exit(1);
}
console.log("dual-package: a job added through require() ran on an imported Worker");
