import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { ApiError } from "./errors.js";

/** What a key may do: read < submit < admin, each including the ones before it. */
export type Scope = "read" | "submit" | "admin";

const RANK: Record<Scope, number> = { read: 0, submit: 1, admin: 2 };

interface StoredKey {
  digest: Buffer;
  scope: Scope;
  /** A short, non-secret label for logs and rate-limit buckets. */
  id: string;
}

declare module "fastify" {
  interface FastifyRequest {
    /** Set once the request's API key is verified. */
    apiKey?: { id: string; scope: Scope };
  }
}

function digest(key: string): Buffer {
  return createHash("sha256").update(key).digest();
}

/**
 * Verifies API keys. Keys are compared as SHA-256 digests with `timingSafeEqual`: digests have
 * one length whatever the key, so neither the comparison nor a length check leaks how much of
 * a guess was right, and every stored key is compared so the scan's duration leaks no position.
 */
export class KeyRing {
  readonly #keys: StoredKey[];

  constructor(keys: { read: string[]; submit: string[]; admin: string[] }) {
    this.#keys = (["read", "submit", "admin"] as const).flatMap((scope) =>
      keys[scope].map((key) => {
        const d = digest(key);
        return { digest: d, scope, id: d.subarray(0, 6).toString("hex") };
      }),
    );
  }

  /** The key's id and scope, or null when it matches none. */
  verify(presented: string): { id: string; scope: Scope } | null {
    const d = digest(presented);
    let found: StoredKey | null = null;
    for (const k of this.#keys) if (timingSafeEqual(k.digest, d) && !found) found = k;
    return found ? { id: found.id, scope: found.scope } : null;
  }
}

// RFC 7235: the scheme name is case-insensitive; RFC 6750: one or more spaces, then the token.
const BEARER = /^bearer +(\S+) *$/i;

/** The key a request presents: `x-api-key: <key>` or `authorization: Bearer <key>`. */
export function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers["x-api-key"];
  if (typeof header === "string" && header !== "") return header;
  const auth = request.headers.authorization;
  return typeof auth === "string" ? BEARER.exec(auth)?.[1] : undefined;
}

/** An `onRequest` hook that lets a request through only with a key of at least `scope`. */
export function requireScope(ring: KeyRing, scope: Scope) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const key = presentedKey(request);
    if (key === undefined) {
      void reply.header("www-authenticate", 'Bearer realm="queueflow"');
      throw new ApiError(
        401,
        "UNAUTHORIZED",
        "Send an API key in the x-api-key header or as Authorization: Bearer <key>.",
      );
    }
    const found = ring.verify(key);
    if (!found) throw new ApiError(401, "UNAUTHORIZED", "The API key is not valid.");
    if (RANK[found.scope] < RANK[scope]) {
      throw new ApiError(403, "FORBIDDEN", `This route needs a key with the ${scope} scope.`);
    }
    request.apiKey = found;
  };
}
