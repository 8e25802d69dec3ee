import type { Config } from '../config.ts';
import { AppError, modelNotFound } from '../errors.ts';
import type { Embedder } from './embedder.ts';
import { createLocalEmbedder } from './local-embedder.ts';
import { createOllamaEmbedder } from './ollama-embedder.ts';
import { hasModel, probeOllama } from './ollama-probe.ts';
import { createOpenAIEmbedder } from './openai-embedder.ts';
import { openaiModelNotFound } from './openai-errors.ts';
import { probeOpenAI, servesModel } from './openai-probe.ts';

export type EmbedderConfig = Pick<
  Config,
  | 'embeddings'
  | 'ollamaHost'
  | 'embedModel'
  | 'embedBatchSize'
  | 'embedConcurrency'
  | 'ollamaMaxRetries'
  | 'ollamaTimeoutMs'
  | 'ollamaConnectTimeoutMs'
  | 'ollamaKeepAlive'
  | 'llmProvider'
  | 'openaiEmbedBaseUrl'
  | 'openaiApiKey'
>;

export interface EmbedderChoice {
  embedder: Embedder;
  /** Why this embedder was chosen, for the log and /readyz. */
  reason: string;
}

/**
 * The one place that decides which embedder indexes and queries the notes (SPEC `EMBEDDINGS`):
 * `auto` = the model server (LLM_PROVIDER: Ollama, or an OpenAI-compatible one) when reachable and
 * serving EMBED_MODEL, else the built-in local embedder; `ollama` / `openai` = that provider's
 * server (config checks it is LLM_PROVIDER's) or a clear error; `local` = the built-in embedder.
 */
export async function chooseEmbedder(config: EmbedderConfig, signal?: AbortSignal): Promise<EmbedderChoice> {
  if (config.embeddings === 'local') {
    return { embedder: createLocalEmbedder(), reason: 'EMBEDDINGS=local' };
  }
  if (config.llmProvider === 'openai') return chooseOpenAIEmbedder(config, signal);
  const probe = await probeOllama({
    baseUrl: config.ollamaHost,
    timeoutMs: config.ollamaConnectTimeoutMs,
    ...(signal ? { signal } : {}),
  });
  const installed = probe.reachable && hasModel(probe.models, config.embedModel);
  if (installed) {
    const embedder = createOllamaEmbedder({
      baseUrl: config.ollamaHost,
      model: config.embedModel,
      batchSize: config.embedBatchSize,
      concurrency: config.embedConcurrency,
      maxRetries: config.ollamaMaxRetries,
      timeoutMs: config.ollamaTimeoutMs,
      keepAlive: config.ollamaKeepAlive,
    });
    return { embedder, reason: `Ollama at ${config.ollamaHost} has ${config.embedModel}` };
  }
  if (config.embeddings === 'ollama') {
    if (!probe.reachable) {
      throw new AppError(
        'llm_unavailable',
        `EMBEDDINGS=ollama but Ollama is not reachable at ${config.ollamaHost} (${probe.error ?? 'no answer'}). Start it with: ollama serve`,
      );
    }
    throw modelNotFound(config.embedModel);
  }
  const why = probe.reachable
    ? `Ollama has no ${config.embedModel} (run: ollama pull ${config.embedModel})`
    : `Ollama is not reachable at ${config.ollamaHost}`;
  return { embedder: createLocalEmbedder(), reason: `${why}; using the built-in local embedder` };
}

async function chooseOpenAIEmbedder(config: EmbedderConfig, signal: AbortSignal | undefined): Promise<EmbedderChoice> {
  const baseUrl = config.openaiEmbedBaseUrl;
  if (baseUrl === undefined) throw new Error('LLM_PROVIDER=openai needs OPENAI_BASE_URL (config checks this)');
  const probe = await probeOpenAI({
    baseUrl,
    apiKey: config.openaiApiKey,
    timeoutMs: config.ollamaConnectTimeoutMs,
    ...(signal ? { signal } : {}),
  });
  if (probe.reachable && servesModel(probe.models, config.embedModel)) {
    const embedder = createOpenAIEmbedder({
      baseUrl,
      apiKey: config.openaiApiKey,
      model: config.embedModel,
      batchSize: config.embedBatchSize,
      concurrency: config.embedConcurrency,
      maxRetries: config.ollamaMaxRetries,
      timeoutMs: config.ollamaTimeoutMs,
    });
    return { embedder, reason: `the OpenAI-compatible server at ${baseUrl} serves ${config.embedModel}` };
  }
  const context = { baseUrl, model: config.embedModel, modelVariable: 'EMBED_MODEL', timeoutMs: config.ollamaTimeoutMs, task: 'return embeddings' } as const;
  const why = probe.reachable
    ? `the OpenAI-compatible server at ${baseUrl} does not serve ${config.embedModel} (it lists: ${probe.models.join(', ') || 'nothing'})`
    : `the OpenAI-compatible server at ${baseUrl} is not reachable (${probe.error ?? 'no answer'})`;
  if (config.embeddings === 'openai') {
    if (probe.reachable) throw openaiModelNotFound(context);
    throw new AppError('llm_unavailable', `EMBEDDINGS=openai but ${why}.`);
  }
  return { embedder: createLocalEmbedder(), reason: `${why}; using the built-in local embedder` };
}
