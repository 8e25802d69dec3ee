/**
 * `POST /v1/chat/completions`: the engine's answer events, translated to OpenAI's chat completion
 * (or `chat.completion.chunk` SSE ending in `finish_reason: "stop"` and `data: [DONE]`). The
 * content is the answer with its `[n]` markers followed by the answer's own notice (one that cites
 * no note, a cut prompt) as a Markdown note and a Markdown sources list; the sources
 * themselves travel in the extra fields `sources` (and `cited`, `answerable`, `mode`, `notice`),
 * which OpenAI clients keep on the object. Events other than sources/delta/done/error (such as a
 * model's reasoning) never enter the content.
 */
import { randomUUID } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import type { AnswerEvent, AnswerFn, AskRequest, DoneEvent, Source, SourcesEvent } from '../../answer/answer-types.ts';
import { AppError } from '../../errors.ts';
import { answerFooter } from '../../library/sources-markdown.ts';
import type { AnswerGate } from '../answer-gate.ts';
import { closeIterator, relayAnswer } from '../answer-relay.ts';
import { abortOnDisconnect, admitAnswer } from '../ask-route.ts';
import type { Logger } from '../logger.ts';
import type { Readiness } from '../server-deps.ts';
import { startSse } from '../sse.ts';
import { parseChatRequest, OPENAI_MODEL_ID } from './chat-request.ts';
import { openAiErrorBody } from './openai-errors.ts';

const HEARTBEAT_MS = 15_000;

export interface ChatCompletionsDeps {
  answer: AnswerFn;
  readiness(): Readiness;
  gate: AnswerGate;
  log: Logger;
  sseHeartbeatMs?: number | undefined;
}

/** What asknotes adds to OpenAI's objects. */
interface SourceFields {
  sources: Source[];
  mode: SourcesEvent['mode'];
  notice?: string;
}

function sourceFields(event: SourcesEvent): SourceFields {
  return { sources: event.sources, mode: event.mode, ...(event.notice === undefined ? {} : { notice: event.notice }) };
}

/** An error before the answer started, in `/v1`'s words: a missing model also names the default. */
function beforeAnswer(error: { code: AppError['code']; message: string }, model: string): AppError {
  if (error.code !== 'model_not_found' || model === OPENAI_MODEL_ID || error.message.includes(`use "${OPENAI_MODEL_ID}"`)) {
    return error instanceof AppError ? error : new AppError(error.code, error.message);
  }
  return new AppError(error.code, `${error.message} Or use "${OPENAI_MODEL_ID}" for the default chat model.`);
}

/** The notices of both events, as `/ask` joins them. */
function joinedNotice(sources: SourcesEvent | undefined, done: DoneEvent): { notice?: string } {
  const notice = [sources?.notice, done.notice].filter((text) => text !== undefined && text !== '').join(' ');
  return notice === '' ? {} : { notice };
}

export function chatCompletionsRoute(deps: ChatCompletionsDeps): RequestHandler {
  return async (req, res) => {
    const { ask, stream, model } = parseChatRequest(req.body);
    admitAnswer(deps, res, { needsIndex: true });
    const controller = new AbortController();
    const stopWatching = abortOnDisconnect(res, controller);
    const meta = { id: `chatcmpl-${randomUUID()}`, created: Math.floor(Date.now() / 1000), model };
    try {
      if (stream) await streamCompletion(deps, ask, meta, controller.signal, res);
      else await completion(deps, ask, meta, controller.signal, res);
    } catch (error) {
      if (controller.signal.aborted) return;
      // The engine throws a missing model before its first event.
      throw error instanceof AppError && !res.headersSent ? beforeAnswer(error, model) : error;
    } finally {
      stopWatching();
      deps.gate.release();
    }
  };
}

interface Meta {
  id: string;
  created: number;
  model: string;
}

async function completion(deps: ChatCompletionsDeps, ask: AskRequest, meta: Meta, signal: AbortSignal, res: Response): Promise<void> {
  let sources: SourcesEvent | undefined;
  for await (const event of deps.answer(ask, { signal })) {
    if (signal.aborted) return;
    if (event.type === 'sources') sources = event;
    else if (event.type === 'error') throw sources === undefined ? beforeAnswer(event, meta.model) : new AppError(event.code, event.message);
    else if (event.type === 'done') {
      if (sources === undefined) throw new Error('answer stream ended without a sources event');
      res.status(200).json({
        ...meta,
        object: 'chat.completion',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: event.answer + answerFooter(sources.sources, event.cited, event.notice), refusal: null },
            finish_reason: 'stop',
            logprobs: null,
          },
        ],
        ...sourceFields(sources),
        ...joinedNotice(sources, event),
        cited: event.cited,
        answerable: event.answerable,
      });
      return;
    }
  }
  if (!signal.aborted) throw new Error('answer stream ended without a done event');
}

async function streamCompletion(deps: ChatCompletionsDeps, ask: AskRequest, meta: Meta, signal: AbortSignal, res: Response): Promise<void> {
  const iterator = deps.answer(ask, { signal })[Symbol.asyncIterator]();
  // Nothing is sent before the first event: a failure up to here is still a proper HTTP error.
  const first = await iterator.next();
  if (first.done !== true && (signal.aborted || first.value.type === 'error')) await closeIterator(iterator, deps.log);
  if (signal.aborted) return;
  if (first.done === true) throw new Error('answer stream ended without any event');
  if (first.value.type === 'error') throw beforeAnswer(first.value, meta.model);

  const sse = startSse(res, { heartbeatMs: deps.sseHeartbeatMs ?? HEARTBEAT_MS });
  const chunk = (delta: Record<string, unknown>, finish: 'stop' | null, extra: object = {}) =>
    sse.data(JSON.stringify({ ...meta, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }], ...extra }));
  let sources: SourcesEvent | undefined;
  // Events other than these four (a model's reasoning) are not part of an OpenAI answer.
  const write = async (event: AnswerEvent): Promise<boolean> => {
    if (event.type === 'sources') {
      sources = event;
      return chunk({ role: 'assistant', content: '' }, null, sourceFields(event));
    }
    if (event.type === 'delta') return chunk({ content: event.text }, null);
    if (event.type === 'error') return sse.data(JSON.stringify(openAiErrorBody(event)));
    if (event.type !== 'done') return true;
    const footer = answerFooter(sources?.sources ?? [], event.cited, event.notice);
    if (footer !== '' && !(await chunk({ content: footer }, null))) return false;
    const notice = event.notice === undefined || event.notice === '' ? {} : { notice: event.notice };
    if (!(await chunk({}, 'stop', { cited: event.cited, answerable: event.answerable, ...notice }))) return false;
    return sse.data('[DONE]');
  };
  try {
    await relayAnswer({ iterator, first: first.value, signal, log: deps.log, gone: () => res.destroyed, write });
  } finally {
    sse.end();
  }
}
