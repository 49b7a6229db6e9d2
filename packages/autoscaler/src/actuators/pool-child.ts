/** The IPC message a {@link ProcessPool} sends a child it retires. */
export const RETIRE_MESSAGE = { type: "queueflow:retire" } as const;

/** The part of a `Worker` a pool child needs. */
export interface ClosableWorker {
  close(timeoutMs?: number): Promise<void>;
}

/** The part of `process` a pool child uses; injectable for tests. */
export interface ChildProcessLike {
  on(event: "message", listener: (message: unknown) => void): unknown;
  once(event: "SIGTERM", listener: () => void): unknown;
  exit(code?: number): unknown;
}

/**
 * Call in a module a {@link ProcessPool} forks: on the pool's retire message (or SIGTERM),
 * close the worker, which stops claiming and waits for its running jobs, then exit 0.
 * Resolves when the worker has closed.
 * @example
 * const worker = new Worker("emails", handlers, { adapter, concurrency: 4 });
 * runPoolChild(worker);
 */
export function runPoolChild(
  worker: ClosableWorker,
  proc: ChildProcessLike = process,
): Promise<void> {
  return new Promise((resolve) => {
    let closing = false;
    const retire = () => {
      if (closing) return;
      closing = true;
      worker.close().then(
        () => {
          resolve();
          proc.exit(0);
        },
        () => {
          resolve();
          proc.exit(1);
        },
      );
    };
    proc.on("message", (message) => {
      if (
        typeof message === "object" &&
        message !== null &&
        (message as { type?: unknown }).type === RETIRE_MESSAGE.type
      ) {
        retire();
      }
    });
    proc.once("SIGTERM", retire);
  });
}
