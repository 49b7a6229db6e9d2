// Rewrites the `#private;` member tsc emits into declaration files for a class with `#` fields
// to a TypeScript `private` member. Run from a package folder after tsup: `node
// ../../scripts/strip-private-names.mjs` (walks that package's dist/).
//
// Why: a consumer whose tsconfig targets ES5 (`"module": "commonjs"` with no `target` in
// TypeScript 5.x) and checks libraries (`skipLibCheck: false`) gets TS18028 "Private
// identifiers are only available when targeting ECMAScript 2015 and higher" at each
// `#private;` line. A `private` member keeps what `#private;` is there for: the class stays
// nominal (a structurally equal object is not assignable to it) and the member is not in
// `keyof`. Its name is per package and class, so a subclass with its own member (Queue
// extends TypedEmitter) does not redeclare its base's private property (TS2415).
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const classLine =
  /^\s*(?:export\s+)?(?:declare\s+)?(?:default\s+)?(?:abstract\s+)?class\s+([A-Za-z_$][\w$]*)/;
const privateLine = /^(\s*)#private;\s*$/;

/** Every declaration file (.d.ts, .d.mts, .d.cts) under `dir`. */
function declarationFiles(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.d\.[cm]?ts$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** The declaration text with each `#private;` line rewritten; throws on a private name left. */
function stripPrivateNames(text, prefix, file) {
  let owner;
  return text
    .split("\n")
    .map((line, index) => {
      const declared = classLine.exec(line);
      if (declared) owner = declared[1];
      const member = privateLine.exec(line);
      if (member && owner) {
        return `${member[1]}private readonly __qf_private_${prefix}_${owner.replace(/\$/g, "_")};`;
      }
      if (/^\s*(?:static\s+)?(?:readonly\s+)?#[A-Za-z_$]/.test(line)) {
        throw new Error(`${file}:${index + 1}: private name left: ${line.trim()}`);
      }
      return line;
    })
    .join("\n");
}

const cwd = process.cwd();
const { name } = JSON.parse(readFileSync(join(cwd, "package.json"), "utf8"));
const prefix = name
  .split("/")
  .pop()
  .replace(/[^\w$]/g, "_");
let changed = 0;
for (const file of declarationFiles(join(cwd, "dist"))) {
  const before = readFileSync(file, "utf8");
  const after = stripPrivateNames(before, prefix, file);
  if (after !== before) {
    writeFileSync(file, after);
    changed += 1;
  }
}
console.log(`strip-private-names: ${name}: rewrote ${changed} declaration file(s)`);
