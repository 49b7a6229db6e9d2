export { claimTests } from "./claim.js";
export { deadLetterOpsTests } from "./dead-letter-ops.js";
export { deadLetterTests } from "./dead-letters.js";
export { enqueueTests } from "./enqueue.js";
export type {
  AdapterFactory,
  ConformanceOptions,
  ResolvedConformanceOptions,
} from "./factory.js";
export { resolveOptions } from "./factory.js";
export type {
  FaultFactory,
  FaultScenarioOptions,
  FaultServer,
  ResolvedFaultOptions,
} from "./faults/factory.js";
export { resolveFaultOptions } from "./faults/factory.js";
export { runFaultScenario } from "./faults/scenario.js";
export type { TcpTarget } from "./faults/tcp-proxy.js";
export { TcpProxy } from "./faults/tcp-proxy.js";
export { groupTests } from "./groups.js";
export type { WaitForOptions } from "./helpers.js";
export {
  claimAll,
  enqueueOne,
  freePort,
  newJob,
  uniqueQueue,
  waitFor,
} from "./helpers.js";
export { inspectTests } from "./inspect.js";
export { lifecycleTests } from "./lifecycle.js";
export { manageTests } from "./manage.js";
export { recoverTests } from "./recover.js";
export { runAdapterConformance } from "./run.js";
export { scheduleTests } from "./schedules.js";
export { settleTests } from "./settle.js";
export { handoffTests, wakeUpTests } from "./wake-up.js";
