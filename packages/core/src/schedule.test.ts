import { describe, expect, it } from "vitest";
import { buildSchedule, firingJobId, followingRun, nextRunAfter } from "./schedule.js";

const at = (iso: string) => Date.parse(iso);

describe("schedule run times", () => {
  it("computes cron runs in the schedule's time zone", () => {
    const spec = { kind: "cron", expression: "0 2 * * *", timezone: "Europe/Paris" } as const;
    // 02:00 in Paris is 01:00 UTC in winter.
    expect(nextRunAfter(spec, at("2026-01-10T12:00:00Z"))).toBe(at("2026-01-11T01:00:00Z"));
  });

  it("fires a missed cron run once, then resumes the cadence instead of replaying a backlog", () => {
    const spec = { kind: "cron", expression: "*/5 * * * *", timezone: "UTC" } as const;
    const fired = at("2026-01-10T10:00:00Z");
    const now = at("2026-01-10T10:42:10Z");
    expect(followingRun(spec, fired, now)).toBe(at("2026-01-10T10:45:00Z"));
  });

  it("still reads a step with a numeric start, as earlier versions stored them", () => {
    const spec = { kind: "cron", expression: "0/15 * * * *", timezone: "UTC" } as const;
    expect(nextRunAfter(spec, at("2026-01-10T10:07:00Z"))).toBe(at("2026-01-10T10:15:00Z"));
  });

  it("runs a fixed-time job the clocks skip at the first valid time after the gap", () => {
    const spec = { kind: "cron", expression: "30 2 * * *", timezone: "Europe/Paris" } as const;
    // On 2026-03-29, Paris goes from 02:00 to 03:00 (01:00 UTC): 02:30 does not exist.
    expect(nextRunAfter(spec, at("2026-03-28T12:00:00Z"))).toBe(at("2026-03-29T01:00:00Z"));
  });

  it("runs an hourly job in both occurrences of the hour the clocks repeat", () => {
    const spec = { kind: "cron", expression: "30 * * * *", timezone: "Europe/Paris" } as const;
    // On 2026-10-25, Paris goes from 03:00 back to 02:00 (01:00 UTC): 02:30 happens twice.
    const first = nextRunAfter(spec, at("2026-10-25T00:00:00Z"));
    expect(first).toBe(at("2026-10-25T00:30:00Z"));
    expect(nextRunAfter(spec, first as number)).toBe(at("2026-10-25T01:30:00Z"));
  });

  it("keeps an interval's phase after an outage", () => {
    const spec = { kind: "every", intervalMs: 60_000 } as const;
    expect(followingRun(spec, 1_000_000, 1_000_000 + 150_500)).toBe(1_000_000 + 180_000);
    expect(followingRun(spec, 1_000_000, 1_000_000)).toBe(1_060_000);
  });

  it("ends a one-off schedule after its run", () => {
    expect(followingRun({ kind: "once", at: 5 }, 5, 6)).toBeNull();
  });

  it("derives one job id per firing", () => {
    expect(firingJobId("nightly", 123)).toBe("sched:nightly:123");
  });
});

describe("buildSchedule", () => {
  const job = { name: "report.build", payload: { kind: "daily" } };

  it("refuses a bad cron expression, interval or id with a typed error", () => {
    const code = expect.objectContaining({ code: "QF_INVALID_ARGUMENT" });
    expect(() => buildSchedule("q", "s", { cron: "61 * * * *" }, job, 0, undefined, 1000)).toThrow(
      code,
    );
    // A seventh field (a year) is not one of the five or six a schedule takes.
    expect(() =>
      buildSchedule("q", "s", { cron: "0 0 12 * * * 2030" }, job, 0, undefined, 1000),
    ).toThrow(code);
    expect(() => buildSchedule("q", "s", { everyMs: 10 }, job, 0, undefined, 1000)).toThrow(code);
    expect(() => buildSchedule("q", "bad id", { everyMs: 1000 }, job, 0, undefined, 1000)).toThrow(
      code,
    );
  });

  it.each([
    "Mars/Olympus",
    "Foo",
    "Etc/GMT+99",
    "Europe/Paris_X",
    "",
  ])("refuses the unknown time zone %j with QF_INVALID_ARGUMENT, not a RangeError", (timezone) => {
    expect(() =>
      buildSchedule("q", "s", { cron: "0 2 * * *", timezone }, job, 0, undefined, 1000),
    ).toThrow(expect.objectContaining({ code: "QF_INVALID_ARGUMENT" }));
  });

  it("accepts IANA time zones and computes the first run in them", () => {
    const built = buildSchedule(
      "q",
      "s",
      { cron: "0 2 * * *", timezone: "Europe/Paris" },
      job,
      at("2026-01-10T12:00:00Z"),
      undefined,
      1000,
    );
    expect(built.nextRunAt).toBe(at("2026-01-11T01:00:00Z"));
  });

  it("keeps the stored next run when re-declared unchanged, and recomputes when changed", () => {
    const first = buildSchedule("q", "s", { everyMs: 60_000 }, job, 1000, undefined, 1000);
    expect(first.nextRunAt).toBe(61_000);
    const again = buildSchedule("q", "s", { everyMs: 60_000 }, job, 50_000, first, 1000);
    expect(again.nextRunAt).toBe(61_000);
    const changed = buildSchedule("q", "s", { everyMs: 30_000 }, job, 50_000, first, 1000);
    expect(changed.nextRunAt).toBe(80_000);
  });
});
