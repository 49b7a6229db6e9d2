/** Measurement and clean-up helpers on the MongoDB-protocol server (not on any library). */
import { type Db, MongoClient } from "mongodb";

export function mongoClient(url: string): MongoClient {
  return new MongoClient(url, { serverSelectionTimeoutMS: 10_000 });
}

/** Data + index bytes of the collections named `prefix…` (collStats); NaN if not served. */
export async function mongoPrefixBytes(db: Db, prefix: string): Promise<number> {
  try {
    let total = 0;
    for (const c of await db.listCollections({}, { nameOnly: true }).toArray()) {
      if (!c.name.startsWith(prefix)) continue;
      const s = await db.command({ collStats: c.name });
      const size = Number(s.size ?? Number.NaN);
      total += size + Number(s.totalIndexSize ?? 0);
    }
    return total;
  } catch {
    return Number.NaN;
  }
}

export async function mongoDropPrefix(db: Db, prefix: string): Promise<void> {
  for (const c of await db.listCollections({}, { nameOnly: true }).toArray()) {
    if (c.name.startsWith(prefix)) await db.dropCollection(c.name).catch(() => {});
  }
}

/** What the server says it is: mongo-java-server answers buildInfo with a MongoDB version. */
export async function mongoVersion(url: string): Promise<string> {
  const client = mongoClient(url);
  try {
    const info = await client.db("admin").command({ buildInfo: 1 });
    return `mongo-java-server test server (reports MongoDB ${String(info.version ?? "?")})`;
  } catch {
    return "mongo-java-server test server";
  } finally {
    await client.close();
  }
}
