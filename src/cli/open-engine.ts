/**
 * What the terminal commands (ask, eval, bench) share: config -> embedder -> up-to-date index ->
 * answer function, exactly as the server composes them, without listening.
 */
import type { Config } from '../config.ts';
import { createAnswerEngine } from '../answer/answer-engine.ts';
import { createModeTracker } from '../answer/answer-mode.ts';
import type { AnswerFn } from '../answer/answer-types.ts';
import type { RetrievalMethod } from '../answer/retrieve.ts';
import { chooseEmbedder } from '../embeddings/create-embedder.ts';
import type { Embedder } from '../embeddings/embedder.ts';
import { createIndexBackend } from '../vector-index/create-backend.ts';
import type { BuildSummary, SearchableIndex } from '../vector-index/index-backend.ts';

export interface OpenedEngine {
  answer: AnswerFn;
  /** The same engine over the same index, retrieving by `method` (eval compares the methods). */
  answerWith(method: RetrievalMethod): AnswerFn;
  index: SearchableIndex;
  embedder: Embedder;
  summary: BuildSummary;
}

export async function openEngine(
  config: Config,
  options: { log?: (line: string) => void; retrievalMethod?: RetrievalMethod } = {},
): Promise<OpenedEngine> {
  const log = options.log ?? (() => undefined);
  const tracker = createModeTracker(config, log);
  await tracker.check();
  const { embedder, reason } = await chooseEmbedder(config);
  log(`embedder ${embedder.id}: ${reason}`);
  const backend = createIndexBackend(config, { log });
  const { index, summary } = await backend.update({
    notesDir: config.notesDir,
    embedder,
    log,
  });
  const answerWith = (method: RetrievalMethod | undefined): AnswerFn =>
    createAnswerEngine({
      current: () => ({ index, embedder }),
      mode: () => tracker.mode(),
      topK: config.topK,
      onOllamaUnavailable: (error) => tracker.markUnavailable(error),
      ...(method ? { retrievalMethod: method } : {}),
    });
  return { answer: answerWith(options.retrievalMethod), answerWith, index, embedder, summary };
}
