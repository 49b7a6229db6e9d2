#!/usr/bin/env node
// Redis memory per waiting job: adds N jobs with a 200-byte JSON payload through the built
// adapter (dist/) and reports the growth of INFO memory's used_memory, plus MEMORY USAGE of
// one job's keys. For reference it writes the same N jobs in an approximation of BullMQ 5's
// waiting-job layout (its storeJob: a hash of name, data, opts, timestamp, delay, priority;
// the id pushed on the wait list; an "added" entry on the events stream trimmed to ~10,000),
// with BullMQ's short counter ids. The real BullMQ comparison belongs in bench/.
//
//   REDIS_URL=redis://127.0.0.1:6390 node scripts/measure-memory.mjs [jobs=10000]
//
// Uses throwaway key prefixes and deletes them afterwards; run it on an otherwise idle server.
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { RedisAdapter } from "../dist/index.js";

const url = process.env.REDIS_URL;
if (!url) {
  console.error('Set REDIS_URL (e.g. eval "$(bash scripts/servers/redis.sh up)").');
  process.exit(1);
}
const total = Number(process.argv[2] ?? 10_000);
const client = new Redis(url);

/** A JSON payload of exactly `bytes` bytes. */
function payload(bytes) {
  const shell = JSON.stringify({ to: "user@example.com", body: "" });
  return { to: "user@example.com", body: "x".repeat(bytes - shell.length) };
}
const data = payload(200);
if (JSON.stringify(data).length !== 200) throw new Error("payload is not 200 bytes");

async function usedMemory() {
  const info = await client.info("memory");
  return Number(/used_memory:(\d+)/.exec(info)[1]);
}

async function deletePrefix(prefix) {
  let cursor = "0";
  do {
    const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    for (const key of keys) await client.unlink(key);
    cursor = next;
  } while (cursor !== "0");
}

async function measure(label, prefix, add) {
  await deletePrefix(prefix);
  const before = await usedMemory();
  await add();
  const after = await usedMemory();
  const perJob = (after - before) / total;
  console.log(
    `${label}: ${Math.round(perJob)} bytes per waiting job (used_memory delta / ${total})`,
  );
  return perJob;
}

const prefix = `qfmem${randomUUID().slice(0, 6)}`;
const adapter = new RedisAdapter({ url, prefix });
await adapter.connect();
const queue = "emails";
let sampleId = "";
await measure("queueflow", prefix, async () => {
  for (let i = 0; i < total; i += 500) {
    const jobs = [];
    for (let j = i; j < Math.min(total, i + 500); j++) {
      jobs.push({
        id: randomUUID(),
        queue,
        name: "email.send",
        payload: data,
        priority: 5,
        maxAttempts: 3,
        backoff: null,
        timeoutMs: null,
        dedupKey: null,
        metadata: {},
        delayMs: 0,
        runAt: null,
      });
    }
    sampleId = jobs[0].id;
    await adapter.enqueue(jobs);
  }
});
const base = `${prefix}:{${queue}}:`;
const usage = async (key) => (await client.call("MEMORY", "USAGE", key, "SAMPLES", "0")) ?? 0;
console.log(
  `  one job hash: ${await usage(`${base}job:${sampleId}`)} bytes (encoding ${await client.object("ENCODING", `${base}job:${sampleId}`)})`,
);
console.log(`  ready zset: ${Math.round((await usage(`${base}ready`)) / total)} bytes per job`);
console.log(
  `  waiting index zset: ${Math.round((await usage(`${base}state:waiting`)) / total)} bytes per job`,
);
await adapter.close();
await deletePrefix(prefix);

// BullMQ numbers its jobs by default (short ids); QueueFlow's core gives every job a UUID.
// Both id styles are measured, since the id is stored once per key and once per list entry.
for (const [label, makeId] of [
  ["counter ids", (n) => String(n)],
  ["UUID ids", () => randomUUID()],
]) {
  const bull = `bullish${randomUUID().slice(0, 6)}:emails:`;
  let sample = "";
  await measure(`BullMQ-like layout (approximation), ${label}`, bull, async () => {
    for (let i = 0; i < total; i += 500) {
      const pipeline = client.pipeline();
      for (let j = i; j < Math.min(total, i + 500); j++) {
        const id = makeId(j + 1);
        sample = id;
        pipeline.hset(`${bull}${id}`, {
          name: "email.send",
          data: JSON.stringify(data),
          opts: JSON.stringify({ attempts: 3 }),
          timestamp: String(Date.now()),
          delay: "0",
          priority: "0",
        });
        pipeline.lpush(`${bull}wait`, id);
        pipeline.xadd(
          `${bull}events`,
          "MAXLEN",
          "~",
          "10000",
          "*",
          "event",
          "added",
          "jobId",
          id,
          "name",
          "email.send",
        );
      }
      pipeline.set(`${bull}id`, String(Math.min(total, i + 500)));
      await pipeline.exec();
    }
  });
  console.log(`  one job hash: ${await usage(`${bull}${sample}`)} bytes`);
  await deletePrefix(bull);
}
client.disconnect();
