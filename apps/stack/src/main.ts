import { randomBytes } from "node:crypto";
import { type Env, exitOnStartupError } from "@queueflow/app-kit";
import { banner } from "./banner.js";
import { runOneProcess } from "./one-process.js";
import { runTwoProcesses } from "./two-processes.js";

/**
 * `pnpm start`: the API and a worker. On the memory store (the default) both run in this
 * process; with QUEUEFLOW_STORE=redis|postgres|mongo they run as two processes sharing it.
 */
async function main(): Promise<void> {
  const env: Env = { LOG_LEVEL: "warn", ...process.env };
  // A local run needs a key to try the API with; make one rather than ship a default key.
  const generated = !env.API_KEYS_ADMIN && !env.API_KEYS_SUBMIT && !env.API_KEYS_READ;
  if (generated) env.API_KEYS_ADMIN = randomBytes(18).toString("base64url");
  const apiKey = env.API_KEYS_ADMIN ? { value: env.API_KEYS_ADMIN, generated } : null;
  const store = env.QUEUEFLOW_STORE || "memory";
  if (store === "memory") {
    const { apiUrl } = await runOneProcess(env);
    console.log(
      banner({
        mode: "memory store, API and worker in one process",
        apiUrl,
        workerUrl: null,
        apiKey,
      }),
    );
  } else {
    const { apiUrl, workerUrl } = await runTwoProcesses(env);
    console.log(
      banner({
        mode: `${store} store, API and worker as two processes`,
        apiUrl,
        workerUrl,
        apiKey,
      }),
    );
  }
}

main().catch(exitOnStartupError);
