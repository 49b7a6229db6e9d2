import { describe } from "vitest";
import { claimTests } from "./claim.js";
import { deadLetterOpsTests } from "./dead-letter-ops.js";
import { deadLetterTests } from "./dead-letters.js";
import { enqueueTests } from "./enqueue.js";
import type { AdapterFactory, ConformanceOptions } from "./factory.js";
import { resolveOptions } from "./factory.js";
import { groupTests } from "./groups.js";
import { testTimeout } from "./helpers.js";
import { inspectTests } from "./inspect.js";
import { lifecycleTests } from "./lifecycle.js";
import { manageTests } from "./manage.js";
import { recoverTests } from "./recover.js";
import { scheduleTests } from "./schedules.js";
import { settleTests } from "./settle.js";
import { handoffTests, wakeUpTests } from "./wake-up.js";

/**
 * Declare the whole StorageAdapter conformance suite as one vitest `describe` block: every
 * contract area, each against its own adapter from `factory`. Optional groups (wake-up, job
 * groups, the transaction check) are declared only when `factory.capabilities` says they apply, so no
 * test is ever skipped; no option turns an invariant off.
 *
 * @throws RangeError when `options` are out of range (see {@link ConformanceOptions}).
 * @example
 * // test/conformance.test.ts
 * import { runAdapterConformance } from "@queueflow/adapter-tests";
 * import { MyAdapter } from "../src/index.js";
 *
 * runAdapterConformance({
 *   name: "my-store",
 *   capabilities: { wakeUp: false, transactions: false },
 *   create: () => new MyAdapter(),
 * });
 */
export function runAdapterConformance(
  factory: AdapterFactory,
  options: ConformanceOptions = {},
): void {
  const o = resolveOptions(options);
  describe(`${factory.name}: StorageAdapter conformance`, { timeout: testTimeout(o) }, () => {
    lifecycleTests(factory, o);
    enqueueTests(factory, o);
    claimTests(factory, o);
    settleTests(factory, o);
    recoverTests(factory, o);
    inspectTests(factory, o);
    manageTests(factory, o);
    deadLetterTests(factory, o);
    deadLetterOpsTests(factory, o);
    scheduleTests(factory, o);
    if (factory.capabilities.wakeUp) wakeUpTests(factory, o);
    if (factory.capabilities.handoff === true) handoffTests(factory, o);
    if (factory.capabilities.groups === true) groupTests(factory, o);
  });
}
