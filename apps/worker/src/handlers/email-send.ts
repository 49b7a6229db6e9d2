import type { EmailSendResult, HandlerContext, Logger } from "@queueflow/app-kit";
import { UnrecoverableError } from "@queueflow/core";
import nodemailer, { type Transporter } from "nodemailer";
import { abortable } from "./abort.js";

export interface EmailOptions {
  /** smtp(s)://user:pass@host:port; unset: log the message instead of sending (development). */
  url: string | undefined;
  from: string;
  log: Logger;
}

/** Sends `email.send` jobs over SMTP with one pooled transport per worker process. */
export function createEmailHandler(o: EmailOptions) {
  const transport: Transporter = o.url
    ? nodemailer.createTransport(o.url, { from: o.from })
    : nodemailer.createTransport({ jsonTransport: true }, { from: o.from });
  if (!o.url) o.log.warn("SMTP_URL is not set: email.send jobs are logged, not sent");

  const handler = async (job: HandlerContext<"email.send">): Promise<EmailSendResult> => {
    const { to, subject, text, html, replyTo } = job.payload;
    try {
      const info = await abortable(
        transport.sendMail({
          to,
          subject,
          ...(text === undefined ? {} : { text }),
          ...(html === undefined ? {} : { html }),
          ...(replyTo === undefined ? {} : { replyTo }),
          // The same Message-ID on every attempt: a retry after a lost reply is a duplicate
          // receiving servers and clients can recognise.
          messageId: `<${job.id}@queueflow>`,
        }),
        job.signal,
      );
      if (!o.url) o.log.info({ jobId: job.id, to, subject }, "email (not sent: no SMTP_URL)");
      return { messageId: String(info.messageId), accepted: info.accepted?.length ?? 1 };
    } catch (err) {
      // 5xx replies (no such mailbox, rejected sender) will not change on retry.
      const code = (err as { responseCode?: number }).responseCode;
      if (typeof code === "number" && code >= 500 && code < 600) {
        throw new UnrecoverableError(
          `SMTP refused the message (${code}): ${(err as Error).message}`,
        );
      }
      throw err;
    }
  };
  return { handler, close: () => transport.close() };
}
