/**
 * `POST /ask` (SPEC "HTTP API"): validate, admit, then run the AnswerFn and either collect its
 * events into one JSON body or relay them as Server-Sent Events.
 *
 * The status line is committed as late as possible: an error thrown (or yielded as the very first
 * event) before anything was sent becomes a proper JSON error with its status; once the SSE stream
 * has begun, errors travel as its `error` event. Either way a client that disconnects aborts the
 * answer's signal, which cancels the upstream model request for this answer only.
 */
import type { Request, RequestHandler, Response } from 'express';
import type { AnswerFn, AskRequest, AskResponse, DoneEvent, SourcesEvent } from '../answer/answer-types.ts';
import { AppError } from '../errors.ts';
import type { AnswerGate } from './answer-gate.ts';
import { parseAskBody } from './ask-body.ts';
import type { Logger } from './logger.ts';
import type { Readiness } from './server-deps.ts';
import { closeIterator, relayAnswer } from './answer-relay.ts';
import { startSse } from './sse.ts';

/** How long a client turned away with `429 busy` should wait before trying again. */
export const RETRY_AFTER_SECONDS = 2;
const DEFAULT_HEARTBEAT_MS = 15_000;

export interface AskRouteDeps {
  answer: AnswerFn;
  readiness(): Readiness;
  topK: number;
  gate: AnswerGate;
  log: Logger;
  sseHeartbeatMs?: number | undefined;
}

function wantsEventStream(req: Request, stream: boolean): boolean {
  return stream || (req.headers.accept ?? '').toLowerCase().includes('text/event-stream');
}

/** Aborts `controller` when the client goes away before the response was completely written. */
export function abortOnDisconnect(res: Response, controller: AbortController): () => void {
  // `req.on('close')` fires as soon as the request body is read; only the response's `close`
  // before `writableFinished` means the client left.
  const onClose = (): void => {
    if (!res.writableFinished) controller.abort();
  };
  res.on('close', onClose);
  return () => res.off('close', onClose);
}

/**
 * Every door that starts an answer (`/ask`, `/v1/chat/completions`) admits it here: `503
 * index_not_ready` before the first index, `429 busy` (with Retry-After) when the gate is full.
 * On success the caller holds a gate slot and must release it.
 */
export function admitAnswer(deps: { readiness(): Readiness; gate: AnswerGate }, res: Response, options: { needsIndex: boolean }): void {
  if (options.needsIndex) {
    const readiness = deps.readiness();
    if (!readiness.ready) {
      throw new AppError('index_not_ready', readiness.reason ?? 'The index is still being built; try again in a moment (see GET /readyz).');
    }
  }
  if (!deps.gate.tryAcquire()) {
    res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
    throw new AppError('busy', `Too many answers in progress; try again in ${RETRY_AFTER_SECONDS} s.`);
  }
}

export function askRoute(deps: AskRouteDeps): RequestHandler {
  return async (req, res) => {
    const { request, stream } = parseAskBody(req.body);
    if (request.k === undefined) request.k = deps.topK;
    // rag:false asks the model directly and needs no index; the AnswerFn judges that case itself.
    admitAnswer(deps, res, { needsIndex: request.rag !== false });
    const controller = new AbortController();
    const stopWatching = abortOnDisconnect(res, controller);
    try {
      if (wantsEventStream(req, stream)) await streamAnswer(deps, request, controller.signal, res);
      else await answerAsJson(deps, request, controller.signal, res);
    } catch (error) {
      // A client that left is not a failure: nothing to report, nobody to tell.
      if (controller.signal.aborted) {
        deps.log.debug('answer stopped: client disconnected');
        return;
      }
      throw error;
    } finally {
      stopWatching();
      deps.gate.release();
    }
  };
}

async function answerAsJson(deps: AskRouteDeps, request: AskRequest, signal: AbortSignal, res: Response): Promise<void> {
  let sources: SourcesEvent | undefined;
  let done: DoneEvent | undefined;
  for await (const event of deps.answer(request, { signal })) {
    if (signal.aborted) return;
    if (event.type === 'sources') sources = event;
    else if (event.type === 'error') throw new AppError(event.code, event.message);
    else if (event.type === 'done') {
      done = event;
      break;
    }
    // Deltas are not needed: `done.answer` is the whole text.
  }
  if (signal.aborted) return;
  if (done === undefined || sources === undefined) {
    throw new Error(`answer stream ended without ${done === undefined ? 'a done' : 'a sources'} event`);
  }
  const body: AskResponse = {
    answer: done.answer,
    answerable: done.answerable,
    sources: sources.sources,
    cited: done.cited,
    mode: sources.mode,
    model: sources.model,
    embedder: sources.embedder,
    timings: done.timings,
  };
  // The sources event says why an answer is extractive; the done event what the written answer lacks.
  const notice = [sources.notice, done.notice].filter((text) => text !== undefined && text !== '').join(' ');
  if (notice !== '') body.notice = notice;
  res.status(200).json(body);
}

async function streamAnswer(deps: AskRouteDeps, request: AskRequest, signal: AbortSignal, res: Response): Promise<void> {
  const iterator = deps.answer(request, { signal })[Symbol.asyncIterator]();
  // The first event decides between a JSON error (nothing sent yet) and a stream.
  const first = await iterator.next();
  if (first.done !== true && (signal.aborted || first.value.type === 'error')) await closeIterator(iterator, deps.log);
  if (signal.aborted) return;
  if (first.done === true) throw new Error('answer stream ended without any event');
  if (first.value.type === 'error') throw new AppError(first.value.code, first.value.message);

  const sse = startSse(res, { heartbeatMs: deps.sseHeartbeatMs ?? DEFAULT_HEARTBEAT_MS });
  try {
    await relayAnswer({ iterator, first: first.value, signal, log: deps.log, gone: () => res.destroyed, write: (event) => sse.send(event) });
  } finally {
    deps.log.debug('answer stream ended', { drainWaits: sse.drainWaits, aborted: signal.aborted });
    sse.end();
  }
}
