import type { Db } from "mongodb";

/** How often the offset to the server clock is measured again. */
export const CLOCK_REFRESH_MS = 30_000;

/**
 * The server's clock, as an offset from this host's. Due times, leases and rate windows are
 * compared on it, so hosts whose clocks disagree still agree on what is due.
 *
 * Why an offset and not `$$NOW`: `$$NOW` needs update pipelines, which not every server the
 * adapter runs against supports, and a claim must also compute `leaseExpiresAt = now + L`
 * in the same single-document update. The offset is measured from `isMaster.localTime`
 * (every server answers isMaster; `hello` is newer), corrected by half the round trip, and
 * refreshed every {@link CLOCK_REFRESH_MS}; the sample with the shortest round trip wins,
 * so the error stays below half the best round trip plus the server's ms rounding.
 */
export class ServerClock {
  private offset = 0;
  private measuredAt = Number.NEGATIVE_INFINITY;
  private refreshing: Promise<void> | null = null;

  constructor(private readonly db: Db) {}

  /** Measure now (connect does this once before any operation). */
  async sync(): Promise<void> {
    let best = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 3; i++) {
      const sent = Date.now();
      const reply = await this.db.command({ isMaster: 1 });
      const received = Date.now();
      const localTime = reply.localTime;
      if (!(localTime instanceof Date)) return;
      const rtt = received - sent;
      if (rtt < best) {
        best = rtt;
        this.offset = localTime.getTime() - (sent + rtt / 2);
      }
    }
    this.measuredAt = Date.now();
  }

  /** The server's time in whole ms; re-measures in the background when the offset is old. */
  now(): number {
    if (Date.now() - this.measuredAt > CLOCK_REFRESH_MS && this.refreshing === null) {
      this.refreshing = this.sync()
        .catch(() => {
          // Keep the last offset; the next call tries again (the store may be down).
          this.measuredAt = Date.now() - CLOCK_REFRESH_MS + 1_000;
        })
        .finally(() => {
          this.refreshing = null;
        });
    }
    return Math.round(Date.now() + this.offset);
  }

  /** The last measured offset (server minus host), ms. */
  get offsetMs(): number {
    return this.offset;
  }
}
