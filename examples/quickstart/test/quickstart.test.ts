import { expect, it, vi } from "vitest";
import { runQuickstart } from "../src/main.js";

it("processes every job to a terminal state: most complete, flaky ones retry, bad ones end dead", async () => {
  vi.spyOn(console, "log").mockImplementation(() => {});
  const counts = await runQuickstart(120, "quickstart-test");
  expect(counts.waiting + counts.delayed + counts.active).toBe(0);
  expect(counts.completed + counts.dead).toBe(120);
  // 120 jobs: 2 bounced emails (i % 60 === 0) and 10 invalid webhooks (i % 12 === 3).
  expect(counts.dead).toBe(12);
  expect(counts.completed).toBe(108);
});
