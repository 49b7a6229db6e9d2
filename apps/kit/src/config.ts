import { z } from "zod";

/**
 * A configuration that failed validation. `problems` has one line per bad variable, each
 * naming it and saying what it must be, so an operator fixes every one in a single pass.
 */
export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

/** The environment, as a plain record (process.env, or a test's own). */
export type Env = Record<string, string | undefined>;

/**
 * Parse `env` with `schema`, turning zod's issues into a {@link ConfigError}. Empty strings
 * count as unset, as a blank `FOO=` line in a Compose file means "not given".
 */
export function parseEnv<S extends z.ZodType>(schema: S, env: Env): z.output<S> {
  const cleaned = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v !== ""),
  );
  const outcome = schema.safeParse(cleaned);
  if (outcome.success) return outcome.data;
  throw new ConfigError(
    outcome.error.issues.map((issue) => {
      const key = issue.path.map(String).join(".") || "(environment)";
      const got = typeof issue.path[0] === "string" ? cleaned[issue.path[0]] : undefined;
      return `${key}: ${issue.message}${got === undefined ? "" : ` (got ${JSON.stringify(redact(key, got))})`}`;
    }),
  );
}

// Echoing a bad value helps, except for secrets and URLs that may carry a password.
function redact(key: string, value: string): string {
  if (/KEY|SECRET|PASS|TOKEN/.test(key)) return "<redacted>";
  return value.replace(/\/\/([^:/@]+):([^@]*)@/, "//$1:***@");
}

/** An integer variable within bounds, with a default. */
export function intVar(defaultValue: number, min: number, max: number) {
  return z.coerce
    .number({ error: "must be a number" })
    .int("must be a whole number")
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`)
    .default(defaultValue);
}

/** A boolean variable: true/false/1/0/yes/no. */
export function boolVar(defaultValue: boolean) {
  return z
    .enum(["true", "false", "1", "0", "yes", "no"], { error: "must be true or false" })
    .transform((v) => v === "true" || v === "1" || v === "yes")
    .default(defaultValue);
}

/** A URL variable with one of the given schemes. */
export function urlVar(schemes: string[]) {
  return z
    .string()
    .refine((v) => URL.canParse(v) && schemes.includes(new URL(v).protocol.replace(/:$/, "")), {
      message: `must be a URL starting with ${schemes.map((s) => `${s}://`).join(" or ")}`,
    });
}

/** The storage variables both apps read. */
export const storeEnv = {
  QUEUEFLOW_STORE: z
    .enum(["memory", "redis", "postgres", "mongo"], {
      error: "must be memory, redis, postgres or mongo",
    })
    .default("memory"),
  REDIS_URL: urlVar(["redis", "rediss"]).optional(),
  DATABASE_URL: urlVar(["postgres", "postgresql"]).optional(),
  MONGO_URL: urlVar(["mongodb", "mongodb+srv"]).optional(),
  /** Key prefix (Redis), schema (PostgreSQL) or collection prefix (MongoDB). */
  QUEUEFLOW_NAMESPACE: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,30}$/, "must be 1-31 lowercase letters, digits or _, a letter first")
    .optional(),
  LOG_LEVEL: z
    .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], {
      error: "must be fatal, error, warn, info, debug, trace or silent",
    })
    .default("info"),
};

const URL_OF_STORE = {
  redis: "REDIS_URL",
  postgres: "DATABASE_URL",
  mongo: "MONGO_URL",
} as const;

/** Where jobs live, as the store factory takes it. */
export type StoreConfig =
  | { kind: "memory" }
  | { kind: "redis" | "postgres" | "mongo"; url: string; namespace: string | undefined };

/**
 * Check that the chosen store's URL is set: a cross-field rule, so it runs after the
 * per-variable checks and reports against the missing variable's name.
 */
export function requireStoreUrl(
  value: { QUEUEFLOW_STORE: StoreConfig["kind"] } & Partial<Record<string, unknown>>,
  ctx: z.RefinementCtx,
): void {
  if (value.QUEUEFLOW_STORE === "memory") return;
  const key = URL_OF_STORE[value.QUEUEFLOW_STORE];
  if (value[key] === undefined) {
    ctx.addIssue({
      code: "custom",
      path: [key],
      message: `is required when QUEUEFLOW_STORE=${value.QUEUEFLOW_STORE}`,
    });
  }
}

/** The store part of a parsed environment. */
export function storeConfigOf(env: {
  QUEUEFLOW_STORE: StoreConfig["kind"];
  REDIS_URL?: string | undefined;
  DATABASE_URL?: string | undefined;
  MONGO_URL?: string | undefined;
  QUEUEFLOW_NAMESPACE?: string | undefined;
}): StoreConfig {
  if (env.QUEUEFLOW_STORE === "memory") return { kind: "memory" };
  const url = env[URL_OF_STORE[env.QUEUEFLOW_STORE]];
  if (url === undefined)
    throw new ConfigError([`${URL_OF_STORE[env.QUEUEFLOW_STORE]}: is required`]);
  return { kind: env.QUEUEFLOW_STORE, url, namespace: env.QUEUEFLOW_NAMESPACE };
}
