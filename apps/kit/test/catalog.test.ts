import { describe, expect, it } from "vitest";
import { findJobType, JOB_TYPES, QUEUE_NAMES } from "../src/index.js";

describe("job catalog", () => {
  it("maps every job type to one queue and validates payloads with defaults", () => {
    expect(QUEUE_NAMES).toEqual(["emails", "notifications", "exports", "files", "maintenance"]);
    for (const t of JOB_TYPES) expect(findJobType(t.name)?.queue).toBe(t.queue);
    const parsed = findJobType("notification.send")!.payload.parse({
      userId: "u1",
      title: "t",
      message: "m",
    });
    expect(parsed).toMatchObject({ type: "info", channels: ["in-app"] });
    expect(() => findJobType("file.thumbnail")!.payload.parse({ file: "../x" })).toThrow();
  });
});
