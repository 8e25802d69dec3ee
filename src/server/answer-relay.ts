/**
 * What every door that streams an answer shares (`/ask`'s SSE, `/v1`'s chunks): after the first
 * event, relay events until a terminal one, a client that left, or a failure, so that exactly one
 * terminal event always goes out (a failure becomes an `error` event carrying only what a client
 * may see), and a generator stopped early is closed (which closes its upstream request).
 */
import type { AnswerEvent } from '../answer/answer-types.ts';
import { isAbortError } from '../errors.ts';
import { forClient, toHttpError } from './error-handler.ts';
import type { Logger } from './logger.ts';

/** Lets a generator we stop early run its `finally` (closing its upstream request); its failures only get logged. */
export async function closeIterator(iterator: AsyncIterator<AnswerEvent>, log: Logger): Promise<void> {
  try {
    await iterator.return?.();
  } catch (error) {
    if (!isAbortError(error)) log.warn('answer stream failed while closing', { error: error instanceof Error ? error.message : String(error) });
  }
}

export interface RelayOptions {
  iterator: AsyncIterator<AnswerEvent>;
  first: AnswerEvent;
  signal: AbortSignal;
  log: Logger;
  /** True once the response can take no more bytes. */
  gone(): boolean;
  /** Writes one event in the door's format; false once the client is gone. */
  write(event: AnswerEvent): Promise<boolean>;
}

export async function relayAnswer(options: RelayOptions): Promise<void> {
  const { iterator, signal, log } = options;
  let event = options.first;
  let terminal = false;
  let finished = false;
  try {
    for (;;) {
      if (event.type === 'error') event = { type: 'error', ...forClient(event) };
      if (!(await options.write(event)) || signal.aborted) break;
      if (event.type === 'done' || event.type === 'error') {
        terminal = true;
        break;
      }
      const next = await iterator.next();
      if (next.done === true) {
        finished = true;
        break;
      }
      event = next.value;
    }
  } catch (error) {
    finished = true;
    if (!signal.aborted) {
      const appError = toHttpError(error);
      if (appError.code === 'internal') log.error('answer failed while streaming', { error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
      terminal = await options.write({ type: 'error', ...forClient(appError) });
    }
  } finally {
    if (!terminal && !signal.aborted && !options.gone()) {
      // Exactly one terminal event, even when the AnswerFn forgets to send one.
      log.error('answer failed while streaming', { error: 'answer stream ended without a done or error event' });
      await options.write({ type: 'error', ...forClient({ code: 'internal', message: '' }) });
    }
    if (!finished) await closeIterator(iterator, log);
  }
}
