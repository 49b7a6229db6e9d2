import { describe, expect, it } from "vitest";
import { newJobId } from "./job-id.js";

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("newJobId", () => {
  it("is a version 7 UUID carrying the time in ms", () => {
    const id = newJobId(0x0192_3456_789a);
    expect(id).toMatch(V7);
    expect(id.startsWith("01923456-789a-")).toBe(true);
  });

  it("grows with time, as text", () => {
    const ids = [
      newJobId(1_700_000_000_999),
      newJobId(1_700_000_001_000),
      newJobId(1_800_000_000_000),
    ];
    expect([...ids].sort()).toEqual(ids);
  });

  it("grows within one ms, past the counter's range, and when the clock goes back", () => {
    const at = 1_900_000_000_000;
    const ids = [
      ...Array.from({ length: 5000 }, () => newJobId(at)),
      newJobId(at - 10),
      newJobId(at + 1),
    ];
    for (const id of ids) expect(id).toMatch(V7);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });
});
