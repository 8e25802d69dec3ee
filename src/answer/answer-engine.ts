/**
 * The answer function: retrieve (hybrid) -> judge the evidence -> a grounded Ollama answer or an
 * extractive one, as a stream of events with exactly one terminal event.
 */
import { AppError, toAppError } from '../errors.ts';
import type { Embedder } from '../embeddings/embedder.ts';
import type { SearchableIndex } from '../vector-index/index-backend.ts';
import { pathName } from '../vector-index/indexed-chunk.ts';
import { MIN_COVERAGE, MODEL_MIN_COVERAGE, judgeEvidence, notCoveredAnswer } from './abstain.ts';
import type { AnswerEvent, AnswerFn, AskRequest, Source, SourcesEvent, Timings } from './answer-types.ts';
import { loadEnglishWords } from './english-words.ts';
import { queryTerms, type TermWeight } from './evidence.ts';
import { composeExtractiveAnswer } from './extractive.ts';
import { streamModelChat, type ModelChat } from './chat-stream.ts';
import { ModelReplyReader, type ModelPiece, type ModelReply, type ReplyOptions } from './model-reply.ts';
import { buildDirectMessages, buildGroundedMessages, estimatePromptTokens, type ChatMessage } from './prompt.ts';
import { mayOpenInReasoning } from './reasoning.ts';
import { isNoAnswer, noAnswerText, replyNotices } from './reply-notices.ts';
import { linkResolverFor, shownSources, toSource } from './note-sources.ts';
import { retrieve, type RetrievalMethod } from './retrieve.ts';
import { isScoped, type ScopeFilter } from './scope.ts';

/** How the next answer is produced; decided by the caller (LLM, LLM_PROVIDER and the model server's state). */
export type AnswerModeState = (ModelChat & { fallbackNotice?: string | undefined }) | { mode: 'extractive'; notice: string };

export interface AnswerEngineDeps {
  /** The index and the embedder that built it, or undefined while the first build runs. */
  current(): { index: SearchableIndex; embedder: Embedder } | undefined;
  mode(): AnswerModeState;
  /**
   * The mode for a request naming its own chat model (`/ask` `model`); may throw `model_not_found`.
   * Without it, such a request uses `mode()` with the model swapped in.
   */
  modeFor?: (model: string, signal: AbortSignal) => Promise<AnswerModeState>;
  topK: number;
  /** Something to say about the index answering, e.g. that a better one is being built behind it. */
  indexNotice?: () => string | undefined;
  /**
   * With LLM=auto: called when Ollama fails before its first token. Returning a notice makes this answer
   * extractive instead of failing (the caller also re-checks Ollama).
   */
  onOllamaUnavailable?: (error: AppError) => string | undefined;
  retrievalMethod?: RetrievalMethod;
  /** Warnings about an answer (e.g. the model server cut the prompt); the server logs them. */
  warn?: (message: string, fields: Record<string, string | number | boolean | undefined>) => void;
}

export function extractiveNotice(chatModel: string, fix = `start Ollama and run: ollama pull ${chatModel}`): string {
  return `Extractive answer: no chat model is connected, so these are the most relevant lines of your notes. For a written answer, ${fix}`;
}

function termWeight(index: SearchableIndex): TermWeight {
  return (term) => index.keyword.idf(term);
}

export function createAnswerEngine(deps: AnswerEngineDeps): AnswerFn {
  // The word list abstention reads, loaded once the server is up rather than by the first question.
  setImmediate(loadEnglishWords).unref();
  return (request, { signal }) => answer(deps, request, signal);
}

async function* answer(deps: AnswerEngineDeps, request: AskRequest, signal: AbortSignal): AsyncGenerator<AnswerEvent> {
  const started = performance.now();
  const question = request.question.trim();
  const history = request.history ?? [];
  const loaded = deps.current();
  if (loaded === undefined) {
    throw new AppError('index_not_ready', 'The notes are still being indexed. Try again in a few seconds.');
  }
  const { index, embedder } = loaded;
  let state = await modeOf(deps, request.model, signal);
  const elapsed = (since: number) => Math.round(performance.now() - since);

  if (request.rag === false) {
    if (state.mode === 'extractive') {
      throw new AppError('llm_unavailable', `Asking without notes needs a chat model. ${state.notice}`);
    }
    yield* directAnswer(deps, state, question, history, embedder.id, signal, started);
    return;
  }

  const k = Math.min(Math.max(request.k ?? deps.topK, 1), 20);
  const retrievalStarted = performance.now();
  const scope = isScoped(request.filter) ? await index.scope(request.filter) : undefined;
  if (scope !== undefined && scope.size === 0) {
    // Nothing to search: say so plainly rather than answer from notes the user ruled out.
    yield { type: 'sources', sources: [], mode: state.mode, model: null, embedder: embedder.id };
    const text = noMatchAnswer(request.filter ?? {});
    yield { type: 'delta', text };
    const total = elapsed(started);
    yield { type: 'done', answer: text, answerable: false, cited: [], timings: { retrieval_ms: total, generation_ms: 0, total_ms: total } };
    return;
  }
  const retrieved = await retrieve(index, embedder, question, {
    k,
    method: deps.retrievalMethod ?? 'hybrid',
    context: history.filter((turn) => turn.role === 'user').map((turn) => turn.content),
    scope,
    signal,
  });
  const retrievalMs = elapsed(retrievalStarted);
  const resolve = linkResolverFor(index.manifest);
  const sources: Source[] = retrieved.map((hit, position) => toSource(hit.chunk, position + 1, hit.score, resolve));
  // What the model and the extractive answerer read: vault syntax as its shown words.
  const shown = shownSources(sources);
  const query = queryTerms(question, termWeight(index));
  const judgement = judgeEvidence(
    query,
    shown.map((source) => `${source.heading}\n${source.text}`),
    {
      question,
      documentFrequency: (term) => index.keyword.documentFrequency(term),
      // With a chat model the gate only stops clearly absent evidence; the model decides the rest.
      minCoverage: state.mode === 'extractive' ? MIN_COVERAGE : MODEL_MIN_COVERAGE,
    },
  );
  const timings = (generationStarted: number): Timings => ({
    retrieval_ms: retrievalMs,
    generation_ms: elapsed(generationStarted),
    total_ms: elapsed(started),
  });
  const indexNotice = deps.indexNotice?.();
  const sourcesEvent = (mode: AnswerModeState['mode'], modeNotice?: string): SourcesEvent => {
    const notice = [modeNotice, indexNotice].filter((part) => part !== undefined).join(' ');
    return {
      type: 'sources',
      sources,
      mode,
      model: mode !== 'extractive' && state.mode !== 'extractive' ? state.chat.model : null,
      embedder: embedder.id,
      ...(notice === '' ? {} : { notice }),
    };
  };

  if (!judgement.answerable) {
    const generationStarted = performance.now();
    yield sourcesEvent(state.mode, state.mode === 'extractive' ? state.notice : undefined);
    const text = notCoveredAnswer(sources, judgement.unknownNames);
    yield { type: 'delta', text };
    yield { type: 'done', answer: text, answerable: false, cited: [], timings: timings(generationStarted) };
    return;
  }

  if (state.mode !== 'extractive') {
    const generationStarted = performance.now();
    const { messages } = buildGroundedMessages({ question, sources: shown, history, numCtx: state.chat.numCtx });
    const pieces = streamModelChat(state, messages, signal);
    let first: IteratorResult<ModelPiece> | undefined;
    try {
      // Sources are sent with the first token, so a failure before it can still become a JSON error
      // (or, with LLM=auto, an extractive answer) instead of a half-finished stream.
      first = await pieces.next();
    } catch (error) {
      const failure = toAppError(error);
      const notice = failure.code === 'llm_unavailable' || failure.code === 'upstream_timeout'
        ? deps.onOllamaUnavailable?.(failure)
        : undefined;
      if (notice === undefined) throw failure;
      state = { mode: 'extractive', notice };
    }
    if (state.mode !== 'extractive' && first !== undefined) {
      const reply = yield* relayModelAnswer(pieces, first, sourcesEvent(state.mode), {
        sources: sources.map((source) => source.n),
        grounded: true,
        mayOpenInReasoning: mayOpenInReasoning(state.chat.model),
      });
      if (reply === undefined || signal.aborted) return;
      yield* finishWrittenAnswer(deps, state, messages, reply, true, timings(generationStarted));
      return;
    }
  }

  const generationStarted = performance.now();
  const notice = state.mode === 'extractive' ? state.notice : undefined;
  yield sourcesEvent('extractive', notice);
  const composed = composeExtractiveAnswer(
    query,
    shown.map((source, position) => ({ ...source, context: `${retrieved[position]?.chunk.title ?? ''}\n${pathName(source.note)}\n${source.heading}` })),
  );
  yield { type: 'delta', text: composed.answer };
  yield { type: 'done', answer: composed.answer, answerable: true, cited: composed.cited, timings: timings(generationStarted) };
}

async function modeOf(deps: AnswerEngineDeps, model: string | undefined, signal: AbortSignal): Promise<AnswerModeState> {
  if (model === undefined) return deps.mode();
  if (deps.modeFor !== undefined) return deps.modeFor(model, signal);
  const state = deps.mode();
  if (state.mode === 'ollama') return { ...state, chat: { ...state.chat, model } };
  if (state.mode === 'openai') return { ...state, chat: { ...state.chat, model } };
  return state;
}

/** The answer when a scope selects no note at all. */
export function noMatchAnswer(filter: ScopeFilter): string {
  const parts: string[] = [];
  if ((filter.notes ?? []).length > 0) parts.push(`notes matching ${(filter.notes ?? []).map((glob) => `"${glob}"`).join(' or ')}`);
  if ((filter.tags ?? []).length > 0) parts.push(`tagged ${(filter.tags ?? []).map((tag) => `#${tag.replace(/^#+/, '')}`).join(' or ')}`);
  return `No notes match this scope (${parts.join(', ')}), so there is nothing to answer from. Widen the scope or ask about all notes.`;
}

async function* directAnswer(
  deps: AnswerEngineDeps,
  target: ModelChat,
  question: string,
  history: NonNullable<AskRequest['history']>,
  embedderId: string,
  signal: AbortSignal,
  started: number,
): AsyncGenerator<AnswerEvent> {
  const messages = buildDirectMessages({ question, history, numCtx: target.chat.numCtx });
  const pieces = streamModelChat(target, messages, signal);
  const first = await pieces.next();
  const reply = yield* relayModelAnswer(
    pieces,
    first,
    { type: 'sources', sources: [], mode: target.mode, model: target.chat.model, embedder: embedderId },
    { sources: [], grounded: false, mayOpenInReasoning: mayOpenInReasoning(target.chat.model) },
  );
  if (reply === undefined || signal.aborted) return;
  const total = Math.round(performance.now() - started);
  yield* finishWrittenAnswer(deps, target, messages, reply, false, { retrieval_ms: 0, generation_ms: total, total_ms: total });
}

/**
 * The terminal event of a written answer: an empty reply is an honest "no answer", an abstention is
 * unanswerable with nothing cited, and the notice says when nothing is cited or the prompt was cut.
 */
function* finishWrittenAnswer(
  deps: AnswerEngineDeps,
  target: ModelChat,
  messages: ChatMessage[],
  reply: ModelReply,
  grounded: boolean,
  timings: Timings,
): Generator<AnswerEvent> {
  const estimatedPromptTokens = estimatePromptTokens(messages);
  const { notices, promptCut } = replyNotices({ reply, grounded, estimatedPromptTokens, numCtx: target.chat.numCtx });
  if (promptCut) {
    deps.warn?.('the model server cut the prompt: it read fewer tokens than the prompt has', {
      model: target.chat.model,
      promptEvalCount: reply.usage.promptTokens,
      estimatedPromptTokens,
      numCtx: target.chat.numCtx,
    });
  }
  const notice = notices.length > 0 ? { notice: notices.join(' ') } : {};
  if (isNoAnswer(reply.answer)) {
    const text = noAnswerText(reply);
    yield { type: 'delta', text };
    yield { type: 'done', answer: text, answerable: false, cited: [], ...notice, timings };
    return;
  }
  yield { type: 'done', answer: reply.answer, answerable: !reply.abstained, cited: reply.cited, ...notice, timings };
}

/**
 * `leading` (the sources event), then the model's reply read from `first` on: answer pieces as deltas
 * (reasoning apart, citations normalised). Returns the reply, or undefined once a failure has gone out
 * as an error event (the stream has started).
 */
async function* relayModelAnswer(
  pieces: AsyncGenerator<ModelPiece>,
  first: IteratorResult<ModelPiece>,
  leading: AnswerEvent,
  options: ReplyOptions,
): AsyncGenerator<AnswerEvent, ModelReply | undefined> {
  const reader = new ModelReplyReader(options);
  try {
    yield leading;
    for (let step = first; !step.done; step = await pieces.next()) yield* reader.push(step.value);
    const { events, reply } = reader.end();
    yield* events;
    return reply;
  } catch (error) {
    const failure = toAppError(error);
    yield { type: 'error', code: failure.code, message: failure.message };
    return undefined;
  } finally {
    // A reader that stops early (break, or a closed stream) must not leave the model server generating.
    await pieces.return(undefined);
  }
}
