import {
  createJobMetrics,
  createLogger,
  type Env,
  openStore,
  type StoreConfig,
} from "@queueflow/app-kit";
import { dropRedisNamespace, testNamespace, until } from "@queueflow/app-kit/test-support";
import { loadWorkerConfig, startWorkers, type WorkerRuntime } from "@queueflow/app-worker";
import { type StorageAdapter, UnrecoverableError, Worker } from "@queueflow/core";
import pg from "pg";
import { type Api, createApi } from "../src/app.js";
import { loadApiConfig } from "../src/config.js";
import type { JobView } from "../src/http/job-view.js";

export { until };

export const KEYS = {
  read: "read-key-0123456789abcdef",
  submit: "submit-key-0123456789abcdef",
  admin: "admin-key-0123456789abcdef",
};

export interface ErrorResponse {
  error: { code: string; message: string };
}

export interface JobResponse {
  created?: boolean;
  job: JobView;
}

export type StoreKind = "memory" | "redis" | "postgres" | "mongo";

/**
 * A store of this test's own: a fresh key prefix (Redis), schema (PostgreSQL) or collection
 * prefix (MongoDB).
 */
export function testStore(
  kind: StoreKind,
  url?: string,
): { config: StoreConfig; drop: () => Promise<void> } {
  const namespace = testNamespace();
  if (kind === "memory") return { config: { kind }, drop: async () => {} };
  if (kind === "redis") {
    const redisUrl = url ?? process.env.REDIS_URL!;
    return {
      config: { kind, url: redisUrl, namespace },
      drop: async () => {
        await dropRedisNamespace(redisUrl, namespace, { maxRetriesPerRequest: 1 });
      },
    };
  }
  if (kind === "mongo") {
    const mongoUrl = url ?? process.env.MONGO_URL!;
    const config: StoreConfig = { kind, url: mongoUrl, namespace };
    return {
      config,
      drop: async () => {
        // Through the adapter the app uses (its `database` is the driver's Db), so the test
        // needs no driver of its own; the kit prefixes collections with `<namespace>_`.
        const adapter = (await openStore(config)) as unknown as StorageAdapter & {
          database: {
            collections(): Promise<{ collectionName: string; drop(): Promise<unknown> }[]>;
          };
        };
        try {
          for (const c of await adapter.database.collections()) {
            if (c.collectionName.startsWith(`${namespace}_`)) await c.drop();
          }
        } finally {
          await adapter.close();
        }
      },
    };
  }
  const databaseUrl = process.env.DATABASE_URL!;
  return {
    config: { kind, url: databaseUrl, namespace },
    drop: async () => {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      await client.query(`drop schema if exists "${namespace}" cascade`);
      await client.end();
    },
  };
}

export interface Stack {
  url: string;
  api: Api;
  adapter: StorageAdapter;
  runtime: WorkerRuntime | null;
  /** fetch against the API with a key of `scope` (none: no key). */
  call<T = ErrorResponse>(
    path: string,
    init?: RequestInit & { scope?: keyof typeof KEYS | "none"; json?: unknown },
  ): Promise<{ status: number; body: T }>;
  close(): Promise<void>;
}

/**
 * The API on a random port and, unless `workers` is false, the worker runtime in the same
 * process on the same store object (the one-process mode of `pnpm start`).
 */
export async function startStack(o: {
  store: StoreConfig;
  env?: Env;
  workers?: boolean;
  drop?: () => Promise<void>;
}): Promise<Stack> {
  const env: Env = {
    PORT: "0",
    LOG_LEVEL: "silent",
    API_KEYS_READ: KEYS.read,
    API_KEYS_SUBMIT: KEYS.submit,
    API_KEYS_ADMIN: KEYS.admin,
    EVENTS_POLL_MS: "100",
    WORKER_CONCURRENCY: "2",
    // Suites send hundreds of requests a minute with one key; the limit tests set their own.
    RATE_LIMIT_MAX: "100000",
    RATE_LIMIT_JOBS_MAX: "1000000",
    RATE_LIMIT_READ_MAX: "100000",
    RATE_LIMIT_MANAGE_MAX: "100000",
    RATE_LIMIT_BULK_MAX: "100000",
    ...o.env,
  };
  const apiConfig = { ...loadApiConfig(env), store: o.store };
  const log = createLogger("test", "silent");
  const adapter = await openStore(o.store);
  const metrics = createJobMetrics();
  const runtime =
    o.workers === false
      ? null
      : startWorkers({
          config: { ...loadWorkerConfig(env), store: o.store },
          adapter,
          logger: log,
          metrics,
        });
  const api = await createApi({
    config: apiConfig,
    adapter,
    logger: log,
    metrics,
    ...(runtime ? { localWorkers: runtime.status } : {}),
  });
  for (const w of runtime?.workers ?? []) api.events.attachWorker(w);
  const url = await api.app.listen({ port: 0, host: "127.0.0.1" });
  return {
    url,
    api,
    adapter,
    runtime,
    async call<T>(
      path: string,
      init: RequestInit & { scope?: keyof typeof KEYS | "none"; json?: unknown } = {},
    ) {
      const { scope = "admin", json, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (scope !== "none") headers.set("x-api-key", KEYS[scope]);
      if (json !== undefined) headers.set("content-type", "application/json");
      const res = await fetch(`${url}${path}`, {
        ...rest,
        headers,
        ...(json === undefined ? {} : { body: JSON.stringify(json) }),
      });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON (metrics, docs)
      }
      return { status: res.status, body: body as T };
    },
    async close() {
      await runtime?.close(5_000);
      await api.app.close();
      await adapter.close();
      await o.drop?.();
    },
  };
}

/**
 * Submit `count` emails and let a worker of this test's own fail each one for good (class
 * `unrecoverable`), for a stack started without the app's workers. Returns their ids.
 */
export async function deadEmails(
  stack: Stack,
  count: number,
  subject = "doomed",
): Promise<string[]> {
  const submitted = await stack.call<{ jobs: JobResponse[] }>("/api/queues/emails/jobs", {
    method: "POST",
    json: {
      jobs: Array.from({ length: count }, () => ({
        name: "email.send",
        payload: { to: "a@example.com", subject },
      })),
    },
  });
  if (submitted.status !== 201) throw new Error(`submit failed: ${JSON.stringify(submitted.body)}`);
  const ids = submitted.body.jobs.map((j) => j.job.id);
  const worker = new Worker(
    "emails",
    {
      "email.send": async () => {
        throw new UnrecoverableError("mailbox gone");
      },
    },
    { adapter: stack.adapter, concurrency: 4, pollIntervalMs: 20 },
  );
  try {
    await until(async () => {
      const jobs = await Promise.all(ids.map((id) => stack.adapter.getJob("emails", id)));
      return jobs.every((j) => j?.state === "dead");
    }, `${count} dead emails`);
  } finally {
    await worker.close();
  }
  return ids;
}
