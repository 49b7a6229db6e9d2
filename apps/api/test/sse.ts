import type { LiveEvent } from "../src/events.js";

export interface EventStream {
  events: LiveEvent[];
  /** Resolve with the first event (seen so far or later) matching `predicate`. */
  next(predicate: (e: LiveEvent) => boolean, what: string, ms?: number): Promise<LiveEvent>;
  close(): void;
}

/** Open GET /api/events and collect its events as they arrive. */
export async function openEvents(url: string, key: string, query: string): Promise<EventStream> {
  const controller = new AbortController();
  const res = await fetch(`${url}/api/events?${query}`, {
    headers: { "x-api-key": key, accept: "text/event-stream" },
    signal: controller.signal,
  });
  if (res.status !== 200 || !res.body)
    throw new Error(`events: HTTP ${res.status}: ${await res.text()}`);
  const events: LiveEvent[] = [];
  const waiters = new Set<() => void>();
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split("\n").find((l) => l.startsWith("data: "));
          if (data) events.push(JSON.parse(data.slice(6)) as LiveEvent);
        }
        for (const wake of waiters) wake();
      }
    } catch {
      // aborted by close()
    }
  })();
  return {
    events,
    next(predicate, what, ms = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find(predicate);
          if (!found) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `no ${what} event within ${ms} ms; got: ${events.map((e) => e.type).join(", ")}`,
            ),
          );
        }, ms);
        waiters.add(check);
        check();
      });
    },
    close: () => controller.abort(),
  };
}
