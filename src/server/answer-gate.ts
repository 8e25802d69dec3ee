/**
 * Admission control for answers (issue 8 "Load"): at most `max` answers in flight; the next one
 * is turned away with `429 busy` at once instead of queueing behind a slow model. A slot is held
 * until the answer's stream has really finished, not merely until its client left.
 */
export interface AnswerGate {
  tryAcquire(): boolean;
  release(): void;
  readonly inFlight: number;
}

export function createAnswerGate(max: number): AnswerGate {
  let inFlight = 0;
  return {
    tryAcquire() {
      if (inFlight >= max) return false;
      inFlight += 1;
      return true;
    },
    release() {
      inFlight = Math.max(0, inFlight - 1);
    },
    get inFlight() {
      return inFlight;
    },
  };
}
