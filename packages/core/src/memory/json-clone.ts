import type { AttemptError, Json } from "../job.js";

/**
 * Deep-copy a JSON value. Every record crossing the adapter boundary is copied so callers
 * never alias stored state; a hand-written walk costs a fraction of `structuredClone` on the
 * small payloads jobs carry (structuredClone serialises through the V8 value serializer),
 * and primitives, the common case for results and progress, cost nothing.
 */
export function cloneJson<T extends Json>(value: T): T {
  if (typeof value !== "object" || value === null) return value;
  return cloneObject(value) as T;
}

function cloneObject(value: object): Json {
  if (Array.isArray(value)) {
    const length = value.length;
    const out: Json[] = new Array(length);
    for (let i = 0; i < length; i++) out[i] = cloneJson(value[i] as Json);
    return out;
  }
  const proto = Object.getPrototypeOf(value);
  // Anything but a plain object (a Date that slipped past validation, say) keeps the
  // semantics callers would get from structuredClone.
  if (proto !== Object.prototype && proto !== null) return structuredClone(value) as Json;
  const out: { [key: string]: Json } = {};
  const source = value as { [key: string]: Json };
  for (const key in source) {
    if (!Object.hasOwn(source, key)) continue;
    const copy = cloneJson(source[key] as Json);
    // Assigning an own "__proto__" key (JSON.parse makes them) would set the prototype.
    if (key === "__proto__") {
      Object.defineProperty(out, key, {
        value: copy,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else {
      out[key] = copy;
    }
  }
  return out;
}

/** Copy of a JSON object map (metadata, a payload patch). */
export function cloneJsonObject(value: { [key: string]: Json }): { [key: string]: Json } {
  return cloneObject(value) as { [key: string]: Json };
}

/** Copy one attempt error, keeping only the fields the contract defines. */
export function cloneAttemptError(error: AttemptError): AttemptError {
  const copy: AttemptError = {
    attempt: error.attempt,
    name: error.name,
    message: error.message,
    at: error.at,
  };
  if (error.stack !== undefined) copy.stack = error.stack;
  if (error.errorClass !== undefined) copy.errorClass = error.errorClass;
  return copy;
}

export function cloneAttemptErrors(errors: readonly AttemptError[]): AttemptError[] {
  const length = errors.length;
  const out: AttemptError[] = new Array(length);
  for (let i = 0; i < length; i++) out[i] = cloneAttemptError(errors[i] as AttemptError);
  return out;
}

/** True for `{...}` objects, the only payloads a patch can be merged into. */
export function isPlainObject(value: Json): value is { [key: string]: Json } {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
