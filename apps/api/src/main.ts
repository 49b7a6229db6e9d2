import { runService } from "@queueflow/app-kit";
import { createApi } from "./app.js";
import { loadApiConfig } from "./config.js";

/** The API as its own process: `node dist/main.js` in the container, `pnpm start` here. */
runService({
  name: "queueflow-api",
  loadConfig: loadApiConfig,
  async start({ config, log, tracing, adapter }) {
    const { app } = await createApi({
      config,
      adapter,
      logger: log,
      middleware: tracing.middleware,
    });
    const address = await app.listen({ port: config.port, host: config.host });
    log.info({ store: config.store.kind, docs: `${address}/docs` }, `API listening on ${address}`);
    return async () => {
      await app.close();
    };
  },
});
