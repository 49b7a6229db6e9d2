import { describe, expect, it } from "vitest";
import { AUTO_PREFETCH_MAX, PrefetchSize } from "./prefetch-size.js";

describe("PrefetchSize", () => {
  it("a number is fixed", () => {
    const size = new PrefetchSize(7);
    size.claimed(10);
    size.ran(0.01);
    expect(size.size(4)).toBe(7);
  });

  it("auto holds nothing until a claim and a run were measured", () => {
    const size = new PrefetchSize("auto");
    expect(size.size(10)).toBe(0);
    size.claimed(2);
    expect(size.size(10)).toBe(0);
    size.ran(1);
    expect(size.size(10)).toBe(20);
  });

  it("auto holds one claim round trip's worth of work, capped", () => {
    const size = new PrefetchSize("auto");
    size.claimed(1);
    size.ran(0.1);
    expect(size.size(4)).toBe(40);
    size.ran(0);
    for (let i = 0; i < 50; i++) size.ran(0);
    expect(size.size(4)).toBe(AUTO_PREFETCH_MAX);
  });

  it("auto holds nothing for handlers longer than a claim round trip", () => {
    const size = new PrefetchSize("auto");
    size.claimed(2);
    size.ran(50);
    expect(size.size(10)).toBe(0);
  });

  it("follows a change of handler times, smoothed", () => {
    const size = new PrefetchSize("auto");
    size.claimed(1);
    size.ran(100);
    expect(size.size(1)).toBe(0);
    for (let i = 0; i < 60; i++) size.ran(0.5);
    // The average nears 0.5 ms from above: 10 slots hold just under 20.
    expect(size.size(10)).toBe(19);
  });
});
