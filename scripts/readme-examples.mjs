// The README examples as files, so the install test runs exactly what a user pastes. A fenced
// block whose info string carries `example=<file>` (```ts example=quickstart.ts) is an
// example; renderers show only the language, so the tag costs readers nothing.
//
//   node scripts/readme-examples.mjs <out-dir> <prefix>=<README.md>...
//
// writes each example of each README to <out-dir>/<prefix>-<file> and prints the paths. A
// README given without a single example, or two examples of one name, fail: a renamed tag
// must not quietly drop an example from the test.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";

/** Each `example=` block of `markdown` as { file, code }, in order. */
export function readmeExamples(markdown) {
  const examples = [];
  const fence = /^(```+|~~~+)([^\n]*)\n([\s\S]*?)^\1[ \t]*$/gm;
  for (const [, , info, code] of markdown.matchAll(fence)) {
    const tag = /(?:^|\s)example=(\S+)/.exec(info);
    if (tag) examples.push({ file: tag[1], code });
  }
  return examples;
}

if (process.argv[1] && basename(process.argv[1]) === "readme-examples.mjs") {
  const [out, ...sources] = process.argv.slice(2);
  if (!out || sources.length === 0) {
    console.error("usage: readme-examples.mjs <out-dir> <prefix>=<README.md>...");
    process.exit(2);
  }
  mkdirSync(out, { recursive: true });
  const written = new Set();
  for (const source of sources) {
    const [prefix, path] = source.split(/=(.*)/s);
    const examples = readmeExamples(readFileSync(path, "utf8"));
    if (examples.length === 0) {
      console.error(`readme-examples: ${path} has no \`example=\` block`);
      process.exit(1);
    }
    for (const { file, code } of examples) {
      const target = join(out, `${prefix}-${file}`);
      if (written.has(target)) {
        console.error(`readme-examples: ${path} has two examples named ${file}`);
        process.exit(1);
      }
      written.add(target);
      writeFileSync(target, code);
      console.log(target);
    }
  }
}
