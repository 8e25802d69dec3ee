/**
 * answerAbort: the one abort set-up of both streamed model answers (Ollama, OpenAI-compatible).
 * The idle timer is between pieces, a caller's abort is a stop, release() closes the request.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { answerAbort } from '../src/answer/answer-abort.ts';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('answerAbort', () => {
  it('times out only when no piece re-armed the timer for timeoutMs', () => {
    const abort = answerAbort(new AbortController().signal, 100);
    abort.arm();
    vi.advanceTimersByTime(90);
    abort.arm();
    vi.advanceTimersByTime(90);
    abort.arm();
    // 270 ms in all, never 100 between pieces: still open.
    vi.advanceTimersByTime(90);
    expect(abort.signal.aborted).toBe(false);
    expect(abort.timedOut()).toBe(false);
    vi.advanceTimersByTime(10);
    expect(abort.signal.aborted).toBe(true);
    expect(abort.timedOut()).toBe(true);
    expect(abort.released()).toBe(false);
  });

  it('does not run the timer before the first arm()', () => {
    const abort = answerAbort(new AbortController().signal, 50);
    vi.advanceTimersByTime(1_000);
    expect(abort.signal.aborted).toBe(false);
  });

  it("follows the caller's signal: a stop, not a timeout", () => {
    const caller = new AbortController();
    const abort = answerAbort(caller.signal, 100);
    abort.arm();
    caller.abort();
    expect(abort.signal.aborted).toBe(true);
    expect(abort.timedOut()).toBe(false);
    expect(abort.released()).toBe(false);
  });

  it('release() aborts the request and stops the timer for good', () => {
    const abort = answerAbort(new AbortController().signal, 100);
    abort.arm();
    abort.release();
    expect(abort.signal.aborted).toBe(true);
    expect(abort.released()).toBe(true);
    abort.arm();
    vi.advanceTimersByTime(1_000);
    expect(abort.timedOut()).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    abort.release();
    expect(abort.released()).toBe(true);
  });
});
