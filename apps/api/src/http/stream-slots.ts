import { ApiError } from "./errors.js";

/**
 * Caps open event streams, in the process and per requester. A stream holds a socket, a
 * subscription and a heartbeat timer for as long as the client likes, so without a cap one
 * key could hold every socket the process has.
 */
export class StreamSlots {
  readonly #max: number;
  readonly #maxPerRequester: number;
  readonly #open = new Map<string, number>();
  #total = 0;

  constructor(max: number, maxPerRequester: number) {
    this.#max = max;
    this.#maxPerRequester = maxPerRequester;
  }

  /**
   * Take a slot for `requester`; call the returned function once when the stream ends.
   * @throws ApiError 429 `TOO_MANY_STREAMS` when the process or the requester has no slot left.
   */
  take(requester: string): () => void {
    const held = this.#open.get(requester) ?? 0;
    if (held >= this.#maxPerRequester) {
      throw new ApiError(
        429,
        "TOO_MANY_STREAMS",
        `This key already has ${held} event streams open (at most ${this.#maxPerRequester}); close one first.`,
      );
    }
    if (this.#total >= this.#max) {
      throw new ApiError(
        429,
        "TOO_MANY_STREAMS",
        `The server has ${this.#total} event streams open, its maximum; retry later.`,
      );
    }
    this.#open.set(requester, held + 1);
    this.#total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#total--;
      const left = (this.#open.get(requester) ?? 1) - 1;
      if (left === 0) this.#open.delete(requester);
      else this.#open.set(requester, left);
    };
  }
}
