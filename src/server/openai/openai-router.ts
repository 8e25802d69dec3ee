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
import { abortOnDisconnect } from '../ask-route.ts';
import { bearerAuth } from '../bearer-auth.ts';
import { jsonBody } from '../json-body.ts';
import type { Logger } from '../logger.ts';
import { rebindingGuard } from '../rebinding-guard.ts';
import type { Readiness } from '../server-deps.ts';
import { chatCompletionsRoute } from './chat-completions.ts';
import { OPENAI_MODEL_ID, unknownModel } from './chat-request.ts';
import type { ModelsReport } from '../../answer/chat-models.ts';
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
  /** The installed chat models (as `GET /models`): each is also a model here, answering from the notes. */
  listModels?: ((signal: AbortSignal) => Promise<ModelsReport>) | undefined;
}

export function openAiRouter(deps: OpenAiRouterDeps): express.Router {
  const router = express.Router();
  const created = Math.floor((deps.startedAt ?? new Date()).getTime() / 1000);
  router.use(rebindingGuard({ listenHost: deps.listenHost, corsOrigin: deps.corsOrigin }));
  if (deps.apiToken !== undefined) router.use(bearerAuth(deps.apiToken));

  const model = (id: string) => ({ id, object: 'model', created, owned_by: 'asknotes' });
  /**
   * `asknotes` (the configured chat model, or extractive without one), then each installed chat
   * model by its own name, as `/ask`'s `model` takes it: a client's model picker (Open WebUI) offers
   * them all. A model server that cannot be reached leaves just `asknotes`.
   */
  const modelIds = async (signal: AbortSignal): Promise<string[]> => {
    const installed = deps.listModels === undefined ? [] : await deps.listModels(signal).then((report) => report.models.map((entry) => entry.name), () => []);
    return [OPENAI_MODEL_ID, ...installed.filter((name) => name !== OPENAI_MODEL_ID)];
  };
  /** The model ids, the listing abandoned if the client goes away meanwhile. */
  const listFor = async (res: express.Response): Promise<string[]> => {
    const controller = new AbortController();
    const stop = abortOnDisconnect(res, controller);
    try {
      return await modelIds(controller.signal);
    } finally {
      stop();
    }
  };
  router.get('/models', async (_req, res) => {
    res.json({ object: 'list', data: (await listFor(res)).map(model) });
  });
  router.get('/models/:id', async (req, res) => {
    const id = String(req.params['id']);
    if (!(await listFor(res)).includes(id)) throw unknownModel(id);
    res.json(model(id));
  });
  router.post('/chat/completions', ...jsonBody({ bodyRequired: true, limitBytes: MAX_OPENAI_BODY_BYTES }), chatCompletionsRoute(deps));
  router.use((req, _res, next) => {
    next(new AppError('not_found', `No route ${req.method} /v1${(req.url.split('?')[0] ?? '').slice(0, 200)} (this server offers GET /v1/models and POST /v1/chat/completions).`));
  });
  router.use(openAiErrorHandler(deps.log));
  return router;
}
