import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { apiEnvSchema } from "@queueflow/app-api";
import { workerEnvSchema } from "@queueflow/app-worker";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";

const here = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));
const read = (path: string) => readFileSync(here(path), "utf8");

const API_VARS = new Set(Object.keys(apiEnvSchema.shape));
const WORKER_VARS = new Set(Object.keys(workerEnvSchema.shape));

type Doc = Record<string, unknown> & { kind?: string; metadata?: { name?: string } };
// biome-ignore lint/suspicious/noExplicitAny: parsed YAML is walked loosely; expect() checks each shape.
type Loose = any;

function k8s(file: string): Doc[] {
  return parseAllDocuments(read(`k8s/${file}`)).map((d) => d.toJS() as Doc);
}
const all = ["config.yaml", "api.yaml", "worker.yaml"].flatMap(k8s);
const find = (kind: string, name: string): Loose => {
  const doc = all.find((d) => d.kind === kind && d.metadata?.name === name);
  if (!doc) throw new Error(`no ${kind} ${name}`);
  return doc;
};
const configMap = find("ConfigMap", "queueflow-config");
const secret = find("Secret", "queueflow-secrets");

describe("Kubernetes manifests", () => {
  for (const [name, vars, port, portName] of [
    ["queueflow-api", API_VARS, 3000, "http"],
    ["queueflow-worker", WORKER_VARS, 9464, "metrics"],
  ] as const) {
    describe(name, () => {
      const deployment = find("Deployment", name);
      const container = deployment.spec.template.spec.containers[0];

      it("runs its own image as non-root, selecting its own pods", () => {
        expect(container.image).toMatch(new RegExp(`/${name}:`));
        expect(deployment.spec.selector.matchLabels).toEqual({ "app.kubernetes.io/name": name });
        expect(deployment.spec.template.metadata.labels["app.kubernetes.io/name"]).toBe(name);
        expect(deployment.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
        expect(container.securityContext.allowPrivilegeEscalation).toBe(false);
      });

      it("exposes the port the app listens on, and probes the app's health routes there", () => {
        expect(container.ports).toContainEqual({ name: portName, containerPort: port });
        const env = Object.fromEntries(
          container.env.map((e: { name: string; value: string }) => [e.name, e.value]),
        );
        expect(Number(env[name === "queueflow-api" ? "PORT" : "METRICS_PORT"])).toBe(port);
        expect(env[name === "queueflow-api" ? "HOST" : "METRICS_HOST"]).toBe("0.0.0.0");
        expect(container.readinessProbe.httpGet).toEqual({ path: "/health/ready", port: portName });
        expect(container.livenessProbe.httpGet).toEqual({ path: "/health/live", port: portName });
      });

      it("sets only variables the app reads", () => {
        const names = [
          ...container.env.map((e: { name: string }) => e.name),
          ...Object.keys(configMap.data),
          ...Object.keys(secret.stringData).filter(
            (k) => vars === API_VARS || !k.startsWith("API_KEYS"),
          ),
        ];
        expect(names.filter((n) => !vars.has(n))).toEqual([]);
      });
    });
  }

  it("gives workers longer to stop than their shutdown deadline", () => {
    const spec = find("Deployment", "queueflow-worker").spec.template.spec;
    const timeout = Number(
      spec.containers[0].env.find((e: { name: string }) => e.name === "SHUTDOWN_TIMEOUT_MS").value,
    );
    expect(spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(timeout);
  });

  it("points each Service at its Deployment's named port", () => {
    for (const [service, app] of [
      ["queueflow-api", "queueflow-api"],
      ["queueflow-worker-metrics", "queueflow-worker"],
    ] as const) {
      const s = find("Service", service);
      const ports = find("Deployment", app).spec.template.spec.containers[0].ports.map(
        (p: { name: string }) => p.name,
      );
      expect(s.spec.selector).toEqual({ "app.kubernetes.io/name": app });
      for (const p of s.spec.ports) expect(ports).toContain(p.targetPort);
    }
  });

  it("scales the API with an HPA and the workers with KEDA on queue depth", () => {
    const hpa = find("HorizontalPodAutoscaler", "queueflow-api");
    expect(hpa.apiVersion).toBe("autoscaling/v2");
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: "Deployment", name: "queueflow-api" });
    const scaled = find("ScaledObject", "queueflow-worker");
    expect(scaled.apiVersion).toBe("keda.sh/v1alpha1");
    expect(scaled.spec.scaleTargetRef.name).toBe("queueflow-worker");
    const trigger = scaled.spec.triggers[0];
    expect(trigger.type).toBe("metrics-api");
    // The worker serves GET /keda?queue=<catalog queue> with a `backlog` field (@queueflow/autoscaler).
    const url = new URL(trigger.metadata.url);
    expect(url.hostname.split(".")[0]).toBe("queueflow-worker-metrics");
    expect(Number(url.port)).toBe(9464);
    expect(url.pathname).toBe("/keda");
    expect(url.searchParams.get("queue")).toBe("emails");
    expect(trigger.metadata.valueLocation).toBe("backlog");
  });
});

describe("docker-compose.yml", () => {
  const compose: Loose = parse(read("docker-compose.yml"), { merge: true });
  const services = compose.services;

  it("runs Redis, PostgreSQL, MongoDB, the API and two workers", () => {
    expect(Object.keys(services).sort()).toEqual([
      "api",
      "mongo",
      "postgres",
      "redis",
      "worker-1",
      "worker-2",
    ]);
    expect(services.redis.image).toMatch(/^redis:7/);
    expect(services.postgres.image).toMatch(/^postgres:/);
    expect(services.mongo.image).toMatch(/^mongo:/);
  });

  it("builds each app from its Dockerfile with the repository as context", () => {
    expect(services.api.build).toEqual({ context: "../..", dockerfile: "apps/api/Dockerfile" });
    for (const w of ["worker-1", "worker-2"]) {
      expect(services[w].build).toEqual({ context: "../..", dockerfile: "apps/worker/Dockerfile" });
    }
  });

  it("publishes the ports the apps listen on and sets only variables they read", () => {
    expect(services.api.ports).toEqual(["3000:3000"]);
    expect(services.api.environment.PORT).toBe("3000");
    expect(Object.keys(services.api.environment).filter((n) => !API_VARS.has(n))).toEqual([]);
    for (const w of ["worker-1", "worker-2"]) {
      expect(services[w].ports[0]).toMatch(/:9464$/);
      expect(services[w].environment.METRICS_PORT).toBe("9464");
      expect(Object.keys(services[w].environment).filter((n) => !WORKER_VARS.has(n))).toEqual([]);
      expect(Number.parseInt(services[w].stop_grace_period, 10) * 1000).toBeGreaterThan(
        Number(services[w].environment.SHUTDOWN_TIMEOUT_MS),
      );
    }
  });

  it("points every store URL at a service of the file", () => {
    for (const key of ["REDIS_URL", "DATABASE_URL", "MONGO_URL"]) {
      const host = new URL(services.api.environment[key]).hostname;
      expect(Object.keys(services)).toContain(host);
    }
  });
});

describe("Dockerfiles", () => {
  for (const [app, port] of [
    ["api", 3000],
    ["worker", 9464],
  ] as const) {
    const text = readFileSync(here(`../${app}/Dockerfile`), "utf8");
    it(`${app}: multi-stage, non-root, runs the built bundle, exposes ${port}`, () => {
      expect(text.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
      expect(text).toMatch(/^USER node$/m);
      expect(text).toMatch(new RegExp(`^EXPOSE ${port}$`, "m"));
      expect(text).toMatch(/^CMD \["node", "dist\/main\.js"\]$/m);
      expect(text).toContain(`--filter @queueflow/app-${app} deploy --prod`);
      const tsup = readFileSync(here(`../${app}/tsup.config.ts`), "utf8");
      // The worker's bundle also holds what its process pool forks (AUTOSCALE_MODE=processes).
      expect(tsup).toContain(
        app === "worker" ? 'entry: ["src/main.ts", "src/pool-child.ts"]' : 'entry: ["src/main.ts"]',
      );
    });
  }
});
