import { MongoClient } from "mongodb";

async function ping(url: string, variable: string): Promise<void> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5_000 });
  try {
    await client.db("admin").command({ ping: 1 });
  } catch (err) {
    throw new Error(`${variable}=${url} does not answer a ping: ${(err as Error).message}`);
  } finally {
    await client.close();
  }
}

/** Fail the whole run with an actionable message unless MONGO_URL answers a ping. */
export default async function setup(): Promise<void> {
  const url = process.env.MONGO_URL;
  if (url === undefined || url === "") {
    throw new Error(
      'MONGO_URL is not set: the @queueflow/mongo tests need a MongoDB server. Run `eval "$(bash scripts/servers/mongo.sh up)"` from the repository root, or set MONGO_URL (and optionally MONGO_URL_NO_OPLOG).',
    );
  }
  await ping(url, "MONGO_URL");
  const noOplog = process.env.MONGO_URL_NO_OPLOG;
  if (noOplog !== undefined && noOplog !== "") await ping(noOplog, "MONGO_URL_NO_OPLOG");
}
