import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runJob } from "./run-job.js";

describe("email.send over SMTP", () => {
  const received: { from: string; to: string[]; data: string }[] = [];
  let server: SMTPServer;
  let port: number;
  beforeAll(async () => {
    server = new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS"],
      logger: false,
      onRcptTo(address, _session, callback) {
        // A mailbox that does not exist: a permanent 5xx.
        if (address.address.startsWith("nobody@")) {
          const err = Object.assign(new Error("No such user"), { responseCode: 550 });
          return callback(err);
        }
        callback();
      },
      onData(stream, session, callback) {
        let data = "";
        stream.on("data", (c: Buffer) => {
          data += c.toString();
        });
        stream.on("end", () => {
          received.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
            to: session.envelope.rcptTo.map((r) => r.address),
            data,
          });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("delivers the message with the job id as its Message-ID", async () => {
    const job = await runJob(
      "email.send",
      { to: "ada@example.com", subject: "Welcome", text: "Hello Ada" },
      { SMTP_URL: `smtp://127.0.0.1:${port}`, SMTP_FROM: "app@example.com" },
    );
    expect(job.state).toBe("completed");
    expect(job.result).toEqual({ messageId: `<${job.id}@queueflow>`, accepted: 1 });
    const mail = received.find((m) => m.data.includes(job.id));
    expect(mail?.to).toEqual(["ada@example.com"]);
    expect(mail?.from).toBe("app@example.com");
    expect(mail?.data).toContain("Subject: Welcome");
    expect(mail?.data).toContain("Hello Ada");
  });

  it("sends a permanently refused message to dead at once, without retries", async () => {
    const job = await runJob(
      "email.send",
      { to: "nobody@example.com", subject: "x", text: "x" },
      { SMTP_URL: `smtp://127.0.0.1:${port}` },
      { attempts: 5 },
    );
    expect(job.state).toBe("dead");
    expect(job.attempts).toBe(1);
    expect(job.errors[0]).toMatchObject({ name: "UnrecoverableError" });
  });

  it("retries when the server cannot be reached", async () => {
    const job = await runJob(
      "email.send",
      { to: "ada@example.com", subject: "x", text: "x" },
      { SMTP_URL: "smtp://127.0.0.1:1" },
      { attempts: 2 },
    );
    expect(job.state).toBe("dead");
    expect(job.attempts).toBe(2);
    expect(job.errors).toHaveLength(2);
  });
});
