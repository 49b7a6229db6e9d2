/** Listener signatures keyed by event name. */
export type EventMap = { [event: string]: (...args: never[]) => void };

/**
 * A small typed event emitter. Unlike Node's, an `error` event with no listener does not
 * throw (a queue must not crash its host process over a transient store error); it is
 * reported through `process.emitWarning` so it is never silently lost.
 */
export class TypedEmitter<E extends EventMap> {
  readonly #listeners = new Map<keyof E, Set<E[keyof E]>>();

  /** Subscribe; returns a function that unsubscribes. */
  on<K extends keyof E>(event: K, listener: E[K]): () => void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener);
    return () => this.off(event, listener);
  }

  /** Subscribe for the next emission only. */
  once<K extends keyof E>(event: K, listener: E[K]): () => void {
    const wrapped = ((...args: Parameters<E[K]>) => {
      this.off(event, wrapped);
      (listener as (...a: Parameters<E[K]>) => void)(...args);
    }) as E[K];
    return this.on(event, wrapped);
  }

  off<K extends keyof E>(event: K, listener: E[K]): void {
    this.#listeners.get(event)?.delete(listener);
  }

  /** Number of listeners for an event; lets emitters skip building costly arguments. */
  listenerCount(event: keyof E): number {
    return this.#listeners.get(event)?.size ?? 0;
  }

  protected emit<K extends keyof E>(event: K, ...args: Parameters<E[K]>): void {
    const set = this.#listeners.get(event);
    if (!set || set.size === 0) {
      if (event === "error") warn(args[0]);
      return;
    }
    for (const listener of [...set]) {
      try {
        (listener as (...a: Parameters<E[K]>) => void)(...args);
      } catch (err) {
        // A throwing listener must not break the queue's own control flow.
        if (event !== "error") this.emit("error" as K, ...([err] as unknown as Parameters<E[K]>));
        else warn(err);
      }
    }
  }
}

function warn(err: unknown): void {
  process.emitWarning(err instanceof Error ? err : String(err), "QueueFlowWarning");
}
