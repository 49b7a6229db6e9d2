import type { AdvanceScheduleRequest, ScheduleRecord } from "../contract.js";

/**
 * Schedules per queue, keyed by id. Records are copied in and out; schedules are touched a
 * few times a minute, so `structuredClone` is fine here.
 */
export class ScheduleStore {
  private readonly byQueue = new Map<string, Map<string, ScheduleRecord>>();

  upsert(schedule: ScheduleRecord): void {
    let schedules = this.byQueue.get(schedule.queue);
    if (schedules === undefined) {
      schedules = new Map();
      this.byQueue.set(schedule.queue, schedules);
    }
    schedules.set(schedule.id, structuredClone(schedule));
  }

  remove(queue: string, id: string): boolean {
    const schedules = this.byQueue.get(queue);
    if (schedules === undefined || !schedules.delete(id)) return false;
    if (schedules.size === 0) this.byQueue.delete(queue);
    return true;
  }

  list(queue: string): ScheduleRecord[] {
    const schedules = this.byQueue.get(queue);
    if (schedules === undefined) return [];
    return [...schedules.values()].map((schedule) => structuredClone(schedule));
  }

  /** Compare-and-set: only the scheduler that saw the stored run advances it. */
  advance(request: AdvanceScheduleRequest): boolean {
    const schedule = this.byQueue.get(request.queue)?.get(request.id);
    if (schedule === undefined || schedule.nextRunAt !== request.expectedRunAt) return false;
    schedule.nextRunAt = request.nextRunAt;
    return true;
  }
}
