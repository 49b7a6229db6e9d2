import helmet from "@fastify/helmet";
import type { FastifyInstance } from "fastify";

/**
 * Headers on every answer (@fastify/helmet): `nosniff`, no framing, and a CSP that lets a
 * JSON answer load nothing. The docs page, the one HTML the API serves, replaces that CSP
 * with the one of {@link docsCsp}.
 */
export async function installSecurityHeaders(app: FastifyInstance): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    },
    frameguard: { action: "deny" },
  });
}

/**
 * The docs page's CSP: @fastify/swagger-ui's own (its scripts and styles by hash), no framing
 * by other sites, and without `upgrade-insecure-requests`, which would break the page when
 * the API is served over plain HTTP, as it is locally.
 */
export function docsCsp(header: string): string {
  return header
    .replace("frame-ancestors 'self'", "frame-ancestors 'none'")
    .replace(/\s*upgrade-insecure-requests;?/, "");
}

/**
 * Authenticated answers hold job payloads (email addresses, user ids): no cache, shared or
 * private, may keep them.
 */
export function noStore(app: FastifyInstance): void {
  app.addHook("onSend", async (_request, reply, payload) => {
    void reply.header("cache-control", "no-store");
    return payload;
  });
}
