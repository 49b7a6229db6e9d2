// Link targets in Markdown, shared by the manifest test (the READMEs as committed) and the
// install-from-tarballs test (the READMEs as npm unpacks them).
import { existsSync } from "node:fs";
import { join, posix } from "node:path";

/**
 * Every link target in a Markdown file: inline links and images `[text](target "title")`,
 * autolinks `<https://…>`, reference definitions `[id]: target`, and HTML href/src. Code
 * (fenced blocks and inline spans) is skipped: a path in code is not a link.
 */
export function markdownLinks(markdown) {
  const text = markdown
    .replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "")
    .replace(/`[^`\n]*`/g, "");
  const links = [];
  for (const m of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) links.push(m[1]);
  for (const m of text.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)) links.push(m[1]);
  for (const m of text.matchAll(/\b(?:href|src)\s*=\s*["']([^"']+)["']/g)) links.push(m[1]);
  return links;
}

/**
 * The relative links of `markdown` that npmjs.com cannot follow: each resolves against the
 * package page, so it works only if it names a file (or folder) `has` reports the package
 * holds. Absolute URLs and in-page anchors are left alone.
 */
export function brokenRelativeLinks(markdown, has) {
  const broken = [];
  for (const link of markdownLinks(markdown)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(link) || link.startsWith("#") || link.startsWith("//")) {
      continue;
    }
    const path = decodeURIComponent(link.split(/[?#]/)[0]);
    const inside = posix.normalize(path.startsWith("/") ? path.slice(1) : path);
    if (inside.startsWith("../") || inside === "..") {
      broken.push(`${link} (leaves the package folder)`);
    } else if (!has(inside.replace(/\/$/, ""))) {
      broken.push(`${link} (not in the package)`);
    }
  }
  return broken;
}

/** `has` for {@link brokenRelativeLinks} over a package unpacked at `dir`. */
export function inFolder(dir) {
  return (path) => existsSync(join(dir, path));
}
