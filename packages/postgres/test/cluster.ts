import { execFile } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "@queueflow/adapter-tests";

const run = promisify(execFile);
/** The unprivileged owner scripts/servers/postgres.sh creates when tests run as root. */
const OWNER = "queueflow";

/** A private PostgreSQL cluster a test may restart or crash without disturbing the others. */
export interface ThrowawayCluster {
  url: string;
  /** The role the URL connects as (the cluster's superuser). */
  user: string;
  port: number;
  /** A clean restart (`pg_ctl restart -m fast`). */
  restart(): Promise<void>;
  /** `pg_ctl stop -m immediate`: no checkpoint, no goodbye to clients, WAL replay on start. */
  crash(): Promise<void>;
  /** Start it again after `crash()`; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stop it and delete its files. */
  stop(): Promise<void>;
}

export interface ThrowawayClusterOptions {
  /**
   * Keep PostgreSQL's durable defaults (fsync on). Off by default: a test that only restarts
   * the server cleanly needs no fsync, and initdb and every commit are faster without it.
   */
  durable?: boolean;
}

function binDir(): string {
  const root = "/usr/lib/postgresql";
  const majors = existsSync(root)
    ? readdirSync(root)
        .filter((d) => /^\d+$/.test(d) && existsSync(join(root, d, "bin", "pg_ctl")))
        .sort((x, y) => Number(y) - Number(x))
    : [];
  if (majors[0] === undefined) {
    throw new Error(
      "No PostgreSQL binaries in /usr/lib/postgresql/*/bin: run `bash scripts/servers/postgres.sh up` once (it installs them).",
    );
  }
  return join(root, majors[0], "bin");
}

async function uidOf(user: string): Promise<{ uid: number; gid: number }> {
  const { stdout: uid } = await run("id", ["-u", user]);
  const { stdout: gid } = await run("id", ["-g", user]);
  return { uid: Number(uid), gid: Number(gid) };
}

/** initdb + start a cluster in a temp dir (as the unprivileged owner when we are root). */
export async function startThrowawayCluster(
  options: ThrowawayClusterOptions = {},
): Promise<ThrowawayCluster> {
  const durable = options.durable === true;
  const bin = binDir();
  const root = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), "qf-pg-restart-"));
  if (root) {
    const { uid, gid } = await uidOf(OWNER);
    chownSync(dir, uid, gid);
  }
  const asOwner = (cmd: string, args: string[]) =>
    root
      ? run("runuser", ["-u", OWNER, "--", join(bin, cmd), ...args], { cwd: "/" })
      : run(join(bin, cmd), args);
  const data = join(dir, "data");
  const port = await freePort();
  const user = root ? OWNER : (await run("id", ["-un"])).stdout.trim();
  await asOwner("initdb", [
    "-D",
    data,
    "-U",
    user,
    "--auth=trust",
    ...(durable ? [] : ["--no-sync"]),
  ]);
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1${durable ? "" : " -c fsync=off"}`;
  const pgCtl = (...args: string[]) =>
    asOwner("pg_ctl", ["-D", data, "-l", join(dir, "log"), "-o", opts, "-w", "-t", "60", ...args]);
  await pgCtl("start");
  return {
    url: `postgres://${user}@127.0.0.1:${port}/postgres`,
    user,
    port,
    restart: async () => {
      await pgCtl("-m", "fast", "restart");
    },
    crash: async () => {
      await pgCtl("-m", "immediate", "stop");
    },
    start: async () => {
      await pgCtl("start");
    },
    stop: async () => {
      await pgCtl("-m", "immediate", "stop").catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
