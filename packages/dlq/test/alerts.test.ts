import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  type AlertEvaluation,
  type AlertEvent,
  DeadLetterAlerts,
  type DeadLetterAlertsOptions,
  DeadLetters,
  logNotifier,
} from "../src/index.js";
import { HOUR, INVALID, killMany, memory, specs } from "./helpers.js";

const MINUTE = 60_000;

beforeEach(() => {
  vi.useFakeTimers({ now: Date.UTC(2025, 0, 1) });
});
afterEach(() => {
  vi.useRealTimers();
});

/** Alerts on a fake-timer store, with a way to await the next evaluation. */
async function harness(options: Omit<DeadLetterAlertsOptions, "intervalMs" | "notifiers">) {
  const adapter = await memory(() => Date.now());
  const dlq = new DeadLetters({ adapter, queues: ["a", "b"] });
  const events: AlertEvent[] = [];
  const evaluations: AlertEvaluation[] = [];
  let waiter: (() => void) | undefined;
  const alerts = new DeadLetterAlerts(dlq, {
    ...options,
    intervalMs: MINUTE,
    notifiers: [async (e) => void events.push(e)],
    onEvaluate: (e) => {
      evaluations.push(e);
      waiter?.();
    },
  });
  let n = 0;
  const kill = (queue: string, count: number) =>
    killMany(
      adapter,
      queue,
      specs(`k${n++}-`, count, () => ({ errorClass: "timeout" })),
    );
  /** Let the next timer-driven evaluation run and finish. */
  const tick = async () => {
    const done = new Promise<void>((r) => (waiter = r));
    await vi.advanceTimersByTimeAsync(MINUTE);
    await done;
  };
  const start = async () => {
    const done = new Promise<void>((r) => (waiter = r));
    alerts.start();
    await done;
  };
  return { adapter, dlq, alerts, events, evaluations, kill, tick, start };
}

describe("alerts", () => {
  it("fires once when the count crosses, and resolves once below the resolve threshold", async () => {
    const h = await harness({ count: { fireAt: 10, resolveBelow: 5 } });
    await h.start();
    expect(h.events).toEqual([]);

    await h.kill("a", 6);
    await h.kill("b", 4);
    await h.tick();
    expect(h.events).toMatchObject([
      {
        rule: "count",
        status: "firing",
        value: 10,
        fireAt: 10,
        total: 10,
        byQueue: { a: 6, b: 4 },
      },
    ]);
    expect(h.alerts.firing).toEqual(["count"]);

    await h.kill("a", 5);
    await h.tick();
    await h.tick();
    expect(h.events).toHaveLength(1); // still above: no repeat

    await h.dlq.purge({ filter: { queue: "a" }, maxJobs: 9 }); // 15 -> 6: under fireAt, not under 5
    await h.tick();
    expect(h.events).toHaveLength(1);

    await h.dlq.purge({ filter: { queue: "a" } }); // 6 -> 4
    await h.tick();
    await h.tick();
    expect(h.events.map((e) => [e.status, e.value])).toEqual([
      ["firing", 10],
      ["resolved", 4],
    ]);
    expect(h.events[1]?.message).toContain("below 5");
    expect(h.alerts.firing).toEqual([]);
    await h.alerts.stop();
  });

  it("alerts on growth per interval", async () => {
    const h = await harness({ growth: { fireAt: 20, resolveBelow: 5 } });
    await h.start();
    expect(h.evaluations[0]?.growth).toBeNull();

    await h.kill("a", 12);
    await h.tick();
    expect(h.evaluations.at(-1)?.growth).toBe(12);
    expect(h.events).toEqual([]);

    await h.kill("b", 25);
    await h.tick();
    expect(h.events).toMatchObject([{ rule: "growth", status: "firing", value: 25 }]);

    await h.kill("a", 6); // still growing at 6 per interval: not resolved
    await h.tick();
    await h.kill("a", 4);
    await h.tick();
    expect(h.evaluations.slice(-2).map((e) => e.growth)).toEqual([6, 4]);
    expect(h.events.map((e) => [e.status, e.value])).toEqual([
      ["firing", 25],
      ["resolved", 4],
    ]);
    await h.alerts.stop();
  });

  it("alerts on the age of the oldest dead job", async () => {
    const h = await harness({ oldestAgeMs: { fireAt: HOUR } });
    await h.kill("a", 1);
    await h.start();
    for (let i = 0; i < 59; i++) await h.tick();
    expect(h.events).toEqual([]);
    await h.tick();
    expect(h.events).toMatchObject([{ rule: "oldest_age", status: "firing", value: HOUR }]);
    await h.dlq.purge();
    await h.tick();
    expect(h.events.map((e) => e.status)).toEqual(["firing", "resolved"]);
    await h.alerts.stop();
  });

  it("keeps evaluating when a notifier or the store fails, reporting to onError", async () => {
    const adapter = await memory(() => Date.now());
    const dlq = new DeadLetters({ adapter, queues: ["a"] });
    const errors: [unknown, string][] = [];
    const delivered: AlertEvent[] = [];
    const alerts = new DeadLetterAlerts(dlq, {
      count: { fireAt: 1 },
      intervalMs: MINUTE,
      notifiers: [
        async () => {
          throw new Error("webhook down");
        },
        async (e) => void delivered.push(e),
      ],
      onError: (error, context) => errors.push([error, context.phase]),
    });
    await killMany(adapter, "a", [{ id: "x" }]);
    const fired = await alerts.evaluate();
    expect(fired?.events).toHaveLength(1);
    expect(delivered).toHaveLength(1);
    expect(errors).toEqual([[expect.objectContaining({ message: "webhook down" }), "notify"]]);

    vi.spyOn(adapter, "deadLetterStats").mockRejectedValueOnce(new Error("store down"));
    expect(await alerts.evaluate()).toBeNull();
    expect(errors[1]?.[1]).toBe("stats");
    expect(alerts.firing).toEqual(["count"]); // state kept through the failure
    await dlq.purge();
    expect((await alerts.evaluate())?.events.map((e) => e.status)).toEqual(["resolved"]);
  });

  it("logs firing at warn and resolved at info", async () => {
    const logger = { warn: vi.fn(), info: vi.fn() };
    const notify = logNotifier(logger);
    const event = {
      rule: "count",
      status: "firing",
      value: 3,
      fireAt: 3,
      resolveBelow: 3,
      at: 0,
      total: 3,
      byQueue: { a: 3 },
      message: "Dead letters: 3",
    } as const;
    await notify(event);
    await notify({ ...event, status: "resolved" });
    expect(logger.warn).toHaveBeenCalledWith(event, "Dead letters: 3");
    expect(logger.info).toHaveBeenCalledTimes(1);
  });

  it("rejects bad thresholds", async () => {
    const dlq = new DeadLetters({ adapter: await memory(), queues: ["a"] });
    const make = (o: Partial<DeadLetterAlertsOptions>) => () =>
      new DeadLetterAlerts(dlq, { intervalMs: MINUTE, notifiers: [], ...o });
    expect(make({})).toThrow(expect.objectContaining(INVALID));
    expect(make({ count: { fireAt: 5, resolveBelow: 6 } })).toThrow(
      expect.objectContaining(INVALID),
    );
    expect(make({ count: { fireAt: Number.NaN } })).toThrow(expect.objectContaining(INVALID));
    expect(make({ count: { fireAt: 1 }, intervalMs: -1 })).toThrow(
      expect.objectContaining(INVALID),
    );
  });
});
