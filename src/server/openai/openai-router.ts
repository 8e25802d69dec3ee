/**
 * The OpenAI-compatible door at `/v1` (SPEC "Additions"), so `new OpenAI({ baseURL:
 * 'http://127.0.0.1:3000/v1', apiKey: API_TOKEN })`, Open WebUI and other OpenAI clients can ask the
 * notes. Mounted before the app's own bearer auth so that every failure here, a missing token
 * included, has OpenAI's error shape.
 */
import express from 'express';
import type { AnswerFn } from '../../answer/answer-types.ts';
import { AppError } from '../../errors.ts';
import type { AnswerGate } from '../answer-gate.ts';
import { bearerAuth } from '../bearer-auth.ts';
import { jsonBody } from '../json-body.ts';
import type { Logger } from '../logger.ts';
import { rebindingGuard } from '../rebinding-guard.ts';
import type { Readiness } from '../server-deps.ts';
import { chatCompletionsRoute } from './chat-completions.ts';
import { OPENAI_MODEL_ID } from './chat-request.ts';
import { MAX_OPENAI_BODY_BYTES, openAiErrorHandler } from './openai-errors.ts';

export interface OpenAiRouterDeps {
  answer: AnswerFn;
  readiness(): Readiness;
  gate: AnswerGate;
  log: Logger;
  apiToken?: string | undefined;
  listenHost?: string | undefined;
  corsOrigin?: string | undefined;
  sseHeartbeatMs?: number | undefined;
  /** Time the server started: the `created` of the model. */
  startedAt?: Date;
}

export function openAiRouter(deps: OpenAiRouterDeps): express.Router {
  const router = express.Router();
  const created = Math.floor((deps.startedAt ?? new Date()).getTime() / 1000);
  router.use(rebindingGuard({ listenHost: deps.listenHost, corsOrigin: deps.corsOrigin }));
  if (deps.apiToken !== undefined) router.use(bearerAuth(deps.apiToken));

  const model = { id: OPENAI_MODEL_ID, object: 'model', created, owned_by: 'asknotes' };
  router.get('/models', (_req, res) => {
    res.json({ object: 'list', data: [model] });
  });
  router.get('/models/:id', (req, res) => {
    if (req.params['id'] !== OPENAI_MODEL_ID) throw new AppError('not_found', `The model "${String(req.params['id']).slice(0, 100)}" does not exist here; use "${OPENAI_MODEL_ID}".`);
    res.json(model);
  });
  router.post('/chat/completions', ...jsonBody({ bodyRequired: true, limitBytes: MAX_OPENAI_BODY_BYTES }), chatCompletionsRoute(deps));
  router.use((req, _res, next) => {
    next(new AppError('not_found', `No route ${req.method} /v1${(req.url.split('?')[0] ?? '').slice(0, 200)} (this server offers GET /v1/models and POST /v1/chat/completions).`));
  });
  router.use(openAiErrorHandler(deps.log));
  return router;
}
