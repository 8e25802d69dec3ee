/**
 * Folds an answer's event stream into the JSON response of `POST /ask` (also used by the CLI).
 * An `error` event becomes a thrown AppError, so callers that have sent nothing yet can still
 * answer with the right status.
 */
import { AppError } from '../errors.ts';
import type { AnswerEvent, AskResponse, SourcesEvent } from './answer-types.ts';

export async function collectAnswer(
  events: AsyncIterable<AnswerEvent>,
  hooks: {
    onDelta?: ((text: string) => void) | undefined;
    onSources?: ((event: SourcesEvent) => void) | undefined;
    onReasoning?: ((text: string) => void) | undefined;
  } = {},
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
      case 'reasoning':
        hooks.onReasoning?.(event.text);
        break;
      case 'error':
        throw new AppError(event.code, event.message);
      case 'done': {
        if (sources === undefined) throw new Error('answer stream ended without sources');
        const notice = joinNotices(sources.notice, event.notice);
        return {
          answer: event.answer,
          answerable: event.answerable,
          sources: sources.sources,
          cited: event.cited,
          mode: sources.mode,
          model: sources.model,
          embedder: sources.embedder,
          ...(notice === undefined ? {} : { notice }),
          timings: event.timings,
        };
      }
    }
  }
  throw new AppError('internal', 'The answer stopped before it was complete.');
}

/** The answer's `notice`: what the sources event said (e.g. why extractive), then what the end said. */
export function joinNotices(...notices: (string | undefined)[]): string | undefined {
  const present = notices.filter((notice): notice is string => notice !== undefined && notice !== '');
  return present.length > 0 ? present.join(' ') : undefined;
}
