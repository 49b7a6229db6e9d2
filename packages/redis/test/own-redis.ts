import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { waitUntil } from "./fixtures.js";

/**
 * A redis-server of a test's own (never the shared one), on a loopback port of its choosing
 * with an append-only file, run in the foreground as a child so the test can stop, crash and
 * start it again on the same port and data.
 */
export class OwnRedis {
  private proc: ChildProcess | null = null;
  readonly dir = mkdtempSync(join(tmpdir(), "qf-own-redis-"));

  /**
   * @param port where it listens (see `freePort`)
   * @param appendfsync `always` fsyncs every write before Redis answers, so what was
   * acknowledged survives a kill -9; Redis's default `everysec` may lose the last second.
   */
  constructor(
    readonly port: number,
    private readonly appendfsync: "always" | "everysec" = "everysec",
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Start it and wait until it answers PING. */
  async start(): Promise<void> {
    this.proc = spawn(
      "redis-server",
      [
        ...["--bind", "127.0.0.1", "--port", String(this.port), "--dir", this.dir],
        ...["--appendonly", "yes", "--appendfsync", this.appendfsync, "--save", ""],
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
      await waitUntil(async () => {
        try {
          if (probe.status !== "ready") await probe.connect();
          return (await probe.ping()) === "PONG";
        } catch {
          probe.disconnect();
          return false;
        }
      }, `redis-server on ${this.port} to answer`);
    } finally {
      probe.disconnect();
    }
  }

  /** SIGTERM shuts Redis down cleanly (flushing its file); SIGKILL is a crash. */
  async stop(signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> {
    const proc = this.proc;
    this.proc = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.once("exit", resolve));
    proc.kill(signal);
    await exited;
  }

  async destroy(): Promise<void> {
    await this.stop("SIGKILL");
    rmSync(this.dir, { recursive: true, force: true });
  }
}
