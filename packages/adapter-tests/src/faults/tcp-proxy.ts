import { createConnection, createServer, type Server, type Socket } from "node:net";

/** Where a TCP server listens. */
export interface TcpTarget {
  host: string;
  port: number;
}

/** One client connection and, once forwarding, its connection to the target. */
interface Link {
  client: Socket;
  upstream: Socket | null;
  /**
   * How a side closed during a black-hole (true: with an error): the other side learns of
   * it only on restore. Null while no side closed then.
   */
  closedDuringBlackhole: boolean | null;
}

/**
 * A TCP proxy on a loopback port that forwards to a store's real address, for tests that cut
 * the network between clients and the store.
 *
 * `blackhole()` is a partition, not a refusal: every open connection stays open, nothing is
 * forwarded in either direction, and new connections are accepted but not forwarded, so
 * clients see calls that never answer (as across a dead switch), not errors. Nothing is
 * dropped: the proxy stops reading, so bytes wait in socket buffers, and `restore()`
 * delivers them in order (a partition that heals before TCP gives up); connections accepted
 * meanwhile are then connected to the target, and a close seen during the black-hole is
 * passed on. A client that gives up on its own (a driver timeout) and reconnects is what the
 * test is after.
 *
 * @example
 * const proxy = await TcpProxy.start({ host: "127.0.0.1", port: 6379 });
 * const url = `redis://${proxy.host}:${proxy.port}`;
 * proxy.blackhole();
 * proxy.restore();
 * await proxy.close();
 */
export class TcpProxy {
  readonly host = "127.0.0.1";
  readonly #target: TcpTarget;
  readonly #server: Server;
  readonly #links = new Set<Link>();
  /** Every socket not yet closed, ended ones included, so close() leaves none behind. */
  readonly #sockets = new Set<Socket>();
  #blackholed = false;
  /** Half-closes seen during a black-hole, passed on at restore. */
  readonly #heldEnds: Socket[] = [];
  #forwardedBytes = 0;

  private constructor(target: TcpTarget, server: Server) {
    this.#target = target;
    this.#server = server;
    server.on("connection", (client) => this.#accept(client));
  }

  /** Listen on 127.0.0.1 at a free port, forwarding to `target`. */
  static async start(target: TcpTarget): Promise<TcpProxy> {
    const server = createServer({ pauseOnConnect: true });
    const proxy = new TcpProxy(target, server);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    return proxy;
  }

  /** The port clients connect to. */
  get port(): number {
    const address = this.#server.address();
    if (address === null || typeof address === "string") throw new Error("proxy not listening");
    return address.port;
  }

  /** Where clients connect. */
  get address(): TcpTarget {
    return { host: this.host, port: this.port };
  }

  /** True between `blackhole()` and `restore()`. */
  get blackholed(): boolean {
    return this.#blackholed;
  }

  /** Client connections open now (forwarding or held by a black-hole). */
  get connections(): number {
    return this.#links.size;
  }

  /** Bytes forwarded so far, both directions: a black-hole must not move it. */
  get forwardedBytes(): number {
    return this.#forwardedBytes;
  }

  /** Stop forwarding in both directions and hold new connections; see the class notes. */
  blackhole(): void {
    this.#blackholed = true;
    for (const link of this.#links) {
      link.client.pause();
      link.upstream?.pause();
    }
  }

  /** End a black-hole: deliver what waited, connect held connections, pass on closes. */
  restore(): void {
    if (!this.#blackholed) return;
    this.#blackholed = false;
    for (const socket of this.#heldEnds.splice(0)) socket.end();
    for (const link of [...this.#links]) {
      if (link.closedDuringBlackhole !== null) {
        this.#passOnClose(link, link.closedDuringBlackhole);
      } else if (link.upstream === null) {
        this.#connect(link);
      } else {
        link.client.resume();
        link.upstream.resume();
      }
    }
  }

  /** Reset every connection (clients see ECONNRESET); new ones are forwarded as before. */
  resetAll(): void {
    for (const link of [...this.#links]) this.#drop(link);
  }

  /** Stop listening and reset every connection. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.resetAll();
    for (const socket of this.#sockets) socket.resetAndDestroy();
    await closed;
  }

  #track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on("error", () => undefined);
    socket.once("close", () => this.#sockets.delete(socket));
  }

  #accept(client: Socket): void {
    const link: Link = { client, upstream: null, closedDuringBlackhole: null };
    this.#links.add(link);
    this.#track(client);
    client.once("close", (hadError) => this.#closed(link, hadError));
    // pauseOnConnect: nothing is read from the client until its upstream exists.
    if (!this.#blackholed) this.#connect(link);
  }

  #connect(link: Link): void {
    const upstream = createConnection({ host: this.#target.host, port: this.#target.port });
    link.upstream = upstream;
    this.#track(upstream);
    upstream.once("close", (hadError) => this.#closed(link, hadError));
    this.#pipe(link.client, upstream);
    this.#pipe(upstream, link.client);
    link.client.resume();
  }

  /** Forward `from` to `to` with back-pressure, never resuming a source during a black-hole. */
  #pipe(from: Socket, to: Socket): void {
    from.on("data", (chunk: Buffer) => {
      this.#forwardedBytes += chunk.length;
      if (!to.write(chunk)) from.pause();
    });
    to.on("drain", () => {
      if (!this.#blackholed) from.resume();
    });
    // A paused socket still reports the peer's end (after its buffered data): hold it too.
    from.once("end", () => {
      if (this.#blackholed) this.#heldEnds.push(to);
      else to.end();
    });
  }

  #closed(link: Link, hadError: boolean): void {
    if (!this.#links.has(link)) return;
    if (this.#blackholed) {
      link.closedDuringBlackhole ??= hadError;
      return;
    }
    this.#passOnClose(link, hadError);
  }

  /**
   * One side closed: a reset (a crashed server, a refused connect) resets the other side; a
   * clean close ends it once what was written to it is flushed.
   */
  #passOnClose(link: Link, hadError: boolean): void {
    this.#links.delete(link);
    for (const socket of [link.client, link.upstream]) {
      if (socket === null || socket.destroyed) continue;
      if (hadError) socket.resetAndDestroy();
      else socket.end();
    }
  }

  #drop(link: Link): void {
    this.#links.delete(link);
    link.client.resetAndDestroy();
    link.upstream?.resetAndDestroy();
  }
}
