// Cost of @queueflow/otel when no OpenTelemetry SDK is registered: 50k no-op jobs on the
// memory adapter, added one `add` at a time and run by a worker of concurrency 100, with and
// without the middleware. Rounds alternate so drift (GC, JIT, thermal) hits both sides alike;
// medians are reported. Run after `pnpm build`: `pnpm --filter @queueflow/otel bench`.
import { MemoryAdapter, Queue, Worker } from "@queueflow/core";
import { createInstrumentation } from "../dist/index.js";

const JOBS = Number(process.env.JOBS ?? 50_000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const otel = createInstrumentation();

async function run(instrumented, round) {
  const adapter = new MemoryAdapter();
  const name = `bench-${instrumented ? "otel" : "bare"}-${round}`;
  const middleware = instrumented ? [otel.middleware] : [];
  const queue = new Queue(name, { adapter, middleware });
  const t0 = performance.now();
  for (let i = 0; i < JOBS; i++) await queue.add("noop", { i });
  const t1 = performance.now();
  let done = 0;
  const finished = new Promise((resolve) => {
    const worker = new Worker(
      name,
      {
        noop: () => {
          done += 1;
          if (done === JOBS) setImmediate(() => resolve(worker));
          return null;
        },
      },
      { adapter, middleware, concurrency: 100 },
    );
  });
  const worker = await finished;
  const t2 = performance.now();
  await worker.close();
  const counts = await queue.counts();
  if (counts.completed !== JOBS) throw new Error(`only ${counts.completed} of ${JOBS} completed`);
  return { add: JOBS / ((t1 - t0) / 1000), process: JOBS / ((t2 - t1) / 1000), total: t2 - t0 };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = { bare: [], otel: [] };
await run(false, -1); // warm-up, both paths
await run(true, -1);
for (let r = 0; r < ROUNDS; r++) {
  const first = r % 2 === 0;
  results[first ? "bare" : "otel"].push(await run(!first, r));
  results[first ? "otel" : "bare"].push(await run(first, r));
}
const summary = {};
for (const side of ["bare", "otel"]) {
  summary[side] = {
    "add jobs/s": Math.round(median(results[side].map((x) => x.add))),
    "process jobs/s": Math.round(median(results[side].map((x) => x.process))),
    "total ms": Math.round(median(results[side].map((x) => x.total))),
  };
}
console.log(`${JOBS} no-op jobs, memory adapter, no SDK registered, median of ${ROUNDS} rounds`);
console.table(summary);
console.log(
  `throughput with/without instrumentation: add ${(summary.otel["add jobs/s"] / summary.bare["add jobs/s"]).toFixed(3)}, ` +
    `process ${(summary.otel["process jobs/s"] / summary.bare["process jobs/s"]).toFixed(3)}, ` +
    `end to end ${(summary.bare["total ms"] / summary.otel["total ms"]).toFixed(3)}`,
);
