import { type ErrorCode, isQueueFlowError } from "@queueflow/core";
import type { FastifyError, FastifyInstance } from "fastify";
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

/** Answer every error, including unknown routes, with an {@link ErrorBody}. */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => {
    const { status, body } = toErrorResponse(err);
    if (status >= 500) request.log.error({ err }, "request failed");
    else request.log.info({ code: body.error.code, status }, "request rejected");
    return reply.code(status).send(body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      error: {
        code: "NOT_FOUND",
        message: `No route ${request.method} ${request.url.split("?")[0]}.`,
      },
    } satisfies ErrorBody),
  );
}
