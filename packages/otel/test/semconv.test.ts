import * as incubating from "@opentelemetry/semantic-conventions/incubating";
import { describe, expect, it } from "vitest";
import * as semconv from "../src/semconv.js";

describe("copied semantic conventions", () => {
  it("match the names in @opentelemetry/semantic-conventions/incubating", () => {
    const copied = Object.entries(semconv).filter(
      ([key]) => /^(ATTR|METRIC|MESSAGING)_/.test(key) && !/QUEUEFLOW/.test(key),
    );
    expect(copied.length).toBeGreaterThan(15);
    for (const [key, value] of copied) {
      expect([key, (incubating as Record<string, unknown>)[key]]).toEqual([key, value]);
    }
  });
});
