import { runQuickstart } from "./main.js";

runQuickstart(Number(process.env.QUICKSTART_JOBS ?? 400)).then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
