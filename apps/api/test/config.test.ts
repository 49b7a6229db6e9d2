import { ConfigError } from "@queueflow/app-kit";
import { describe, expect, it } from "vitest";
import { loadApiConfig } from "../src/config.js";

describe("configuration", () => {
  it("names every bad variable in one error, hiding secrets and URL passwords", () => {
    let error: unknown;
    try {
      loadApiConfig({
        PORT: "eighty",
        QUEUEFLOW_STORE: "postgres",
        API_KEYS_ADMIN: "short",
        REDIS_URL: "http://user:hunter2@host",
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toContain("PORT: must be a number");
    expect(message).toContain("API_KEYS_ADMIN");
    expect(message).toContain("<redacted>");
    expect(message).toContain("REDIS_URL: must be a URL starting with redis:// or rediss://");
    expect(message).not.toContain("hunter2");
    expect(message).not.toContain("short");
  });

  it("checks the dead-letter settings", () => {
    expect(() =>
      loadApiConfig({
        API_KEYS_ADMIN: "a-key-of-sixteen-chars",
        DLQ_ALERT_WEBHOOK_URL: "ftp://hooks.example.com/x",
        HEALTH_DLQ_GROWTH_MAX: "-1",
      }),
    ).toThrow(
      /DLQ_ALERT_WEBHOOK_URL: must be a URL starting with http:\/\/ or https:\/\/[\s\S]*HEALTH_DLQ_GROWTH_MAX: must be at least 0|HEALTH_DLQ_GROWTH_MAX: must be at least 0[\s\S]*DLQ_ALERT_WEBHOOK_URL/,
    );
    const config = loadApiConfig({ API_KEYS_ADMIN: "a-key-of-sixteen-chars" });
    expect(config.deadLetters).toEqual({ patchMaxBytes: 65_536, alerts: null });
    expect(config.health).toMatchObject({ deadLetterGrowthMax: 100, deadLetterWindowMs: 300_000 });
  });

  it("requires the chosen store's URL", () => {
    expect(() =>
      loadApiConfig({ QUEUEFLOW_STORE: "postgres", API_KEYS_ADMIN: "a-key-of-sixteen-chars" }),
    ).toThrow("DATABASE_URL: is required when QUEUEFLOW_STORE=postgres");
  });

  it("defaults to the memory store on port 3000", () => {
    const config = loadApiConfig({ API_KEYS_ADMIN: "a-key-of-sixteen-chars" });
    expect(config.store).toEqual({ kind: "memory" });
    expect(config.port).toBe(3000);
  });
});
