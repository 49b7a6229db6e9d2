import { newJob } from "@queueflow/adapter-tests";
import { isQueueFlowError, type ListJobsRequest } from "@queueflow/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MongoAdapter } from "../src/index.js";
import { dropPrefix, mongoUrl, testPrefix } from "./helpers.js";

const url = mongoUrl();

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => null,
    (err: unknown) => err,
  );
}

// Values from outside (an HTTP query string parsed into objects, a JSON body) must never act
// as query operators: every filter is built from typed fields that are checked to be strings.
describe("MongoAdapter refuses operator injection", () => {
  const adapter = new MongoAdapter({ connection: url, prefix: testPrefix("inject") });
  const queue = "inject";

  beforeAll(async () => {
    await adapter.connect();
    await adapter.enqueue([
      newJob(queue, { id: "a", name: "alpha", payload: { $where: "sleep(1000)", "a.b": 1 } }),
      newJob(queue, { id: "b", name: "beta" }),
    ]);
  });
  afterAll(async () => {
    await adapter.close();
    await dropPrefix(url, adapter.prefix);
  });

  const smuggled: unknown[] = [
    { $gt: "" },
    { $ne: null },
    { $where: "true" },
    { $regex: ".*" },
    ["alpha"],
  ];

  for (const value of smuggled) {
    it(`rejects ${JSON.stringify(value)} as a listJobs name or errorName`, async () => {
      for (const field of ["name", "errorName"] as const) {
        const request = {
          queue,
          state: "waiting",
          limit: 10,
          [field]: value,
        } as unknown as ListJobsRequest;
        const err = await errorOf(adapter.listJobs(request));
        expect(isQueueFlowError(err, "QF_INVALID_ARGUMENT")).toBe(true);
      }
    });

    it(`rejects ${JSON.stringify(value)} as a queue, id or token`, async () => {
      const v = value as string;
      expect(isQueueFlowError(await errorOf(adapter.getJob(v, "a")), "QF_INVALID_ARGUMENT")).toBe(
        true,
      );
      expect(isQueueFlowError(await errorOf(adapter.getJob(queue, v)), "QF_INVALID_ARGUMENT")).toBe(
        true,
      );
      expect(isQueueFlowError(await errorOf(adapter.remove(queue, v)), "QF_INVALID_ARGUMENT")).toBe(
        true,
      );
      expect(isQueueFlowError(await errorOf(adapter.counts(v)), "QF_INVALID_ARGUMENT")).toBe(true);
      const settle = adapter.settle(queue, [{ kind: "complete", id: "a", token: v, result: null }]);
      expect(isQueueFlowError(await errorOf(settle), "QF_INVALID_ARGUMENT")).toBe(true);
      const cursor = adapter.listJobs({ queue, state: "waiting", limit: 10, cursor: v });
      expect(isQueueFlowError(await errorOf(cursor), "QF_INVALID_ARGUMENT")).toBe(true);
    });
  }

  it("matches a name that looks like an operator only literally", async () => {
    const page = await adapter.listJobs({ queue, state: "waiting", limit: 10, name: "$gt" });
    expect(page.jobs).toEqual([]);
    const alpha = await adapter.listJobs({ queue, state: "waiting", limit: 10, name: "alpha" });
    expect(alpha.jobs.map((j) => j.id)).toEqual(["a"]);
  });

  it("stores operator-like payload keys as data, and returns them unchanged", async () => {
    const job = await adapter.getJob(queue, "a");
    expect(job?.payload).toEqual({ $where: "sleep(1000)", "a.b": 1 });
  });
});
