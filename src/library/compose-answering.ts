/**
 * What `npm start` (main.ts) and `npm run mcp` compose alike over a live index: the answer engine
 * (falling back to extractive answers when Ollama fails, with LLM=auto), the one gated note reader,
 * and the notes library every door translates to.
 */
import { createAnswerEngine, type AnswerEngineDeps } from '../answer/answer-engine.ts';
import type { ModeTracker } from '../answer/answer-mode.ts';
import type { AnswerFn } from '../answer/answer-types.ts';
import type { LiveIndex } from '../vector-index/live-index.ts';
import { indexedNoteReader } from './indexed-note-reader.ts';
import { createNotesLibrary, type NotesLibrary } from './notes-library.ts';

export interface Answering {
  answer: AnswerFn;
  readNote(relativePath: string): Promise<string | undefined>;
  library: NotesLibrary;
}

export function composeAnswering(options: {
  notesDir: string;
  topK: number;
  live: LiveIndex;
  tracker: ModeTracker;
  /** Re-checks the model server after a failed answer (default: the tracker's check; main.ts also warms models). */
  recheck?: () => Promise<unknown>;
  /** Warnings about answers (a cut prompt), for the log. */
  warn?: AnswerEngineDeps['warn'];
  /** Said with each answer, e.g. that a better index is being built behind the one answering (issue 15). */
  indexNotice?: () => string | undefined;
}): Answering {
  const { live, tracker } = options;
  const current = () => live.state().current;
  const answer = createAnswerEngine({
    current,
    mode: () => tracker.mode(),
    modeFor: (model, signal) => tracker.modeFor(model, signal),
    ...(options.indexNotice === undefined ? {} : { indexNotice: options.indexNotice }),
    topK: options.topK,
    onOllamaUnavailable: (error) => {
      const notice = tracker.markUnavailable(error);
      void (options.recheck ? options.recheck() : tracker.check()).catch(() => undefined);
      return notice;
    },
    ...(options.warn === undefined ? {} : { warn: options.warn }),
  });
  const readNote = indexedNoteReader(options.notesDir, current);
  return { answer, readNote, library: createNotesLibrary({ current, readNote, answer, topK: options.topK }) };
}
