import type { Config } from '../config.ts';
import { AppError, modelNotFound } from '../errors.ts';
import type { Embedder } from './embedder.ts';
import { createLocalEmbedder } from './local-embedder.ts';
import { createOllamaEmbedder } from './ollama-embedder.ts';
import { hasModel, probeOllama } from './ollama-probe.ts';

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
>;

export interface EmbedderChoice {
  embedder: Embedder;
  /** Why this embedder was chosen, for the log and /readyz. */
  reason: string;
}

/**
 * The one place that decides which embedder indexes and queries the notes (SPEC `EMBEDDINGS`):
 * `auto` = Ollama when reachable and EMBED_MODEL is installed, else the built-in local embedder;
 * `ollama` = Ollama or a clear error; `local` = the built-in embedder.
 */
export async function chooseEmbedder(config: EmbedderConfig, signal?: AbortSignal): Promise<EmbedderChoice> {
  if (config.embeddings === 'local') {
    return { embedder: createLocalEmbedder(), reason: 'EMBEDDINGS=local' };
  }
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
