// Checks the published packages' manifests: what a user's package manager sees first.
// Run with `pnpm test:manifests` (node --test); CI runs it as a gate.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import semver from "semver";
import { brokenRelativeLinks } from "./markdown-links.mjs";

const root = join(import.meta.dirname, "..");

/** A package's package.json as committed (workspace: ranges not yet rewritten). */
function manifest(dir) {
  return JSON.parse(readFileSync(join(root, "packages", dir, "package.json"), "utf8"));
}

/**
 * Per adapter, the client versions it must accept: the majors its suite passes on. A user
 * on a newer major met an ERESOLVE (npm) or a peer warning (pnpm) for a client that works.
 * The first version past them must be refused: a major nobody ran the suite on is not
 * promised. `others` are the alias devDependencies (`ioredis6`: `npm:ioredis@^6.1.0`) that
 * scripts/test.sh runs the suite on besides the client's own devDependency
 * (scripts/with-client.sh).
 */
const clients = [
  {
    dir: "redis",
    dep: "ioredis",
    others: ["ioredis6"],
    accepts: ["5.4.0", "6.1.0"],
    refuses: "7.0.0",
  },
  {
    dir: "mongo",
    dep: "mongodb",
    others: ["mongodb7"],
    accepts: ["6.8.0", "7.0.0", "7.9.1"],
    refuses: "8.0.0",
  },
  { dir: "postgres", dep: "pg", others: [], accepts: ["8.11.0", "8.23.1"], refuses: "9.0.0" },
];

/** The package.json of what `name` resolves to in a package's node_modules. */
function installed(dir, name) {
  return JSON.parse(
    readFileSync(join(root, "packages", dir, "node_modules", name, "package.json"), "utf8"),
  );
}

describe("adapter peer ranges on their store clients", () => {
  for (const { dir, dep, others, accepts, refuses } of clients) {
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

    it(`@queueflow/${dir} is tested on each ${dep} major its peer range accepts`, () => {
      const tested = [dep, ...others].map((name) => {
        const pkg = installed(dir, name);
        assert.equal(pkg.name, dep, `${name} is ${pkg.name}, not ${dep}`);
        assert.ok(
          semver.satisfies(pkg.version, range),
          `${dep} ${pkg.version} is outside "${range}"`,
        );
        return semver.major(pkg.version);
      });
      const promised = [];
      for (let major = 0; major < semver.major(refuses); major++) {
        if (semver.intersects(range, `${major}.x`)) promised.push(major);
      }
      assert.deepEqual(tested.toSorted(), promised, `"${range}" promises majors ${promised}`);
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

const packs = new Map();

/**
 * What `pnpm pack` (the pnpm on PATH: the pinned one under CI) puts in the tarball: the
 * package.json with workspace: ranges rewritten, every file's path inside the package, and
 * the text of each declaration file (.d.ts, .d.cts, .d.mts). Packed once per package.
 */
function packed(dir) {
  if (!packs.has(dir)) {
    const out = mkdtempSync(join(tmpdir(), "qf-pack-"));
    try {
      const { filename } = JSON.parse(
        execFileSync("pnpm", ["pack", "--json", "--pack-destination", out], {
          cwd: join(root, "packages", dir),
          encoding: "utf8",
        }),
      );
      const files = execFileSync("tar", ["-tzf", filename], { encoding: "utf8" })
        .split("\n")
        .filter((entry) => entry.startsWith("package/") && !entry.endsWith("/"))
        .map((entry) => entry.slice("package/".length));
      const read = (file) =>
        execFileSync("tar", ["-xzOf", filename, `package/${file}`], { encoding: "utf8" });
      const pkg = JSON.parse(read("package.json"));
      const declarations = new Map(
        files.filter((file) => /\.d\.[cm]?ts$/.test(file)).map((file) => [file, read(file)]),
      );
      packs.set(dir, { pkg, files, declarations });
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }
  return packs.get(dir);
}

/** The package.json that `pnpm pack` puts in the tarball, with workspace: ranges rewritten. */
function packedManifest(dir) {
  return packed(dir).pkg;
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

const repository = "https://github.com/queueflow/queueflow";

describe("what npm shows for each published package", () => {
  const packages = publishedPackages();

  it("finds the published packages (the checks below are not vacuous)", () => {
    assert.ok(packages.length > 0);
  });

  for (const { dir, pkg } of packages) {
    // Without them npmjs.com shows no Repository, Homepage or Issues link: a user who meets a
    // problem has nowhere to go from the package page.
    it(`@queueflow/${dir} names its repository folder, homepage and issue tracker`, () => {
      assert.deepEqual(pkg.repository, {
        type: "git",
        url: `git+${repository}.git`,
        directory: `packages/${dir}`,
      });
      assert.equal(pkg.homepage, `${repository}/tree/main/packages/${dir}#readme`);
      assert.deepEqual(pkg.bugs, { url: `${repository}/issues` });
    });

    // npmjs.com renders the README from the tarball: a relative link resolves against the
    // package page, so it works only if it points at a file the tarball holds. One that leaves
    // the package folder (../../README.md) or names a source file (src/contract.ts) is a 404.
    it(`@queueflow/${dir}'s README links only to files its tarball holds`, () => {
      const { files } = packed(dir);
      assert.ok(files.includes("README.md"), "README.md is not in the tarball");
      const readme = readFileSync(join(root, "packages", dir, "README.md"), "utf8");
      const broken = brokenRelativeLinks(
        readme,
        (path) => files.includes(path) || files.some((f) => f.startsWith(`${path}/`)),
      );
      assert.deepEqual(broken, [], `use an absolute ${repository}/blob/main/… URL instead`);
    });
  }
});

describe("declaration files in each published package", () => {
  const packages = publishedPackages();

  it("finds the published packages (the checks below are not vacuous)", () => {
    assert.ok(packages.length > 0);
  });

  for (const { dir } of packages) {
    // tsc writes `#private;` into a class with # fields; a user whose tsconfig targets ES5
    // (`"module": "commonjs"` and no target) and checks libraries got TS18028 at each one.
    // The build rewrites them (scripts/strip-private-names.mjs); a package whose build skips
    // that step ships them again.
    it(`@queueflow/${dir}'s packed declarations hold no private names (#…)`, () => {
      const { declarations } = packed(dir);
      assert.ok(declarations.size > 0, "the tarball holds no declaration files");
      const found = [];
      for (const [file, text] of declarations) {
        text.split("\n").forEach((line, index) => {
          if (
            /^\s*(?:static\s+)?(?:readonly\s+)?#[A-Za-z_$]/.test(line) ||
            line.includes("#private")
          ) {
            found.push(`${file}:${index + 1}: ${line.trim()}`);
          }
        });
      }
      assert.deepEqual(found, [], "run scripts/strip-private-names.mjs after tsup in its build");
    });
  }
});
