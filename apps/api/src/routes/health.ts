import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { ApiContext } from "../context.js";
import { checkHealth } from "../health.js";

/**
 * Probes, outside /api and without a key: orchestrators call them. `/health` answers 503 only
 * when unhealthy, so a degraded API (no workers) stays in rotation and keeps taking jobs.
 */
export const healthRoutes =
  (ctx: ApiContext): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      "/health",
      {
        schema: {
          tags: ["health"],
          summary: "healthy, degraded or unhealthy, with each component",
        },
      },
      async (_request, reply) => {
        const report = await checkHealth(ctx.healthOptions);
        void reply.code(report.status === "unhealthy" ? 503 : 200);
        return report;
      },
    );
    app.get(
      "/health/live",
      { schema: { tags: ["health"], summary: "The process answers (liveness probe)" } },
      async () => ({ status: "ok" }),
    );
    app.get(
      "/health/ready",
      { schema: { tags: ["health"], summary: "The store answers (readiness probe)" } },
      async (_request, reply) => {
        let ok = false;
        try {
          ok = (await ctx.healthOptions.adapter.health()).ok;
        } catch {
          ok = false;
        }
        void reply.code(ok ? 200 : 503);
        return { status: ok ? "ready" : "not ready" };
      },
    );
    app.get(
      "/metrics",
      {
        schema: {
          tags: ["health"],
          summary: "Prometheus text exposition, every name prefixed queueflow_",
        },
      },
      async (_request, reply) => {
        void reply.header("content-type", ctx.metrics.registry.contentType);
        return ctx.metrics.registry.metrics();
      },
    );
  };
