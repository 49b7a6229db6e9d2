import { newJob } from "@queueflow/adapter-tests";
import { isQueueFlowError } from "@queueflow/core";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_PREFIX, MongoAdapter } from "../src/index.js";
import { dropPrefix, mongoUrl, testPrefix } from "./helpers.js";

const url = mongoUrl();

describe("MongoAdapter connection options", () => {
  const client = new MongoClient(url);
  const prefixes: string[] = [];
  const prefix = (tag: string): string => {
    const p = testPrefix(tag);
    prefixes.push(p);
    return p;
  };

  beforeAll(() => client.connect());
  afterAll(async () => {
    for (const p of prefixes) await dropPrefix(url, p);
    await client.close();
  });

  it("defaults the prefix to qf_", () => {
    expect(DEFAULT_PREFIX).toBe("qf_");
    expect(new MongoAdapter({ connection: url }).prefix).toBe("qf_");
  });

  it("works from a connection string and closes the client it created", async () => {
    const adapter = new MongoAdapter({ connection: url, prefix: prefix("str") });
    await adapter.connect();
    await adapter.enqueue([newJob("opts", { id: "s1" })]);
    expect((await adapter.getJob("opts", "s1"))?.id).toBe("s1");
    await adapter.close();
    expect((await adapter.health()).ok).toBe(false);
  });

  it("works from a MongoClient and leaves it open on close", async () => {
    const p = prefix("client");
    const adapter = new MongoAdapter({ connection: client, prefix: p });
    await adapter.connect();
    await adapter.enqueue([newJob("opts", { id: "c1" })]);
    await adapter.close();
    // The client still works: read the job straight from the collection.
    const doc = await client.db().collection(`${p}jobs`).findOne({ id: "c1" });
    expect(doc?.queue).toBe("opts");
  });

  it("works from a Db and leaves its client open on close", async () => {
    const p = prefix("db");
    const db = client.db();
    const adapter = new MongoAdapter({ connection: db, prefix: p });
    await adapter.connect();
    await adapter.enqueue([newJob("opts", { id: "d1" })]);
    await adapter.close();
    expect(await db.collection(`${p}jobs`).countDocuments({ queue: "opts" })).toBe(1);
  });

  it("keeps adapters with different prefixes apart", async () => {
    const a = new MongoAdapter({ connection: client, prefix: prefix("a") });
    const b = new MongoAdapter({ connection: client, prefix: prefix("b") });
    await a.connect();
    await b.connect();
    await a.enqueue([newJob("shared", { id: "only-in-a" })]);
    expect(await b.getJob("shared", "only-in-a")).toBeNull();
    expect((await a.counts("shared")).waiting).toBe(1);
    await a.close();
    await b.close();
  });

  it("creates its indexes idempotently: a second adapter on the same collections connects", async () => {
    const p = prefix("idx");
    const first = new MongoAdapter({ connection: client, prefix: p });
    const second = new MongoAdapter({ connection: client, prefix: p });
    await Promise.all([first.connect(), second.connect()]);
    const names = (await client.db().collection(`${p}jobs`).indexes()).map((i) => i.name);
    expect(names).toEqual(expect.arrayContaining(["claim_order", "state_seq"]));
    await first.close();
    await second.close();
  });

  it("rejects a bad prefix, a bad wakeUp mode and a missing connection", () => {
    for (const options of [
      { connection: url, prefix: "bad prefix!" },
      { connection: url, wakeUp: "sometimes" },
      { connection: 42 },
    ]) {
      let thrown: unknown = null;
      try {
        new MongoAdapter(options as unknown as ConstructorParameters<typeof MongoAdapter>[0]);
      } catch (err) {
        thrown = err;
      }
      expect(isQueueFlowError(thrown, "QF_INVALID_ARGUMENT")).toBe(true);
    }
  });

  it("detects change streams: wakeUp auto on the oplog server, and poll forced", async () => {
    const auto = new MongoAdapter({ connection: client, prefix: prefix("auto") });
    const poll = new MongoAdapter({ connection: client, prefix: prefix("poll"), wakeUp: "poll" });
    await auto.connect();
    await poll.connect();
    // MONGO_URL is the change-stream server (the oplog test server, or a replica set).
    expect(auto.capabilities.wakeUp).toBe(true);
    expect(poll.capabilities.wakeUp).toBe(false);
    await auto.close();
    await poll.close();
  });

  it("with wakeUp auto, streams only where the server holds an empty read; change-stream always", async () => {
    // What the server does with maxAwaitTimeMS, measured directly: MongoDB holds the read,
    // the test server answers at once.
    const probe = client
      .db()
      .collection(`${prefix("probe")}jobs`)
      .watch([], {
        maxAwaitTimeMS: 3_000,
      });
    const t0 = Date.now();
    await probe.tryNext();
    const holds = Date.now() - t0 >= 2_000;
    await probe.close();

    // The verdict is internal state: read it through the adapter's private wake-up.
    const wakeOf = (a: MongoAdapter) =>
      (a as unknown as { wake: { mode: "checking" | "streaming" | "polling" } }).wake;
    const auto = new MongoAdapter({ connection: client, prefix: prefix("await") });
    const forced = new MongoAdapter({
      connection: client,
      prefix: prefix("forced"),
      wakeUp: "change-stream",
    });
    await auto.connect();
    await forced.connect();
    try {
      expect(wakeOf(forced).mode).toBe("streaming");
      expect(wakeOf(auto).mode).toBe("checking");
      // Waiting starts the check; the verdict arrives within a few reads.
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && wakeOf(auto).mode === "checking") {
        await auto.waitForWork("await-check", 500, new AbortController().signal);
      }
      expect(wakeOf(auto).mode).toBe(holds ? "streaming" : "polling");
    } finally {
      await auto.close();
      await forced.close();
    }
  });

  it("refuses wakeUp change-stream on a server without change streams", async () => {
    const noOplog = process.env.MONGO_URL_NO_OPLOG;
    // Without the no-oplog test server there is nothing to refuse; the check then runs the
    // opposite way (the oplog server must accept it), so the test still asserts something.
    const target = noOplog !== undefined && noOplog !== "" ? noOplog : url;
    const adapter = new MongoAdapter({
      connection: target,
      prefix: prefix("cs"),
      wakeUp: "change-stream",
    });
    const err = await adapter.connect().then(
      () => null,
      (e: unknown) => e,
    );
    await adapter.close();
    if (target === url) expect(err).toBeNull();
    else expect(isQueueFlowError(err, "QF_NOT_SUPPORTED")).toBe(true);
    if (target !== url) await dropPrefix(target, adapter.prefix);
  });
});
