import { describe, expect, it } from "vitest";
import { assertJobId, assertJson, assertQueueName } from "./validate.js";

const code = (c: string) => expect.objectContaining({ name: "QueueFlowError", code: c });

describe("input validation", () => {
  it("accepts plain queue names and refuses ones that could break out of a key space", () => {
    expect(() => assertQueueName("emails.v2_high-1")).not.toThrow();
    for (const bad of ["", "a{b}", "a:b", "a b", "x".repeat(65), "-lead", 42]) {
      expect(() => assertQueueName(bad)).toThrow(code("QF_INVALID_ARGUMENT"));
    }
  });

  it("accepts job ids with colons and refuses control characters and overlong ids", () => {
    expect(() => assertJobId("sched:nightly:1700000000000")).not.toThrow();
    for (const bad of ["", "a\nb", "a/b", "x".repeat(129), null]) {
      expect(() => assertJobId(bad)).toThrow(code("QF_INVALID_ARGUMENT"));
    }
  });

  it("refuses values that would not survive JSON, naming the path", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const cases: [unknown, RegExp][] = [
      [{ a: undefined }, /\.a is undefined/],
      [{ when: new Date() }, /\.when is a Date object/],
      [{ n: Number.POSITIVE_INFINITY }, /\.n is Infinity/],
      [[1, () => 1], /\[1\] is function/],
      [{ big: 1n }, /bigint/],
      [cyclic, /circular/],
    ];
    for (const [value, message] of cases) {
      expect(() => assertJson(value, "payload", 1000)).toThrow(message);
      expect(() => assertJson(value, "payload", 1000)).toThrow(code("QF_INVALID_PAYLOAD"));
    }
  });

  it("allows shared (non-circular) references and nested JSON", () => {
    const shared = { x: 1 };
    expect(() =>
      assertJson({ a: shared, b: shared, c: [null, "é", { d: true }] }, "p", 1000),
    ).not.toThrow();
  });

  it("refuses payloads over the byte limit, counting UTF-8 bytes", () => {
    expect(() => assertJson("é".repeat(60), "payload", 100)).toThrow(code("QF_PAYLOAD_TOO_LARGE"));
    expect(() => assertJson("e".repeat(60), "payload", 100)).not.toThrow();
  });
});
