import type { FastifyRequest } from "fastify";

/**
 * How a request appears in the log: its path without the query string. A client that puts
 * its key in the URL (`?api_key=…`) is refused, and the key must not then sit in the log.
 */
export function requestLogView(request: FastifyRequest) {
  return {
    method: request.method,
    url: request.url.split("?")[0],
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}
