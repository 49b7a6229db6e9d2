// Checks the published packages' manifests: what a user's package manager sees first.
// Run with `pnpm test:manifests` (node --test); CI runs it as a gate.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import semver from "semver";

const root = join(import.meta.dirname, "..");

/** A package's package.json as committed (workspace: ranges not yet rewritten). */
function manifest(dir) {
  return JSON.parse(readFileSync(join(root, "packages", dir, "package.json"), "utf8"));
}

/**
 * Per adapter, the client versions it must accept: the majors its suite passes on. A user
 * on a newer major met an ERESOLVE (npm) or a peer warning (pnpm) for a client that works.
 * The first version past them must be refused: a major nobody ran the suite on is not
 * promised.
 */
const clients = [
  { dir: "redis", dep: "ioredis", accepts: ["5.4.0", "6.1.0"], refuses: "7.0.0" },
  { dir: "mongo", dep: "mongodb", accepts: ["6.8.0", "7.0.0", "7.9.1"], refuses: "8.0.0" },
  { dir: "postgres", dep: "pg", accepts: ["8.11.0", "8.23.1"], refuses: "9.0.0" },
];

describe("adapter peer ranges on their store clients", () => {
  for (const { dir, dep, accepts, refuses } of clients) {
    const range = manifest(dir).peerDependencies?.[dep];

    it(`@queueflow/${dir} accepts ${dep} ${accepts.join(", ")}`, () => {
      assert.ok(semver.validRange(range), `peer ${dep} "${range}" is not a semver range`);
      for (const version of accepts) {
        assert.ok(semver.satisfies(version, range), `${dep} ${version} is outside "${range}"`);
      }
    });

    it(`@queueflow/${dir} refuses ${dep} ${refuses}`, () => {
      assert.ok(!semver.satisfies(refuses, range), `${dep} ${refuses} is inside "${range}"`);
    });

    it(`@queueflow/${dir} is tested with a ${dep} inside its peer range`, () => {
      const installed = JSON.parse(
        readFileSync(join(root, "packages", dir, "node_modules", dep, "package.json"), "utf8"),
      ).version;
      assert.ok(semver.satisfies(installed, range), `${dep} ${installed} is outside "${range}"`);
    });
  }
});
