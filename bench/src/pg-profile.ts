/**
 * pnpm --filter @queueflow/bench bench:pg-profile [--libraries QueueFlow,graphile-worker,pg-boss]
 *   [--concurrency 10] [--jobs 20000] [--out DIR]
 *
 * Where a PostgreSQL job queue spends its time: for each library (each at the settings the
 * main bench gives it), the same fill of no-op jobs is processed once and the run reports
 * jobs/s, this process's CPU per job (client side: driver, queue logic), the PostgreSQL
 * server's CPU per job (every `postgres` process of the machine, from /proc: meaningful on a
 * loopback server that nothing else uses). With pg_stat_statements loaded on the server it
 * also gives statements per job and each library's costliest statements (calls, rows,
 * execution time per job). Writes results/pg-profile.md.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { Pool } from "pg";
import { waitUntil } from "./common.js";
import { libraryByName } from "./libraries.js";
import { withSession } from "./measures.js";
import { ensurePostgres, postgresVersion, stopStartedServers } from "./servers.js";
import { pgPool } from "./store-util.js";

const { values } = parseArgs({
  options: {
    libraries: { type: "string", default: "QueueFlow,graphile-worker,pg-boss" },
    concurrency: { type: "string", default: "10" },
    jobs: { type: "string", default: "20000" },
    out: { type: "string", default: new URL("../results/", import.meta.url).pathname },
  },
});

const TICKS_PER_SECOND = 100;

/** CPU time (ms) used so far by every process of the machine whose command is `postgres`. */
function postgresCpuMs(): number {
  let ticks = 0;
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith("postgres")) continue;
      // Fields after the command's closing parenthesis; utime and stime are the 12th and 13th.
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return (ticks / TICKS_PER_SECOND) * 1000;
}

/** Zero pg_stat_statements' counters; false when the server does not load it. */
async function resetStatementStats(pool: Pool): Promise<boolean> {
  try {
    await pool.query("select pg_stat_statements_reset()");
    return true;
  } catch {
    return false;
  }
}

interface StatementCost {
  calls: number;
  rows: number;
  ms: number;
  query: string;
}

/** Every statement the library ran since the reset, costliest first. */
async function statementCosts(pool: Pool): Promise<StatementCost[]> {
  const { rows } = await pool.query<StatementCost>(`
    select calls::int, rows::int, total_exec_time::float8 as ms,
      left(regexp_replace(query, '\\s+', ' ', 'g'), 120) as query
    from pg_stat_statements
    where dbid = (select oid from pg_database where datname = current_database())
      and query not like '%pg_stat%'
    order by total_exec_time desc`);
  return rows;
}

interface Profile {
  library: string;
  jobsPerSecond: number;
  clientUsPerJob: number;
  serverUsPerJob: number;
  /** Null without pg_stat_statements on the server. */
  statementsPerJob: number | null;
  statements: StatementCost[] | null;
}

/** Longest a library may take over the fill; past it the profile fails instead of hanging. */
const DEADLINE_MS = 300_000;

async function profile(name: string, url: string, concurrency: number, jobs: number) {
  const lib = await libraryByName(name, "postgres", url);
  const admin = pgPool(url);
  try {
    return await withSession(lib, async (session): Promise<Profile> => {
      await session.addBulk(jobs);
      await session.afterFill?.();
      await session.prepareWork?.(concurrency);
      const statements = await resetStatementStats(admin);
      const server = postgresCpuMs();
      const client = process.cpuUsage();
      const started = performance.now();
      const worker = await session.work(concurrency);
      await waitUntil(
        `${lib.name} processing`,
        DEADLINE_MS,
        async () => (await worker.settled(jobs)) >= jobs,
      );
      const elapsed = performance.now() - started;
      const clientUsed = process.cpuUsage(client);
      const serverMs = postgresCpuMs() - server;
      await worker.close();
      const costs = statements ? await statementCosts(admin) : null;
      return {
        library: lib.name,
        jobsPerSecond: jobs / (elapsed / 1000),
        clientUsPerJob: (clientUsed.user + clientUsed.system) / jobs,
        serverUsPerJob: (serverMs * 1000) / jobs,
        statementsPerJob: costs === null ? null : costs.reduce((n, c) => n + c.calls, 0) / jobs,
        statements: costs === null ? null : costs.slice(0, 4),
      };
    });
  } finally {
    await admin.end();
  }
}

function markdown(results: Profile[], header: string, jobs: number): string {
  const lines = [
    "# PostgreSQL: where the time goes",
    "",
    header,
    "",
    "| library | jobs/s | client CPU µs/job | server CPU µs/job | statements/job |",
    "| --- | --- | --- | --- | --- |",
    ...results.map(
      (r) =>
        `| ${r.library} | ${Math.round(r.jobsPerSecond).toLocaleString("en-US")} | ${r.clientUsPerJob.toFixed(0)} | ${r.serverUsPerJob.toFixed(0)} | ${r.statementsPerJob?.toFixed(3) ?? "– (no pg_stat_statements)"} |`,
    ),
  ];
  for (const r of results) {
    if (r.statements === null) continue;
    lines.push("", `## ${r.library}: costliest statements`, "");
    lines.push("| calls | rows | exec µs/job | statement |", "| --- | --- | --- | --- |");
    for (const s of r.statements) {
      const query = s.query.replaceAll("|", "\\|");
      lines.push(
        `| ${s.calls} | ${s.rows} | ${((s.ms * 1000) / jobs).toFixed(1)} | \`${query}\` |`,
      );
    }
  }
  return `${lines.join("\n")}\n`;
}

async function main(): Promise<void> {
  const concurrency = Number(values.concurrency);
  const jobs = Number(values.jobs);
  const url = await ensurePostgres();
  const results: Profile[] = [];
  for (const name of values.libraries.split(",").map((s) => s.trim())) {
    const result = await profile(name, url, concurrency, jobs);
    process.stderr.write(`${result.library}: ${Math.round(result.jobsPerSecond)} jobs/s\n`);
    results.push(result);
  }
  const header = `${new Date().toISOString()} · ${await postgresVersion(url)} on loopback · Node ${process.version} · ${jobs.toLocaleString("en-US")} no-op jobs, concurrency ${concurrency}, one run each, settings as in latest.md`;
  const report = markdown(results, header, jobs);
  const out = values.out.endsWith("/") ? values.out : `${values.out}/`;
  writeFileSync(`${out}pg-profile.md`, report);
  console.log(report);
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => stopStartedServers());
