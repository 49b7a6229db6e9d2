/**
 * Agenda 6 (@agendajs/mongo-backend) on the same MongoDB-protocol server: `now()` (Agenda has
 * no bulk insert: batches of 1,000 concurrent `now()`), one Agenda instance per worker.
 */
import { MongoBackend, MongoChangeStreamNotificationChannel } from "@agendajs/mongo-backend";
import { Agenda } from "agenda";
import type { MongoClient } from "mongodb";
import {
  inBatches,
  installedVersion,
  type Library,
  PAYLOAD_200B,
  type Session,
  sleep,
  type WorkerHandle,
} from "../common.js";
import { mongoClient, mongoDropPrefix, mongoPrefixBytes } from "../mongo-util.js";

const JOB = "noop";
const PROCESS_EVERY_MS = 100;
/**
 * Jobs one worker may hold locked. Agenda's default 0 (no limit) has each scan lock the whole
 * backlog, one findOneAndUpdate at a time, before it runs any; = c refills at most c per
 * `processEvery`. Measured here (1,000 jobs): 10·c ran 83 and 210 jobs/s at c = 1 and 10,
 * against 10 and 93 with c and 13 and 235 with 50·c; 100 caps the lock-up at c = 100.
 */
const lockLimit = (c: number) => Math.max(c, Math.min(10 * c, 100));

/**
 * Lets running jobs finish (their final save must not meet a closed client), then stops; the
 * worker's MongoClient is closed by the session, after every Agenda on it.
 */
async function stopAgenda(agenda: Agenda): Promise<void> {
  await agenda.drain({ timeout: 10_000, closeConnection: false }).catch(() => {});
  await agenda.stop(false).catch(() => {});
  await sleep(PROCESS_EVERY_MS); // a queue fill under way ends at its lock limit
}

export async function agendaLibrary(url: string): Promise<Library> {
  const backendVersion = await installedVersion("@agendajs/mongo-backend");
  return {
    name: "Agenda",
    store: "mongo",
    version: await installedVersion("agenda"),
    settings: `@agendajs/mongo-backend ${backendVersion}, own collection per run; producer: an unstarted Agenda, \`now()\` per job (no bulk insert in Agenda: the bulk figure sends 1,000 concurrent \`now()\`); worker: its own Agenda and MongoClient, \`define()\` with \`concurrency\` = c, \`maxConcurrency\` = c, \`defaultConcurrency\` = c, \`lockLimit\` = max(c, min(10·c, 100)) (the default 0, no limit, locks the whole backlog one findOneAndUpdate at a time before running any: nothing completes within the deadline; = c refills only c per poll), \`processEvery\` ${PROCESS_EVERY_MS} ms, \`MongoChangeStreamNotificationChannel\` (change streams on the test server's oplog wake the worker on insert, as QueueFlow's wakeUp "auto" does); \`removeOnComplete\` off (default: completed jobs kept, as QueueFlow does)`,
    async open(runId): Promise<Session> {
      const prefix = `agb${runId}_`;
      const collection = `${prefix}jobs`;
      const admin = mongoClient(url);
      const db = admin.db();
      const clients: MongoClient[] = [];
      const agendas: Agenda[] = [];
      let closed = false;
      const producer = new Agenda({
        backend: new MongoBackend({ mongo: db, collection }),
        processEvery: PROCESS_EVERY_MS,
      });
      return {
        async addBulk(count) {
          await inBatches(count, 1000, async (n) => {
            await Promise.all(Array.from({ length: n }, () => producer.now(JOB, PAYLOAD_200B)));
          });
        },
        async addOne(count) {
          for (let i = 0; i < count; i++) await producer.now(JOB, PAYLOAD_200B);
        },
        async addPayload(payload) {
          await producer.now(JOB, payload);
        },
        async work(concurrency, onStart): Promise<WorkerHandle> {
          const client = mongoClient(url);
          clients.push(client);
          const wdb = client.db();
          const agenda = new Agenda({
            backend: new MongoBackend({ mongo: wdb, collection }),
            processEvery: PROCESS_EVERY_MS,
            maxConcurrency: concurrency,
            defaultConcurrency: concurrency,
            lockLimit: lockLimit(concurrency),
            notificationChannel: new MongoChangeStreamNotificationChannel({ db: wdb, collection }),
          });
          agendas.push(agenda);
          let settled = 0;
          agenda.define(
            JOB,
            async (job) => {
              onStart?.(job.attrs.data);
            },
            { concurrency },
          );
          // `complete` fires once the final state is stored (`success` fires before that).
          agenda.on("complete", () => {
            settled++;
          });
          // After close, a queue fill still under way meets the closed client: not a bench error.
          agenda.on("error", (error) => {
            if (!closed) process.stderr.write(`agenda: ${String(error)}\n`);
          });
          await agenda.start();
          return { settled: () => settled, close: () => stopAgenda(agenda) };
        },
        completed: () =>
          db.collection(collection).countDocuments({ name: JOB, lastFinishedAt: { $ne: null } }),
        footprint: () => mongoPrefixBytes(db, prefix),
        commandCalls: async () => null,
        async close() {
          closed = true;
          for (const agenda of agendas) await stopAgenda(agenda);
          await mongoDropPrefix(db, prefix);
          await admin.close();
          // Agenda leaves reads in flight after stop (un-awaited jobProcessing/unlock calls):
          // closing their client under them rejects with nobody listening, which ends the
          // process. With the collection dropped they come back empty; close a little later.
          setTimeout(() => {
            for (const client of clients) client.close().catch(() => {});
          }, 5_000).unref();
        },
      };
    },
  };
}
