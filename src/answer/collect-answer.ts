/**
 * Folds an answer's event stream into the JSON response of `POST /ask` (also used by the CLI).
 * An `error` event becomes a thrown AppError, so callers that have sent nothing yet can still
 * answer with the right status.
 */
import { AppError } from '../errors.ts';
import type { AnswerEvent, AskResponse, SourcesEvent } from './answer-types.ts';

export async function collectAnswer(
  events: AsyncIterable<AnswerEvent>,
  hooks: { onDelta?: ((text: string) => void) | undefined; onSources?: ((event: SourcesEvent) => void) | undefined } = {},
): Promise<AskResponse> {
  let sources: SourcesEvent | undefined;
  for await (const event of events) {
    switch (event.type) {
      case 'sources':
        sources = event;
        hooks.onSources?.(event);
        break;
      case 'delta':
        hooks.onDelta?.(event.text);
        break;
      case 'error':
        throw new AppError(event.code, event.message);
      case 'done':
        if (sources === undefined) throw new Error('answer stream ended without sources');
        return {
          answer: event.answer,
          answerable: event.answerable,
          sources: sources.sources,
          cited: event.cited,
          mode: sources.mode,
          model: sources.model,
          embedder: sources.embedder,
          ...(sources.notice === undefined ? {} : { notice: sources.notice }),
          timings: event.timings,
        };
    }
  }
  throw new AppError('internal', 'The answer stopped before it was complete.');
}
