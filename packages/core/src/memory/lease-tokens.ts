/**
 * Issues lease tokens: a random prefix per adapter plus a counter. Unique without a random
 * draw per claim, and two adapters (or a restarted one) never issue the same token.
 */
export class LeaseTokens {
  private readonly prefix = `${crypto.randomUUID().slice(0, 13)}.`;
  private counter = 0;

  next(): string {
    this.counter++;
    return this.prefix + this.counter.toString(36);
  }
}
