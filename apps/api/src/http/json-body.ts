import type { FastifyInstance } from "fastify";
import { ApiError } from "./errors.js";

/**
 * Keys refused anywhere in a JSON body. Fastify's own check refuses only `__proto__` and
 * `constructor.prototype`; a payload or metadata key named `constructor` or `prototype` would
 * still be stored and handed to workers, which read them as plain objects.
 */
const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/** The path of the first forbidden key in `body`, or null. Iterative: bodies may nest deep. */
function forbiddenKeyPath(body: unknown): string | null {
  const stack: { value: unknown; path: string }[] = [{ value: body, path: "body" }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { value, path } = next;
    if (typeof value !== "object" || value === null) continue;
    if (Array.isArray(value)) {
      for (const [i, item] of value.entries()) stack.push({ value: item, path: `${path}[${i}]` });
      continue;
    }
    for (const [key, item] of Object.entries(value)) {
      if (FORBIDDEN_KEYS.has(key)) return `${path}.${key}`;
      stack.push({ value: item, path: `${path}.${key}` });
    }
  }
  return null;
}

/**
 * JSON is the only body the API reads: the `text/plain` parser Fastify adds is removed, so a
 * JSON body sent as text is a 415 rather than a string the schema then refuses. The JSON
 * parser is Fastify's own (proto-poisoning checks, size limit), then refuses the keys above.
 */
export function installJsonBody(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser("error", "error");
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    parse(request, body.toString(), (err, parsed) => {
      if (err) return done(err, undefined);
      const path = forbiddenKeyPath(parsed);
      if (path === null) return done(null, parsed);
      done(
        new ApiError(
          400,
          "MALFORMED_BODY",
          `${path} is refused: no key in a body may be __proto__, constructor or prototype.`,
        ),
        undefined,
      );
    });
  });
}
