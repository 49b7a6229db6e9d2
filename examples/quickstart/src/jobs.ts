import { type Handlers, type Job, UnrecoverableError } from "@queueflow/core";

/** The quickstart's job types, declared once for typed adds and handlers. */
export type QuickstartJobs = {
  "email.send": { payload: { to: string; template: string }; result: { messageId: string } };
  "image.resize": { payload: { url: string; widths: number[] }; result: { variants: number } };
  "report.export": { payload: { month: string; flaky: boolean }; result: { rows: number } };
  "webhook.deliver": { payload: { endpoint: string; valid: boolean }; result: null };
};

const pause = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      reject(signal.reason);
    });
  });

/** Handlers that behave like the real thing: some work, some transient and permanent failures. */
export const handlers: Handlers<QuickstartJobs> = {
  "email.send": async (job) => {
    // A hard bounce never succeeds: it spends its attempts and lands in the dead letters.
    if (job.payload.to.endsWith("@invalid")) throw new Error("550 mailbox does not exist");
    await pause(2, job.signal);
    return { messageId: `msg-${job.id.slice(0, 8)}` };
  },
  "image.resize": async (job) => {
    for (const [i] of job.payload.widths.entries()) {
      await pause(1, job.signal);
      await job.updateProgress(Math.round(((i + 1) / job.payload.widths.length) * 100));
    }
    return { variants: job.payload.widths.length };
  },
  "report.export": async (job) => {
    // A flaky upstream: fails the first attempt, succeeds on retry.
    if (job.payload.flaky && job.attempt === 1) throw new Error("warehouse timed out");
    await pause(3, job.signal);
    return { rows: 1000 };
  },
  "webhook.deliver": async (job) => {
    if (!job.payload.valid)
      throw new UnrecoverableError(
        `endpoint ${job.payload.endpoint} rejected the payload (HTTP 400)`,
      );
    await pause(1, job.signal);
    return null;
  },
};

export type QuickstartJob = Job<QuickstartJobs>;
