import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Env } from "@queueflow/app-kit";

function entry(specifier: string): string {
  return fileURLToPath(import.meta.resolve(specifier));
}

/**
 * The API and a worker as two child processes sharing the configured store, as they run in a
 * deployment. Signals are passed on, and when either child exits the other is stopped, so the
 * pair never half-runs.
 */
export async function runTwoProcesses(env: Env): Promise<{ apiUrl: string; workerUrl: string }> {
  const tsx = import.meta.resolve("tsx");
  const start = (specifier: string, extra: Env): ChildProcess =>
    spawn(process.execPath, ["--import", tsx, entry(specifier)], {
      env: { ...process.env, ...env, ...extra },
      stdio: "inherit",
    });
  const metricsPort = env.METRICS_PORT ?? "9464";
  const children = [
    start("@queueflow/app-api/main", {}),
    start("@queueflow/app-worker/main", { METRICS_PORT: metricsPort }),
  ];
  let stopping = false;
  const stopAll = (signal: NodeJS.Signals) => {
    stopping = true;
    for (const c of children) if (c.exitCode === null) c.kill(signal);
  };
  for (const child of children) {
    child.on("exit", (code) => {
      if (!stopping) stopAll("SIGTERM");
      if (children.every((c) => c.exitCode !== null || c.signalCode !== null))
        process.exit(stopping ? 0 : (code ?? 1));
    });
  }
  process.on("SIGINT", () => stopAll("SIGINT"));
  process.on("SIGTERM", () => stopAll("SIGTERM"));
  const host = env.HOST ?? "127.0.0.1";
  const apiUrl = `http://${host}:${env.PORT ?? "3000"}`;
  const workerUrl = `http://${env.METRICS_HOST ?? "127.0.0.1"}:${metricsPort}`;
  await waitFor(`${apiUrl}/health/live`, children);
  await waitFor(`${workerUrl}/health/live`, children);
  return { apiUrl, workerUrl };
}

/** Resolve once `url` answers 200; reject if a child exits first or 60 s pass. */
async function waitFor(url: string, children: ChildProcess[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (children.some((c) => c.exitCode !== null))
      throw new Error("a process exited during start-up (see its output above)");
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${url} did not answer within 60 s`);
}
