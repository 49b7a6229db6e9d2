import { randomUUID } from "node:crypto";
import { MongoClient } from "mongodb";
import { collectionNames } from "../src/index.js";

/** The server under test (global-setup.ts fails the run when it is unset). */
export function mongoUrl(): string {
  const url = process.env.MONGO_URL;
  if (url === undefined || url === "") throw new Error("MONGO_URL is not set");
  return url;
}

/**
 * A server without change streams for the polling path: MONGO_URL_NO_OPLOG when set (the
 * test script starts one), else MONGO_URL with wake-up forced to polling (a real MongoDB
 * replica set always has change streams).
 */
export function pollingTarget(): { url: string; forced: boolean } {
  const url = process.env.MONGO_URL_NO_OPLOG;
  if (url !== undefined && url !== "") return { url, forced: false };
  return { url: mongoUrl(), forced: true };
}

/** A collection prefix no other run uses. */
export function testPrefix(tag: string): string {
  return `t${randomUUID().replace(/-/g, "").slice(0, 10)}_${tag}_`;
}

/** Drop every collection of `prefix` on `url`. */
export async function dropPrefix(url: string, prefix: string): Promise<void> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5_000 });
  try {
    const db = client.db();
    const existing = new Set(
      (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name),
    );
    for (const name of Object.values(collectionNames(prefix))) {
      if (existing.has(name)) await db.collection(name).drop();
    }
  } finally {
    await client.close();
  }
}

/** Poll `check` until it holds or the deadline passes (then throw). Never a fixed sleep. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
