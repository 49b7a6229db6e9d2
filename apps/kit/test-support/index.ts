/**
 * What the apps' tests share (`@queueflow/app-kit/test-support`): an app run as its own
 * process, waiting on a condition, and a Redis key prefix of a test's own. Test code only:
 * nothing under src/ imports it.
 */
import { type ChildProcessByStdio, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import { Redis, type RedisOptions } from "ioredis";

export interface AppProcess {
  child: ChildProcessByStdio<null, Readable, Readable>;
  /** Resolves with the exit code (null when a signal ended it). */
  exited: Promise<number | null>;
  /** stdout and stderr together, in the order they came. */
  output(): string;
  stdout(): string;
  stderr(): string;
  /** The JSON log lines of {@link output}. */
  logs<T = Record<string, unknown>>(): T[];
}

/**
 * One app as its own process (`node --import tsx <main>`), as it runs in a container, with
 * `env` over this process's environment.
 */
export function startApp(main: string, env: Record<string, string>): AppProcess {
  const child = spawn(process.execPath, ["--import", "tsx", main], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c) => {
    output += c;
    stdout += c;
  });
  child.stderr.on("data", (c) => {
    output += c;
    stderr += c;
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  return {
    child,
    exited,
    output: () => output,
    stdout: () => stdout,
    stderr: () => stderr,
    logs: <T>() =>
      output
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as T),
  };
}

/** SIGTERM the process unless it already exited; resolves with its exit code. */
export async function stopApp(p: Pick<AppProcess, "child" | "exited">): Promise<number | null> {
  if (p.child.exitCode === null) p.child.kill("SIGTERM");
  return p.exited;
}

/**
 * Wait until `check` returns a value other than undefined/false (checking every `everyMs`),
 * or fail after `ms`: no sleep stands in for an outcome.
 */
export async function until<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  ms = 20_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value as T;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** A fresh key prefix, schema or collection prefix for one test's store. */
export function testNamespace(): string {
  return `qft_${randomUUID().replace(/-/g, "").slice(0, 12)}`;
}

/** Delete every key under `<namespace>:` on the Redis at `url`. */
export async function dropRedisNamespace(
  url: string,
  namespace: string,
  options: RedisOptions = {},
): Promise<void> {
  const client = new Redis(url, options);
  let cursor = "0";
  do {
    const [next, keys] = await client.scan(cursor, "MATCH", `${namespace}:*`, "COUNT", 1000);
    for (const key of keys) await client.unlink(key);
    cursor = next;
  } while (cursor !== "0");
  client.disconnect();
}
