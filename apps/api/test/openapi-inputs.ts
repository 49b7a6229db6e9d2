import fc from "fast-check";

/** The parts of a JSON Schema (as the OpenAPI document writes them) the generator reads. */
export interface JsonSchema {
  type?: string;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  nullable?: boolean;
  default?: unknown;
}

const MAX_TIME = Date.UTC(2100, 0, 1);

/**
 * Values known to exist, by property or parameter name (queue names, job type names): drawn
 * half the time, so requests get past "not found" into the handlers.
 */
export type Hints = Record<string, readonly unknown[]>;

function hinted(name: string, hints: Hints, arb: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  const known = hints[name];
  return known ? fc.oneof(fc.constantFrom(...known), arb) : arb;
}

/** Values the schema accepts (most of the time: patterns and formats are honoured, not proved). */
export function valid(schema: JsonSchema, hints: Hints = {}, depth = 0): fc.Arbitrary<unknown> {
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((s) => valid(s, hints, depth)));
  if (schema.enum) return fc.constantFrom(...schema.enum);
  if (schema.const !== undefined) return fc.constant(schema.const);
  const base = validOfType(schema, hints, depth);
  return schema.nullable ? fc.option(base, { nil: null }) : base;
}

function validOfType(schema: JsonSchema, hints: Hints, depth: number): fc.Arbitrary<unknown> {
  switch (schema.type) {
    case "string":
      if (schema.format === "date-time") {
        return fc.integer({ min: 0, max: MAX_TIME }).map((ms) => new Date(ms).toISOString());
      }
      if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern));
      return fc.string({
        minLength: schema.minLength ?? 0,
        maxLength: Math.min(schema.maxLength ?? 40, 40),
      });
    case "integer":
      return fc.integer({
        min: Math.max(schema.minimum ?? -1_000_000, Number.MIN_SAFE_INTEGER),
        max: Math.min(schema.maximum ?? 1_000_000, Number.MAX_SAFE_INTEGER),
      });
    case "number":
      return fc.double({
        min: schema.minimum ?? -1_000_000,
        max: schema.maximum ?? 1_000_000,
        noNaN: true,
      });
    case "boolean":
      return fc.boolean();
    case "array":
      return fc.array(valid(schema.items ?? {}, hints, depth + 1), {
        minLength: schema.minItems ?? 0,
        maxLength: Math.max(schema.minItems ?? 0, Math.min(schema.maxItems ?? 3, 3)),
      });
    case "object":
      return validObject(schema, hints, depth);
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function validObject(schema: JsonSchema, hints: Hints, depth: number): fc.Arbitrary<unknown> {
  if (schema.properties) {
    const props = Object.fromEntries(
      Object.entries(schema.properties).map(([k, s]) => [
        k,
        hinted(k, hints, valid(s, hints, depth + 1)),
      ]),
    );
    return fc.record(props, { requiredKeys: schema.required ?? [] });
  }
  if (typeof schema.additionalProperties === "object" && depth < 3) {
    return fc.dictionary(
      fc.stringMatching(/^[a-z][a-z0-9_]{0,7}$/),
      valid(schema.additionalProperties, hints, depth + 1),
      {
        maxKeys: 3,
      },
    );
  }
  return fc.constant({});
}

/** Strings a hostile client sends: operators, traversal, bad encodings, overlong values. */
const HOSTILE = [
  "",
  "%",
  "%zz",
  "../../etc/passwd",
  '{"$gt":""}',
  "$where",
  "__proto__",
  "constructor",
  "1' or '1'='1",
  "qf:{emails}:jobs",
  "a".repeat(201),
  "\u0000",
  "😀",
  "-1",
  "1e309",
];

/** Anything at all, shaped to get past lenient parsers. */
export const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(...HOSTILE),
  fc.string({ maxLength: 30 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 3 }),
);

/** Mostly valid, sometimes junk: each input of a request is drawn this way. */
export function input(name: string, schema: JsonSchema, hints: Hints): fc.Arbitrary<unknown> {
  return fc.oneof(
    { arbitrary: hinted(name, hints, valid(schema, hints)), weight: 4 },
    { arbitrary: junk, weight: 1 },
  );
}

/** `arb` one time in ten, else null: for the rarer kinds of abuse. */
export function rarely<T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> {
  return fc.oneof({ arbitrary: fc.constant(null), weight: 9 }, { arbitrary: arb, weight: 1 });
}
