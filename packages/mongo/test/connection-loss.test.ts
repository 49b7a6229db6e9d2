import { createConnection, createServer, type Server, type Socket } from "node:net";
import { Queue, Worker } from "@queueflow/core";
import { describe, expect, it } from "vitest";
import { MongoAdapter } from "../src/index.js";
import { dropPrefix, mongoUrl, testPrefix, waitUntil } from "./helpers.js";

type Jobs = { work: { payload: { n: number }; result: number } };

/**
 * A loopback TCP proxy to the server that the test can cut (refuse and reset every
 * connection) and restore, to simulate the network going away under a running worker.
 */
class CuttableProxy {
  private readonly sockets = new Set<Socket>();
  private server: Server | null = null;
  private cut = false;
  port = 0;

  constructor(
    private readonly host: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      if (this.cut) {
        client.destroy();
        return;
      }
      const upstream = createConnection(this.targetPort, this.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    const address = this.server.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    this.port = address.port;
  }

  sever(): void {
    this.cut = true;
    for (const s of this.sockets) s.resetAndDestroy();
  }

  restore(): void {
    this.cut = false;
  }

  async stop(): Promise<void> {
    this.sever();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

describe("MongoAdapter under connection loss", () => {
  it("maps the outage to QF_STORE_UNAVAILABLE; the worker backs off, resumes, completes every job", async () => {
    const target = new URL(mongoUrl());
    const proxy = new CuttableProxy(target.hostname, Number(target.port || 27017));
    await proxy.start();
    const proxied = new URL(mongoUrl());
    proxied.port = String(proxy.port);
    const url = proxied.toString();
    const prefix = testPrefix("loss");
    // Short server-selection timeout: during the cut, calls fail within a second instead of
    // the driver's default 30 s, so the worker sees the outage and backs off.
    const adapter = new MongoAdapter({
      connection: url,
      prefix,
      clientOptions: { serverSelectionTimeoutMS: 1_000, connectTimeoutMS: 1_000 },
    });
    await adapter.connect();
    const queueName = "loss";
    const queue = new Queue<Jobs>(queueName, { adapter });
    const total = 200;
    let handled = 0;
    const worker = new Worker<Jobs>(
      queueName,
      {
        work: async (job) => {
          handled++;
          await new Promise((resolve) => setTimeout(resolve, 5));
          return job.payload.n;
        },
      },
      // A settle lost to the outage leaves its job active; a short lease and a frequent
      // stall check bring it back soon.
      { adapter, concurrency: 5, leaseMs: 1_500, stalledIntervalMs: 200, maxStalls: 10 },
    );
    const errors: unknown[] = [];
    worker.on("error", (err) => errors.push(err));
    try {
      await queue.addBulk(
        Array.from({ length: total }, (_, n) => ({ name: "work" as const, payload: { n } })),
      );
      await waitUntil(() => handled >= 20, "the worker to get going");
      proxy.sever();
      await waitUntil(() => errors.length > 0, "the worker to notice the outage", 20_000);
      proxy.restore();

      await waitUntil(
        async () => {
          try {
            return (await adapter.counts(queueName)).completed === total;
          } catch {
            return false;
          }
        },
        "every job to complete after the restore",
        60_000,
      );
      expect(handled).toBeGreaterThanOrEqual(total);
      const unmapped = errors.filter(
        (e) => (e as { code?: string }).code !== "QF_STORE_UNAVAILABLE",
      );
      expect(unmapped.map((e) => `${(e as Error).name}: ${(e as Error).message}`)).toEqual([]);
      expect(errors.some((e) => (e as { code?: string }).code === "QF_STORE_UNAVAILABLE")).toBe(
        true,
      );
      const counts = await adapter.counts(queueName);
      expect(counts).toMatchObject({ completed: total, dead: 0, active: 0, waiting: 0 });
    } finally {
      await worker.close(5_000);
      await queue.close();
      await adapter.close();
      await proxy.stop();
      await dropPrefix(mongoUrl(), prefix);
    }
  }, 120_000);
});
