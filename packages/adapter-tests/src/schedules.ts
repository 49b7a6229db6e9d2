import { fireDueSchedules, type ScheduleRecord } from "@queueflow/core";
import { describe, expect, it } from "vitest";
import type { AdapterFactory, ConformanceOptions } from "./factory.js";
import { resolveOptions } from "./factory.js";
import { newSchedule, TRICKY_JSON, testTimeout, uniqueQueue, useAdapter } from "./helpers.js";

function byId(a: ScheduleRecord, b: ScheduleRecord): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Schedules: stored by (queue, id), listed back unchanged, and advanced by compare-and-set so
 * that of several schedulers firing the same run, exactly one wins.
 */
export function scheduleTests(factory: AdapterFactory, options: ConformanceOptions = {}): void {
  const o = resolveOptions(options);
  describe("schedules", { timeout: testTimeout(o) }, () => {
    const adapter = useAdapter(factory, o);

    it("stores a schedule and lists it back unchanged", async () => {
      const a = adapter();
      const queue = uniqueQueue("sched-store");
      const schedule = newSchedule(queue, {
        spec: { kind: "cron", expression: "*/5 * * * *", timezone: "Europe/Berlin" },
        job: {
          name: "report",
          payload: TRICKY_JSON,
          priority: 12,
          maxAttempts: 4,
          backoff: { type: "fixed", delayMs: 1_000 },
          timeoutMs: 30_000,
          metadata: { owner: "ops", tags: ["nightly"] },
        },
        nextRunAt: 1_900_000_000_000,
      });
      await a.upsertSchedule(schedule);

      expect(await a.listSchedules(queue)).toEqual([schedule]);
    });

    it("round-trips every kind of schedule spec", async () => {
      const a = adapter();
      const queue = uniqueQueue("sched-kinds");
      const schedules = [
        newSchedule(queue, {
          id: "a-cron",
          spec: { kind: "cron", expression: "0 9 * * 1-5", timezone: "America/New_York" },
        }),
        newSchedule(queue, { id: "b-every", spec: { kind: "every", intervalMs: 15_000 } }),
        newSchedule(queue, {
          id: "c-once",
          spec: { kind: "once", at: 1_900_000_000_000 },
          nextRunAt: 1_900_000_000_000,
        }),
      ];
      for (const s of schedules) await a.upsertSchedule(s);

      expect([...(await a.listSchedules(queue))].sort(byId)).toEqual(schedules);
    });

    it("replaces a schedule with the same queue and id", async () => {
      const a = adapter();
      const queue = uniqueQueue("sched-replace");
      const first = newSchedule(queue, { spec: { kind: "every", intervalMs: 1_000 } });
      await a.upsertSchedule(first);
      const second: ScheduleRecord = {
        ...first,
        spec: { kind: "every", intervalMs: 2_000 },
        job: { ...first.job, payload: { version: 2 } },
        nextRunAt: first.nextRunAt! + 5_000,
      };
      await a.upsertSchedule(second);

      expect(await a.listSchedules(queue)).toEqual([second]);
    });

    it("keeps schedules per queue", async () => {
      const a = adapter();
      const q1 = uniqueQueue("sched-iso-a");
      const q2 = uniqueQueue("sched-iso-b");
      const s1 = newSchedule(q1, { id: "same-id" });
      const s2 = newSchedule(q2, { id: "same-id", job: { ...s1.job, payload: { q: 2 } } });
      await a.upsertSchedule(s1);
      await a.upsertSchedule(s2);

      expect(await a.listSchedules(q1)).toEqual([s1]);
      expect(await a.listSchedules(q2)).toEqual([s2]);
      expect(await a.listSchedules(uniqueQueue("sched-iso-none"))).toEqual([]);
    });

    it("removes a schedule: true the first time, false after", async () => {
      const a = adapter();
      const queue = uniqueQueue("sched-remove");
      const keep = newSchedule(queue, { id: "keep" });
      const drop = newSchedule(queue, { id: "drop" });
      await a.upsertSchedule(keep);
      await a.upsertSchedule(drop);

      expect(await a.removeSchedule(queue, "drop")).toBe(true);
      expect(await a.removeSchedule(queue, "drop")).toBe(false);
      expect(await a.listSchedules(queue)).toEqual([keep]);
      expect(
        await a.advanceSchedule({
          queue,
          id: "drop",
          expectedRunAt: drop.nextRunAt!,
          nextRunAt: drop.nextRunAt! + 1,
        }),
      ).toBe(false);
    });

    it("advances the next run when expectedRunAt is the stored one", async () => {
      const a = adapter();
      const queue = uniqueQueue("sched-advance");
      const schedule = newSchedule(queue);
      await a.upsertSchedule(schedule);
      const next = schedule.nextRunAt! + 60_000;

      expect(
        await a.advanceSchedule({
          queue,
          id: schedule.id,
          expectedRunAt: schedule.nextRunAt!,
          nextRunAt: next,
        }),
      ).toBe(true);
      expect(await a.listSchedules(queue)).toEqual([{ ...schedule, nextRunAt: next }]);
    });

    it("refuses an advance whose expectedRunAt is stale", async () => {
      const a = adapter();
      const queue = uniqueQueue("sched-advance-stale");
      const schedule = newSchedule(queue);
      await a.upsertSchedule(schedule);
      const t = schedule.nextRunAt!;
      await a.advanceSchedule({ queue, id: schedule.id, expectedRunAt: t, nextRunAt: t + 1_000 });

      expect(
        await a.advanceSchedule({
          queue,
          id: schedule.id,
          expectedRunAt: t,
          nextRunAt: t + 2_000,
        }),
      ).toBe(false);
      expect((await a.listSchedules(queue))[0]?.nextRunAt).toBe(t + 1_000);
    });

    it("lets exactly one of many concurrent advances of the same run win", async () => {
      const a = adapter();
      const queue = uniqueQueue("sched-advance-race");
      const schedule = newSchedule(queue);
      await a.upsertSchedule(schedule);
      const t = schedule.nextRunAt!;

      const results = await Promise.all(
        Array.from({ length: o.concurrency }, (_, i) =>
          a.advanceSchedule({
            queue,
            id: schedule.id,
            expectedRunAt: t,
            nextRunAt: t + 1_000 * (i + 1),
          }),
        ),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results.indexOf(true);
      expect((await a.listSchedules(queue))[0]?.nextRunAt).toBe(t + 1_000 * (winner + 1));
    });

    it("keeps a one-off schedule fired once advanced to null", async () => {
      const a = adapter();
      const queue = uniqueQueue("sched-once");
      const at = Date.now() + 5_000;
      const schedule = newSchedule(queue, { spec: { kind: "once", at }, nextRunAt: at });
      await a.upsertSchedule(schedule);

      expect(
        await a.advanceSchedule({ queue, id: schedule.id, expectedRunAt: at, nextRunAt: null }),
      ).toBe(true);
      expect(await a.listSchedules(queue)).toEqual([{ ...schedule, nextRunAt: null }]);
      expect(
        await a.advanceSchedule({ queue, id: schedule.id, expectedRunAt: at, nextRunAt: at }),
      ).toBe(false);
    });

    it("refuses to advance a schedule that does not exist", async () => {
      const a = adapter();
      expect(
        await a.advanceSchedule({
          queue: uniqueQueue("sched-missing"),
          id: "no-such-schedule",
          expectedRunAt: 1,
          nextRunAt: 2,
        }),
      ).toBe(false);
    });

    it("hands out copies and keeps none of the caller's input", async () => {
      const a = adapter();
      const queue = uniqueQueue("sched-copies");
      const schedule = newSchedule(queue, {
        job: { ...newSchedule(queue).job, payload: { list: [1] } },
      });
      const snapshot = structuredClone(schedule);
      await a.upsertSchedule(schedule);
      (schedule.job.payload as { list: number[] }).list.push(2);
      schedule.nextRunAt = 1;

      const listed = await a.listSchedules(queue);
      expect(listed).toEqual([snapshot]);
      (listed[0]!.job.payload as { list: number[] }).list.push(3);
      listed[0]!.nextRunAt = 2;
      expect(await a.listSchedules(queue)).toEqual([snapshot]);
    });

    it("fires each due run exactly once when many schedulers tick at the same time", async () => {
      const a = adapter();
      const queue = uniqueQueue("sched-fire");
      const now = await a.now();
      await a.upsertSchedule(
        newSchedule(queue, {
          id: "every-minute",
          spec: { kind: "every", intervalMs: 60_000 },
          nextRunAt: now - 1_000,
        }),
      );
      const reports = await Promise.all(
        Array.from({ length: o.concurrency }, () => fireDueSchedules(a, queue)),
      );

      expect(reports.reduce((sum, r) => sum + r.added, 0)).toBe(1);
      const c = await a.counts(queue);
      expect(c.waiting + c.delayed).toBe(1);
      const [stored] = await a.listSchedules(queue);
      expect(stored!.nextRunAt).toBe(now - 1_000 + 60_000);

      // A second round of ticks before the next run adds nothing.
      await Promise.all(Array.from({ length: o.concurrency }, () => fireDueSchedules(a, queue)));
      const again = await a.counts(queue);
      expect(again.waiting + again.delayed).toBe(1);
    });

    it("does not fire a run again after its job finished (the firing id stays taken)", async () => {
      const a = adapter();
      const queue = uniqueQueue("sched-refire");
      const now = await a.now();
      const due = newSchedule(queue, {
        id: "once",
        spec: { kind: "once", at: now - 500 },
        nextRunAt: now - 500,
      });
      await a.upsertSchedule(due);
      expect((await fireDueSchedules(a, queue)).added).toBe(1);
      // A scheduler that read the schedule before the advance fires the same run late.
      await a.upsertSchedule(due);
      expect((await fireDueSchedules(a, queue)).added).toBe(0);
      const c = await a.counts(queue);
      expect(c.waiting + c.delayed).toBe(1);
    });
  });
}
