import { JOB_TYPES, QUEUE_NAMES } from "@queueflow/app-kit";
import { Validator } from "@seriousme/openapi-schema-validator";
import Ajv, { type ValidateFunction } from "ajv-draft-04";
import addFormats from "ajv-formats";
import fc from "fast-check";
import type { OpenAPIV3 } from "openapi-types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Hints, input, type JsonSchema, rarely } from "./openapi-inputs.js";
import { KEYS, type Stack, startStack, testStore } from "./stack.js";

interface Operation {
  method: string;
  path: string;
  op: OpenAPIV3.OperationObject;
}

function operationsOf(doc: OpenAPIV3.Document): Operation[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    (["get", "put", "post", "delete", "patch"] as const)
      .filter((method) => item?.[method])
      .map((method) => ({ method: method.toUpperCase(), path, op: item![method]! })),
  );
}

const parametersOf = (op: OpenAPIV3.OperationObject) =>
  (op.parameters ?? []) as OpenAPIV3.ParameterObject[];

const jsonContent = (o: { content?: Record<string, OpenAPIV3.MediaTypeObject> } | undefined) =>
  o?.content?.["application/json"]?.schema as JsonSchema | undefined;

/** Every schema in the document, with where it is. */
function schemasOf(doc: OpenAPIV3.Document): { where: string; schema: unknown }[] {
  return operationsOf(doc).flatMap(({ method, path, op }) => {
    const where = `${method} ${path}`;
    return [
      ...parametersOf(op).map((p) => ({ where: `${where} ${p.in} ${p.name}`, schema: p.schema })),
      ...Object.entries(
        (op.requestBody as OpenAPIV3.RequestBodyObject | undefined)?.content ?? {},
      ).map(([type, m]) => ({ where: `${where} body ${type}`, schema: m.schema })),
      ...Object.entries(op.responses).flatMap(([status, r]) =>
        Object.entries((r as OpenAPIV3.ResponseObject).content ?? {}).map(([type, m]) => ({
          where: `${where} ${status} ${type}`,
          schema: m.schema,
        })),
      ),
    ];
  });
}

describe("the OpenAPI document", () => {
  let stack: Stack;
  let doc: OpenAPIV3.Document;
  beforeAll(async () => {
    stack = await startStack({ store: testStore("memory").config, workers: false });
    doc = (await stack.call<OpenAPIV3.Document>("/docs/json", { scope: "none" })).body;
  });
  afterAll(() => stack.close());

  it("passes a standard OpenAPI 3 validator", async () => {
    const result = await new Validator().validate(doc as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  // The OpenAPI 3.0 validator does not look inside schemas: `{"anyOf": []}` passes it, yet no
  // client generator can use it. Each schema must also pass JSON Schema's own meta-schema
  // (draft 4, which OpenAPI 3.0 schemas extend).
  it("holds only valid JSON Schemas, in every parameter, body and response", () => {
    const ajv = new Ajv({ strict: false });
    const bad = schemasOf(doc)
      .filter(({ schema }) => !ajv.validateSchema(schema as object))
      .map(({ where }) => `${where}: ${ajv.errorsText(ajv.errors)}`);
    expect(bad).toEqual([]);
    expect(schemasOf(doc).length).toBeGreaterThan(50);
  });

  it("declares both ways to send a key, and both on every /api operation", () => {
    expect(doc.components?.securitySchemes).toEqual({
      apiKey: { type: "apiKey", name: "x-api-key", in: "header" },
      bearer: { type: "http", scheme: "bearer" },
    });
    const apiOperations = operationsOf(doc).filter((o) => o.path.startsWith("/api/"));
    expect(apiOperations.length).toBeGreaterThan(20);
    for (const { op } of apiOperations) {
      expect(op.security).toEqual([{ apiKey: [] }, { bearer: [] }]);
    }
  });
});

/** One request drawn for an operation: mostly valid inputs, sometimes junk, keys varied. */
interface Drawn {
  url: string;
  init: RequestInit;
  label: string;
}

const HINTS: Hints = { queue: QUEUE_NAMES, name: JOB_TYPES.map((t) => t.name) };

function requestFor(base: string, { method, path, op }: Operation): fc.Arbitrary<Drawn> {
  const params = parametersOf(op);
  const pathParams = params.filter((p) => p.in === "path");
  const queryParams = params.filter((p) => p.in === "query");
  const bodySchema = jsonContent(op.requestBody as OpenAPIV3.RequestBodyObject | undefined);
  const record = <T>(entries: [string, fc.Arbitrary<T>][]) =>
    fc.record(Object.fromEntries(entries), { requiredKeys: [] }) as fc.Arbitrary<Record<string, T>>;
  return fc
    .record({
      path: fc.record(
        Object.fromEntries(
          pathParams.map((p) => [p.name, input(p.name, p.schema as JsonSchema, HINTS)]),
        ),
      ),
      query: record(queryParams.map((p) => [p.name, input(p.name, p.schema as JsonSchema, HINTS)])),
      extraQuery: rarely(fc.constantFrom("api_key=x", "where=1", "state[$ne]=x")),
      body: bodySchema ? input("body", bodySchema, HINTS) : fc.constant(null),
      contentType: fc.constantFrom(
        "application/json",
        "application/json",
        "application/json",
        "text/plain",
        "application/x-www-form-urlencoded",
      ),
      key: fc.constantFrom<keyof typeof KEYS | "none" | "bad">(
        "admin",
        "admin",
        "admin",
        "read",
        "submit",
        "none",
        "bad",
      ),
      rawPathJunk: rarely(fc.constantFrom("%E0%A4%A", "%", "a".repeat(250))),
    })
    .map((d) => {
      let url = path;
      for (const p of pathParams) {
        url = url.replace(
          `{${p.name}}`,
          d.rawPathJunk ?? encodeURIComponent(String(d.path[p.name])),
        );
      }
      const query = new URLSearchParams(
        Object.entries(d.query).map(([k, v]) => [k, String(v)] as [string, string]),
      ).toString();
      const search = [query, d.extraQuery].filter(Boolean).join("&");
      const headers: Record<string, string> = {};
      if (d.key === "bad") headers["x-api-key"] = "not-a-key-0123456789";
      else if (d.key !== "none") headers["x-api-key"] = KEYS[d.key];
      const withBody = method !== "GET" && d.body !== null;
      if (withBody) headers["content-type"] = d.contentType;
      return {
        url: `${base}${url}${search ? `?${search}` : ""}`,
        init: {
          method,
          headers,
          ...(withBody ? { body: JSON.stringify(d.body) } : {}),
        },
        label: `${method} ${url}${search ? `?${search}` : ""} key=${d.key}`,
      };
    });
}

describe("every operation under random valid and invalid input", () => {
  let stack: Stack;
  let doc: OpenAPIV3.Document;
  const validators = new Map<string, ValidateFunction>();
  const ajv = addFormats(new Ajv({ strict: false }) as never) as unknown as Ajv;

  beforeAll(async () => {
    stack = await startStack({ store: testStore("memory").config, workers: false });
    doc = (await stack.call<OpenAPIV3.Document>("/docs/json", { scope: "none" })).body;
    await stack.call("/api/queues/emails/jobs", {
      method: "POST",
      json: { name: "email.send", payload: { to: "a@example.com", subject: "Hi" } },
    });
  });
  afterAll(() => stack.close());

  function validatorFor(where: string, schema: JsonSchema): ValidateFunction {
    let v = validators.get(where);
    if (!v) {
      v = ajv.compile(schema);
      validators.set(where, v);
    }
    return v;
  }

  it("never answers 5xx, and answers only documented statuses in their documented shape", async () => {
    const operations = operationsOf(doc);
    const seen = new Set<string>();
    const drawn = fc.oneof(
      ...operations.map((o) => requestFor(stack.url, o).map((r) => ({ o, r }))),
    );
    await fc.assert(
      fc.asyncProperty(drawn, async ({ o, r }) => {
        seen.add(`${o.method} ${o.path}`);
        const abort = new AbortController();
        const res = await fetch(r.url, { ...r.init, signal: abort.signal });
        const type = res.headers.get("content-type") ?? "";
        // An event stream never ends: its status and type are the answer.
        const text = type.startsWith("text/event-stream") ? "" : await res.text();
        abort.abort();
        expect(res.status, `${r.label} → ${text}`).toBeLessThan(500);
        const documented =
          o.op.responses[String(res.status)] ??
          (res.status < 300 ? o.op.responses["2XX"] : undefined);
        expect(documented, `${r.label} → undocumented ${res.status}: ${text}`).toBeDefined();
        const schema = jsonContent(documented as OpenAPIV3.ResponseObject);
        if (schema && type.startsWith("application/json")) {
          const validate = validatorFor(`${o.method} ${o.path} ${res.status}`, schema);
          const ok = validate(JSON.parse(text));
          expect(ok, `${r.label} → ${text}: ${ajv.errorsText(validate.errors)}`).toBe(true);
        }
      }),
      { numRuns: 400 },
    );
    // A draw that never reached an operation would test nothing about it.
    expect(seen.size).toBe(operations.length);
  });
});
