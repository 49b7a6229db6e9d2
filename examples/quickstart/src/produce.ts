import type { BulkJob, Queue } from "@queueflow/core";
import type { QuickstartJobs } from "./jobs.js";

/**
 * Add `total` jobs across the four types and all priority levels. One in ten reports is
 * flaky (fails once, then succeeds); one in twelve webhooks is invalid (dead at once); one in
 * fifteen emails always fails and ends dead after its attempts.
 */
export async function produce(queue: Queue<QuickstartJobs>, total: number): Promise<number> {
  const levels = ["critical", "high", "normal", "low", "background"] as const;
  const jobs: BulkJob<QuickstartJobs>[] = [];
  for (let i = 0; i < total; i++) {
    const priority = levels[i % levels.length]!;
    switch (i % 4) {
      case 0:
        jobs.push({
          name: "email.send",
          payload: {
            to: i % 15 === 0 ? "bounce@invalid" : `user${i}@example.com`,
            template: "welcome",
          },
          options: { priority, backoff: { type: "exponential", delayMs: 5 } },
        });
        break;
      case 1:
        jobs.push({
          name: "image.resize",
          payload: { url: `https://cdn.example.com/${i}.png`, widths: [320, 640, 1280] },
          options: { priority },
        });
        break;
      case 2:
        jobs.push({
          name: "report.export",
          payload: { month: "2026-10", flaky: i % 10 === 2 },
          options: { priority, attempts: 3, backoff: { type: "fixed", delayMs: 10 } },
        });
        break;
      default:
        jobs.push({
          name: "webhook.deliver",
          payload: { endpoint: `https://hooks.example.com/${i}`, valid: i % 12 !== 3 },
          options: { priority },
        });
    }
  }
  const added = await queue.addBulk(jobs);
  return added.filter((a) => a.created).length;
}
