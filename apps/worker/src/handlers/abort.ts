/**
 * Settle with `promise`, or reject with the signal's reason as soon as it aborts. For calls
 * that take no signal (an SMTP send, a sharp pipeline): the handler returns at once, so the
 * worker can settle or hand the job back, while the call itself runs out in the background.
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}
