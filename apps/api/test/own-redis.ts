import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { until } from "./stack.js";

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/**
 * A redis-server of this test's own (never the shared one) on a free loopback port, run as a
 * child so the test can stop and start it; the same approach as packages/redis/test.
 */
export class OwnRedis {
  #proc: ChildProcess | null = null;
  readonly dir = mkdtempSync(join(tmpdir(), "qf-api-redis-"));
  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Start the server, unless this instance already runs one (a second would be leaked). */
  async start(): Promise<void> {
    if (this.#proc !== null && this.#proc.exitCode === null && this.#proc.signalCode === null) {
      return;
    }
    this.#proc = spawn(
      "redis-server",
      [
        "--bind",
        "127.0.0.1",
        "--port",
        String(this.port),
        "--dir",
        this.dir,
        "--appendonly",
        "yes",
        "--save",
        "",
      ],
      { stdio: "ignore" },
    );
    const probe = new Redis(this.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    probe.on("error", () => {});
    try {
      await until(async () => {
        try {
          if (probe.status !== "ready") await probe.connect();
          return (await probe.ping()) === "PONG";
        } catch {
          probe.disconnect();
          return false;
        }
      }, `redis-server on ${this.port}`);
    } finally {
      probe.disconnect();
    }
  }

  async stop(): Promise<void> {
    const proc = this.#proc;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((resolve) => proc.once("exit", resolve));
    proc.kill("SIGTERM");
    await exited;
    this.#proc = null;
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
