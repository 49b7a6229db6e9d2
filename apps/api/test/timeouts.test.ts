import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openEvents } from "./sse.js";
import { KEYS, type Stack, startStack, testStore } from "./stack.js";

const REQUEST_TIMEOUT_MS = 1_000;
const CONNECTIONS = 25;

interface SlowClient {
  socket: Socket;
  /** When the server closed the connection, and everything it sent. */
  closed: Promise<{ at: number; received: string }>;
}

/** A raw connection that starts a submit and sends its body as `send` decides. */
function slowSubmit(port: number, send: (socket: Socket) => void): Promise<SlowClient> {
  return new Promise((resolve, reject) => {
    let received = "";
    const socket = connect(port, "127.0.0.1", () => {
      socket.write(
        [
          "POST /api/queues/emails/jobs HTTP/1.1",
          "Host: 127.0.0.1",
          `x-api-key: ${KEYS.submit}`,
          "content-type: application/json",
          "content-length: 100",
          "",
          "",
        ].join("\r\n"),
      );
      send(socket);
      resolve({ socket, closed });
    });
    // Reading is what lets the client see the server's end of the connection.
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString();
    });
    const closed = new Promise<{ at: number; received: string }>((done) =>
      socket.once("close", () => done({ at: Date.now(), received })),
    );
    socket.on("error", () => {});
    socket.once("error", reject);
  });
}

describe("request and connection timeouts", () => {
  let stack: Stack;
  let port: number;
  beforeAll(async () => {
    stack = await startStack({
      store: testStore("memory").config,
      workers: false,
      env: { REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) },
    });
    port = Number(new URL(stack.url).port);
  });
  afterAll(() => stack.close());

  it("closes connections that send a body a byte at a time, or stall after '{'", async () => {
    const stream = await openEvents(stack.url, KEYS.read, "queue=emails");
    const started = Date.now();
    const drips: NodeJS.Timeout[] = [];
    const clients = await Promise.all(
      Array.from({ length: CONNECTIONS }, (_, i) =>
        slowSubmit(port, (socket) => {
          if (i % 2 === 0) {
            socket.write("{");
            return;
          }
          // Never idle, so only the whole-request deadline can end it.
          drips.push(setInterval(() => socket.write(" "), 100));
        }),
      ),
    );
    try {
      const ends = await Promise.all(clients.map((c) => c.closed));
      const slowest = Math.max(...ends.map((e) => e.at)) - started;
      // At least the timeout, and well before a client could have hoarded sockets (the
      // check runs every quarter timeout; 10 s leaves room for a loaded machine).
      expect(slowest).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 50);
      expect(slowest).toBeLessThan(10_000);
      for (const { received } of ends) {
        expect(received).toMatch(/^HTTP\/1\.1 408 /);
        expect(received).toContain('{"error":{"code":"REQUEST_TIMEOUT"');
      }
    } finally {
      for (const d of drips) clearInterval(d);
      for (const c of clients) c.socket.destroy();
    }

    // The request timeout bounds receiving a request, not answering it: a stream opened
    // before the slow clients is still open after them.
    await stack.call("/api/queues/emails/jobs", {
      method: "POST",
      json: { name: "email.send", payload: { to: "a@example.com", subject: "still here" } },
    });
    await stream.next((e) => e.type === "job:added", "job:added");
    stream.close();
  });

  it("still answers a client that sends its request in time", async () => {
    const r = await stack.call("/api/queues", { scope: "read" });
    expect(r.status).toBe(200);
  });
});
