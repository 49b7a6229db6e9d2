import type { NewJob } from "@queueflow/core";

/** A valid NewJob for tests that talk to the adapter directly. */
export function job(queue: string, id: string, overrides: Partial<NewJob> = {}): NewJob {
  return {
    id,
    queue,
    name: "test",
    payload: null,
    priority: 5,
    maxAttempts: 3,
    backoff: null,
    timeoutMs: null,
    dedupKey: null,
    metadata: {},
    delayMs: 0,
    runAt: null,
    ...overrides,
  };
}

/** Poll `check` until it holds or the deadline passes (then throw). Never a fixed sleep. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
