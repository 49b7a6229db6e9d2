/** The lines `pnpm start` prints once everything answers. */
export function banner(o: {
  mode: string;
  apiUrl: string;
  workerUrl: string | null;
  apiKey: { value: string; generated: boolean } | null;
}): string {
  const lines = [
    "",
    `QueueFlow is running (${o.mode})`,
    `  API       ${o.apiUrl}/api`,
    `  API docs  ${o.apiUrl}/docs`,
    `  Health    ${o.apiUrl}/health`,
    `  Metrics   ${o.apiUrl}/metrics`,
  ];
  if (o.workerUrl) lines.push(`  Worker    ${o.workerUrl}/health  ${o.workerUrl}/metrics`);
  if (o.apiKey) {
    lines.push(
      o.apiKey.generated
        ? `  API key   ${o.apiKey.value}  (admin, made for this run; set API_KEYS_ADMIN to choose one)`
        : "  API key   from API_KEYS_ADMIN",
    );
    const key = o.apiKey.generated ? o.apiKey.value : "$API_KEY";
    lines.push(
      "",
      "Try:",
      `  curl -s -X POST ${o.apiUrl}/api/queues/emails/jobs -H 'x-api-key: ${key}' \\`,
      `    -H 'content-type: application/json' \\`,
      `    -d '{"name":"email.send","payload":{"to":"ada@example.com","subject":"Hello","text":"Hi!"}}'`,
      `  curl -s ${o.apiUrl}/api/queues/emails -H 'x-api-key: ${key}'`,
    );
  }
  lines.push("", "Ctrl-C stops (running jobs finish first).", "");
  return lines.join("\n");
}
