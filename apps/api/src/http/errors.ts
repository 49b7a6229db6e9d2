import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import { type ErrorCode, isQueueFlowError } from "@queueflow/core";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";

/** Codes the API adds to core's `QF_*` codes. Codes are API: never rename one. */
export type ApiErrorCode =
  | "UNAUTHORIZED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "QUEUE_NOT_FOUND"
  | "SCHEDULE_NOT_FOUND"
  | "DEAD_LETTER_NOT_FOUND"
  | "UNKNOWN_JOB_TYPE"
  | "VALIDATION_FAILED"
  | "MALFORMED_BODY"
  | "BODY_TOO_LARGE"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "RATE_LIMITED"
  | "TOO_MANY_STREAMS"
  | "REQUEST_TIMEOUT"
  | "HEADERS_TOO_LARGE"
  | "MALFORMED_REQUEST"
  | "INTERNAL";

/** An error the API answers with: a stable code, an HTTP status, a message for people. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly statusCode: number,
    readonly code: ApiErrorCode | ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** The body of every error response. */
export interface ErrorBody {
  error: { code: ApiErrorCode | ErrorCode; message: string; details?: unknown };
}

const STATUS_OF_CORE_CODE: Record<ErrorCode, number> = {
  QF_INVALID_ARGUMENT: 400,
  QF_INVALID_PAYLOAD: 422,
  QF_PAYLOAD_TOO_LARGE: 413,
  QF_JOB_NOT_FOUND: 404,
  QF_INVALID_STATE: 409,
  QF_NOT_SUPPORTED: 400,
  QF_LEASE_LOST: 409,
  QF_NO_HANDLER: 500,
  QF_TIMEOUT: 504,
  QF_STORE_UNAVAILABLE: 503,
  QF_CLOSED: 503,
  QF_STORE_CONFLICT: 409,
};

// Fastify's own client errors, by code: body parsing and content negotiation.
const FASTIFY_CODES: Record<string, ApiErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: "BODY_TOO_LARGE",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "UNSUPPORTED_MEDIA_TYPE",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "MALFORMED_BODY",
  FST_ERR_CTP_EMPTY_JSON_BODY: "MALFORMED_BODY",
  FST_ERR_CTP_INVALID_JSON_BODY: "MALFORMED_BODY",
};

/** Map anything thrown in a route to a status and an {@link ErrorBody}. */
export function toErrorResponse(err: unknown): { status: number; body: ErrorBody } {
  if (err instanceof ApiError) {
    const error = { code: err.code, message: err.message };
    return {
      status: err.statusCode,
      body: { error: err.details === undefined ? error : { ...error, details: err.details } },
    };
  }
  if (hasZodFastifySchemaValidationErrors(err)) {
    return {
      status: 400,
      body: {
        error: {
          code: "VALIDATION_FAILED",
          message: `Request ${err.validationContext ?? "input"} is invalid: ${err.validation
            .map((v) => `${v.instancePath || "(root)"} ${v.message}`)
            .join("; ")}`,
          details: err.validation.map((v) => ({ path: v.instancePath, message: v.message })),
        },
      },
    };
  }
  if (isQueueFlowError(err)) {
    return {
      status: STATUS_OF_CORE_CODE[err.code] ?? 500,
      body: { error: { code: err.code, message: err.message } },
    };
  }
  const fe = err as Partial<FastifyError>;
  const mapped = fe.code === undefined ? undefined : FASTIFY_CODES[fe.code];
  if (mapped)
    return {
      status: fe.statusCode ?? 400,
      body: { error: { code: mapped, message: fe.message ?? mapped } },
    };
  // A JSON syntax error from the body parser carries a 400 but no Fastify code.
  if (typeof fe.statusCode === "number" && fe.statusCode >= 400 && fe.statusCode < 500) {
    return {
      status: fe.statusCode,
      body: { error: { code: "MALFORMED_BODY", message: fe.message ?? "Malformed request" } },
    };
  }
  return {
    status: 500,
    body: {
      error: { code: "INTERNAL", message: "Internal error; the server log has the details." },
    },
  };
}

function answer(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { status, body } = toErrorResponse(err);
  if (status >= 500) request.log.error({ err }, "request failed");
  else request.log.info({ code: body.error.code, status }, "request rejected");
  return reply.code(status).send(body);
}

// The router's own errors: a path it cannot decode, or a parameter past maxParamLength.
// Their messages quote the URL, which may hold a key or a payload, so the answer says what
// was wrong without echoing it.
const ROUTER_ERRORS: Record<string, string> = {
  FST_ERR_BAD_URL: "The request path is not valid percent-encoding.",
  FST_ERR_MAX_PARAM_LENGTH: "A path parameter is too long (at most 200 characters).",
};

/**
 * Fastify's `frameworkErrors`: errors raised before routing, which skip the error handler.
 * They get the same {@link ErrorBody} and, as no hook runs for them, the headers every
 * answer carries.
 */
export function answerFrameworkError(
  err: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  void reply.headers({ "x-content-type-options": "nosniff", "cache-control": "no-store" });
  const message = ROUTER_ERRORS[err.code];
  answer(message ? new ApiError(400, "VALIDATION_FAILED", message) : err, request, reply);
}

// What Node reports on a connection before Fastify has a request for it.
const CLIENT_ERRORS: Record<string, { status: number; code: ApiErrorCode; message: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    code: "REQUEST_TIMEOUT",
    message: "The request did not arrive within REQUEST_TIMEOUT_MS; send it faster.",
  },
  HPE_HEADER_OVERFLOW: {
    status: 431,
    code: "HEADERS_TOO_LARGE",
    message: "The request headers are too large.",
  },
};

/**
 * Fastify's `clientErrorHandler`: the connection's request timed out or is not HTTP. The
 * socket is answered with an {@link ErrorBody} (best effort: it may be gone) and destroyed.
 */
export function answerClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  const known = err.code === undefined ? undefined : CLIENT_ERRORS[err.code];
  const { status, code, message } = known ?? {
    status: 400,
    code: "MALFORMED_REQUEST" as const,
    message: "The request is not valid HTTP.",
  };
  if (socket.writable) {
    const body = JSON.stringify({ error: { code, message } } satisfies ErrorBody);
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

/** Answer every error, including unknown routes, with an {@link ErrorBody}. */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler(answer);
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      error: {
        code: "NOT_FOUND",
        message: `No route ${request.method} ${request.url.split("?")[0]}.`,
      },
    } satisfies ErrorBody),
  );
}
