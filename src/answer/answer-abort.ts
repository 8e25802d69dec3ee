/**
 * The abort set-up every streamed model answer needs (ollama-chat.ts, openai-chat.ts): one signal
 * that aborts when the caller aborts, when no piece arrived for `timeoutMs` (an idle timer re-armed
 * per piece, since the timeout is between pieces, not for the whole answer), or when the answer's
 * generator ends for any reason (`release()`), so that a reader that stops early closes the request.
 */
export interface AnswerAbort {
  /** Bound into the model client's fetch and stream call. */
  readonly signal: AbortSignal;
  /** (Re)starts the idle timer: call it before the request and after every piece. */
  arm(): void;
  /** Whether the idle timer fired (a failure: upstream_timeout), as opposed to a stop. */
  timedOut(): boolean;
  /** Whether `release()` ended the request (the generator ended or its reader stopped early). */
  released(): boolean;
  /** Stops the idle timer and aborts the request if it is still open. Idempotent. */
  release(): void;
}

export function answerAbort(signal: AbortSignal, timeoutMs: number): AnswerAbort {
  const idle = new AbortController();
  const released = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  return {
    signal: AbortSignal.any([signal, idle.signal, released.signal]),
    arm() {
      clearTimeout(timer);
      if (released.signal.aborted) return;
      timer = setTimeout(() => idle.abort(), timeoutMs);
    },
    timedOut: () => idle.signal.aborted,
    released: () => released.signal.aborted,
    release() {
      clearTimeout(timer);
      released.abort();
    },
  };
}
