/**
 * The Express application: routes of SPEC "HTTP API" in the order that makes access rules hold.
 * Security headers and the request log wrap everything; CORS preflight, `/healthz` and the static
 * chat page come before bearer auth (a preflight and a page load carry no token); every other
 * route comes after it.
 */
import express from 'express';
import type { RequestHandler } from 'express';
import { AppError } from '../errors.ts';
import { createAnswerGate } from './answer-gate.ts';
import { abortOnDisconnect, askRoute } from './ask-route.ts';
import { bearerAuth } from './bearer-auth.ts';
import { cors } from './cors.ts';
import { errorHandler } from './error-handler.ts';
import { jsonBody } from './json-body.ts';
import { mcpRoute } from './mcp/mcp-route.ts';
import { notesRoute } from './notes-route.ts';
import { openAiRouter } from './openai/openai-router.ts';
import { rebindingGuard } from './rebinding-guard.ts';
import { requestLog } from './request-log.ts';
import { securityHeaders } from './security-headers.ts';
import type { ServerDeps } from './server-deps.ts';
import { staticRoutes } from './static-routes.ts';

const routeNotFound: RequestHandler = (req, _res, next) => {
  next(new AppError('not_found', `No route ${req.method} ${(req.originalUrl.split('?')[0] ?? '').slice(0, 200)}.`));
};

/** At most this many `note` parameters per `/index/status` request (the page asks in batches). */
export const MAX_STATUS_NOTES = 100;
const MAX_NOTE_PATH_CHARS = 1024;

/**
 * `?note=a.md&note=b.md`: the notes whose lines `/index/status` should return (the page's cheap way
 * to the hashes of the notes an answer cited, instead of every note's line); undefined for all.
 */
function statusNotes(url: string): string[] | undefined {
  const query = url.includes('?') ? new URLSearchParams(url.slice(url.indexOf('?') + 1)) : undefined;
  const notes = query?.getAll('note') ?? [];
  if (notes.length === 0) return undefined;
  if (notes.length > MAX_STATUS_NOTES) throw new AppError('invalid_request', `At most ${MAX_STATUS_NOTES} "note" parameters per request (got ${notes.length}).`);
  if (notes.some((note) => note.length > MAX_NOTE_PATH_CHARS)) throw new AppError('invalid_request', `A "note" parameter must be a note path of at most ${MAX_NOTE_PATH_CHARS} characters.`);
  return notes;
}

export function createApp(deps: ServerDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // ETags on API answers would only make clients cache what changes on every re-index.
  app.set('etag', false);

  app.use(requestLog(deps.log), securityHeaders());
  if (deps.corsOrigin !== undefined) app.use(cors(deps.corsOrigin));

  // The static router would answer any OPTIONS with its own Allow list; CORS preflights were handled above.
  app.options('/{*path}', routeNotFound);
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.use(staticRoutes());

  // One gate for every door that starts answers.
  const gate = createAnswerGate(deps.maxConcurrentAnswers);
  // Before the app's own auth: /v1 answers every failure, a missing token included, in OpenAI's shape.
  app.use(
    '/v1',
    openAiRouter({
      answer: (request, options) => deps.answer(request, options),
      readiness: () => deps.readiness(),
      gate,
      log: deps.log,
      apiToken: deps.apiToken,
      listenHost: deps.listenHost,
      corsOrigin: deps.corsOrigin,
      sseHeartbeatMs: deps.sseHeartbeatMs,
      listModels: (signal) => deps.listModels(signal),
    }),
  );

  if (deps.apiToken !== undefined) app.use(bearerAuth(deps.apiToken));

  if (deps.library !== undefined) {
    const mcp = mcpRoute({ library: deps.library, log: deps.log, listenHost: deps.listenHost, corsOrigin: deps.corsOrigin });
    app.use('/mcp', mcp.router);
  }

  app.get('/readyz', (_req, res) => {
    const readiness = deps.readiness();
    res.status(readiness.ready ? 200 : 503).json(readiness);
  });
  app.get('/index/status', (req, res) => {
    const only = statusNotes(req.originalUrl);
    res.json(only === undefined ? deps.indexStatus() : deps.indexStatus(only));
  });
  app.get('/index/notes', (_req, res) => {
    const listing = deps.listNotes();
    if (listing === undefined) throw new AppError('index_not_ready', 'The first index build is still running; the notes are listed once it is done.');
    res.json(listing);
  });
  app.get('/models', async (_req, res) => {
    const controller = new AbortController();
    const stop = abortOnDisconnect(res, controller);
    try {
      const report = await deps.listModels(controller.signal);
      if (!controller.signal.aborted) res.json(report);
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    } finally {
      stop();
    }
  });
  app.post('/reindex', ...jsonBody({ bodyRequired: false }), (_req, res) => {
    const started = deps.reindex();
    // The build runs on after the 202; its failures surface in /index/status and the log.
    if (started instanceof Promise) {
      started.catch((error: unknown) => deps.log.error('re-index failed', { error: error instanceof Error ? error.message : String(error) }));
    }
    res.status(202).json({ status: 'accepted', progress: '/index/status' });
  });
  app.use('/notes', notesRoute((relativePath) => deps.readNote(relativePath), deps.noteFiles));
  app.post(
    '/ask',
    // A rebound web page must not read the notes through answers (issue 13): the same check as /mcp and /v1.
    rebindingGuard({ listenHost: deps.listenHost, corsOrigin: deps.corsOrigin }),
    ...jsonBody({ bodyRequired: true }),
    askRoute({
      answer: (request, options) => deps.answer(request, options),
      readiness: () => deps.readiness(),
      topK: deps.topK,
      gate,
      log: deps.log,
      sseHeartbeatMs: deps.sseHeartbeatMs,
    }),
  );

  app.use(routeNotFound);
  app.use(errorHandler(deps.log));
  return app;
}
