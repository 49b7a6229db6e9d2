import { once } from "node:events";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TcpProxy } from "../src/faults/tcp-proxy.js";
import { sleep, waitFor } from "../src/helpers.js";

/** An echo server that counts the bytes and connections it saw. */
interface Echo {
  server: Server;
  port: number;
  received: number;
  accepted: number;
}

async function startEcho(): Promise<Echo> {
  const echo: Echo = { server: createServer(), port: 0, received: 0, accepted: 0 };
  echo.server.on("connection", (socket) => {
    echo.accepted += 1;
    socket.on("error", () => undefined);
    socket.on("data", (chunk: Buffer) => {
      echo.received += chunk.length;
      socket.write(chunk);
    });
  });
  echo.server.listen(0, "127.0.0.1");
  await once(echo.server, "listening");
  const address = echo.server.address();
  if (address === null || typeof address === "string") throw new Error("echo not listening");
  echo.port = address.port;
  return echo;
}

/** A client of the proxy that collects what it reads. */
interface Client {
  socket: Socket;
  text: () => string;
}

async function connect(proxy: TcpProxy): Promise<Client> {
  const socket = createConnection(proxy.port, proxy.host);
  let read = "";
  socket.on("data", (chunk: Buffer) => {
    read += chunk.toString();
  });
  socket.on("error", () => undefined);
  await once(socket, "connect");
  return { socket, text: () => read };
}

const WAIT = { timeoutMs: 5_000 };
/** Long enough for a forwarded byte to cross loopback many times over. */
const QUIET_MS = 300;

describe("TcpProxy", () => {
  let echo: Echo;
  let proxy: TcpProxy;
  const clients: Socket[] = [];

  beforeEach(async () => {
    echo = await startEcho();
    proxy = await TcpProxy.start({ host: "127.0.0.1", port: echo.port });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await proxy.close();
    await new Promise<void>((resolve) => echo.server.close(() => resolve()));
  });

  async function client(): Promise<Client> {
    const c = await connect(proxy);
    clients.push(c.socket);
    return c;
  }

  it("forwards both ways and counts the bytes", async () => {
    const c = await client();
    c.socket.write("hello");
    await waitFor(() => c.text() === "hello", { ...WAIT, message: "echo through the proxy" });
    expect(proxy.forwardedBytes).toBe(10);
    expect(proxy.connections).toBe(1);
  });

  it("black-holes an open connection without closing it, then delivers what waited", async () => {
    const c = await client();
    c.socket.write("a");
    await waitFor(() => c.text() === "a", { ...WAIT, message: "first echo" });
    proxy.blackhole();
    const before = proxy.forwardedBytes;
    c.socket.write("bc");
    await sleep(QUIET_MS);
    expect(echo.received, "the target received nothing during the black-hole").toBe(1);
    expect(c.text()).toBe("a");
    expect(proxy.forwardedBytes).toBe(before);
    expect(c.socket.destroyed).toBe(false);
    proxy.restore();
    await waitFor(() => c.text() === "abc", { ...WAIT, message: "echo after restore" });
  });

  it("holds connections made during a black-hole and forwards them on restore", async () => {
    proxy.blackhole();
    const c = await client();
    c.socket.write("late");
    await sleep(QUIET_MS);
    expect(echo.accepted, "no connection reached the target").toBe(0);
    expect(proxy.connections).toBe(1);
    proxy.restore();
    await waitFor(() => c.text() === "late", { ...WAIT, message: "held connection forwarded" });
    expect(echo.accepted).toBe(1);
  });

  it("passes a close seen during a black-hole on at restore", async () => {
    const c = await client();
    c.socket.write("x");
    await waitFor(() => c.text() === "x", { ...WAIT, message: "first echo" });
    proxy.blackhole();
    c.socket.destroy();
    await closeOf(c.socket);
    await sleep(QUIET_MS);
    expect(await connectionsOf(echo.server)).toBe(1);
    proxy.restore();
    await waitFor(async () => (await connectionsOf(echo.server)) === 0, {
      ...WAIT,
      message: "the target's side to close after restore",
    });
  });

  it("resetAll resets every connection; new ones are forwarded", async () => {
    const c = await client();
    const closed = closeOf(c.socket);
    const errored = new Promise<NodeJS.ErrnoException>((resolve) =>
      c.socket.once("error", resolve),
    );
    proxy.resetAll();
    expect((await errored).code).toBe("ECONNRESET");
    await closed;
    const d = await client();
    d.socket.write("again");
    await waitFor(() => d.text() === "again", { ...WAIT, message: "echo after reset" });
  });

  it("resets the client when the target refuses", async () => {
    const refused = await startEcho();
    await new Promise<void>((resolve) => refused.server.close(() => resolve()));
    const dead = await TcpProxy.start({ host: "127.0.0.1", port: refused.port });
    try {
      const c = await connect(dead);
      await closeOf(c.socket);
      expect(c.text()).toBe("");
    } finally {
      await dead.close();
    }
  });
});

/** Resolves when `socket` closes, error or not (`events.once` would reject on the error). */
function closeOf(socket: Socket): Promise<void> {
  return new Promise((resolve) => socket.once("close", () => resolve()));
}

function connectionsOf(server: Server): Promise<number> {
  return new Promise((resolve, reject) =>
    server.getConnections((err, count) => (err ? reject(err) : resolve(count))),
  );
}
