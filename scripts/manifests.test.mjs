// Checks the published packages' manifests: what a user's package manager sees first.
// Run with `pnpm test:manifests` (node --test); CI runs it as a gate.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
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

/** Every package under packages/ that is published, by directory. */
function publishedPackages() {
  return readdirSync(join(root, "packages"), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => ({ dir: entry.name, pkg: manifest(entry.name) }))
    .filter(({ pkg }) => pkg.private !== true);
}

/** The package.json that `pnpm pack` puts in the tarball, with workspace: ranges rewritten. */
function packedManifest(dir) {
  const out = mkdtempSync(join(tmpdir(), "qf-pack-"));
  try {
    const packed = JSON.parse(
      execFileSync("pnpm", ["pack", "--json", "--pack-destination", out], {
        cwd: join(root, "packages", dir),
        encoding: "utf8",
      }),
    );
    return JSON.parse(
      execFileSync("tar", ["-xzOf", packed.filename, "package/package.json"], {
        encoding: "utf8",
      }),
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** The first version a caret range on `version` must refuse: the next breaking release. */
function nextBreaking(version) {
  return semver.major(version) === 0 ? semver.inc(version, "minor") : semver.inc(version, "major");
}

describe("ranges on @queueflow/core", () => {
  const core = manifest("core").version;
  const dependents = publishedPackages().filter(
    ({ pkg }) => pkg.peerDependencies?.["@queueflow/core"] !== undefined,
  );

  it("finds the packages that depend on core (the checks below are not vacuous)", () => {
    assert.ok(dependents.length > 0);
  });

  for (const { dir, pkg } of dependents) {
    // >=0.1.0 let a user install a later, breaking core beside an adapter written for this one.
    it(`@queueflow/${dir} declares its core peer as workspace:^`, () => {
      assert.equal(pkg.peerDependencies["@queueflow/core"], "workspace:^");
    });

    it(`@queueflow/${dir} is packed with a caret range on core ${core}`, () => {
      const range = packedManifest(dir).peerDependencies?.["@queueflow/core"];
      assert.equal(range, `^${core}`);
      assert.ok(semver.satisfies(core, range), `core ${core} is outside "${range}"`);
      const breaking = nextBreaking(core);
      assert.ok(!semver.satisfies(breaking, range), `core ${breaking} is inside "${range}"`);
    });
  }
});
