// Usage: node readme-links.mjs <node_modules/@scope/pkg>...
// Fails when a README, as npm unpacked it, links relatively to a file its package lacks:
// npmjs.com resolves such a link against the package page, so `../core` is a 404 there.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { brokenRelativeLinks, inFolder } from "../markdown-links.mjs";

let broken = 0;
for (const dir of process.argv.slice(2)) {
  for (const link of brokenRelativeLinks(
    readFileSync(join(dir, "README.md"), "utf8"),
    inFolder(dir),
  )) {
    console.error(`${dir}/README.md: ${link}`);
    broken++;
  }
}
if (process.argv.length < 3) {
  console.error("readme-links: no package given");
  process.exit(2);
}
process.exit(broken === 0 ? 0 : 1);
