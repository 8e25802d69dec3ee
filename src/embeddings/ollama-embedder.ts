import { OllamaEmbeddings } from '@langchain/ollama';
import { AppError, isAbortError, modelNotFound } from '../errors.ts';
import { remoteEmbedCalls } from './embed-batches.ts';
import type { Embedder } from './embedder.ts';
import { prefixesFor, type ModelPrefixes } from './model-prefixes.ts';
import { networkErrorCode } from './ollama-probe.ts';

/** Ollama has no input-count limit, but big requests delay headers and drift in quality (reference §9.4). */
export const MAX_EMBED_BATCH_SIZE = 64;

export interface OllamaEmbedderOptions {
  /** e.g. `http://127.0.0.1:11434`. Always explicit: OllamaEmbeddings would otherwise read OLLAMA_BASE_URL. */
  baseUrl: string;
  model: string;
  /** Inputs per /api/embed request, 1..64. Default 64. */
  batchSize?: number;
  /** /api/embed requests kept in flight at once. Default 2. */
  concurrency?: number;
  /** Retries of a transient failure (5xx, busy, reset connection). Default 1. */
  maxRetries?: number;
  /** Per request. Default 60 000. */
  timeoutMs?: number;
  /** Ollama's keep_alive, sent with every /api/embed call (OLLAMA_KEEP_ALIVE); unset = Ollama's default. */
  keepAlive?: string | number;
}

export interface OllamaEmbedder extends Embedder {
  readonly model: string;
  readonly prefixes: ModelPrefixes;
}

export function createOllamaEmbedder(options: OllamaEmbedderOptions): OllamaEmbedder {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const { model } = options;
  const batchSize = Math.min(MAX_EMBED_BATCH_SIZE, Math.max(1, Math.floor(options.batchSize ?? MAX_EMBED_BATCH_SIZE)));
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 2));
  const maxRetries = Math.max(0, Math.floor(options.maxRetries ?? 1));
  const timeoutMs = options.timeoutMs ?? 60_000;
  const prefixes = prefixesFor(model);

  /**
   * One LangChain client per call, so that the call's signal reaches fetch: neither
   * embedDocuments nor embedQuery takes a signal, and ollama-js passes none to fetch for
   * /api/embed. The signal also carries a per-request timeout.
   */
  const clientFor = (signal: AbortSignal | undefined): OllamaEmbeddings =>
    new OllamaEmbeddings({
      baseUrl,
      model,
      // LangChain sends truncate:false by default, which turns every over-long chunk into a 400.
      truncate: true,
      ...(options.keepAlive === undefined ? {} : { keepAlive: options.keepAlive }),
      maxRetries,
      maxConcurrency: concurrency,
      onFailedAttempt: stopRetryingUnlessTransient,
      fetch: (input: RequestInfo | URL, init?: RequestInit) => {
        const timeout = AbortSignal.timeout(timeoutMs);
        return fetch(input, { ...init, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
      },
    });

  return {
    id: `ollama:${displayModelName(model)}`,
    model,
    prefixes,
    ...remoteEmbedCalls({
      prefixes,
      batchSize,
      concurrency,
      describe: `Ollama with "${model}"`,
      embedBatch: (batch, signal) => clientFor(signal).embedDocuments(batch),
      embedOne: (text, signal) => clientFor(signal).embedQuery(text),
      toError: (error) => toEmbedError(error, { baseUrl, model, timeoutMs }),
    }),
  };
}

/** `Nomic-Embed-Text:latest` and `nomic-embed-text` make the same vectors, so they share an id (and an index). */
function displayModelName(model: string): string {
  return model.trim().toLowerCase().replace(/:latest$/, '');
}

interface OllamaResponseError {
  name: 'ResponseError';
  status_code: number;
  message: string;
}

function isResponseError(error: unknown): error is OllamaResponseError {
  // ollama-js does not export ResponseError, so check its shape (reference §5.3).
  return (
    error instanceof Error && error.name === 'ResponseError' && typeof (error as { status_code?: unknown }).status_code === 'number'
  );
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

/**
 * AsyncCaller's own handler only reads `status`/`statusCode`, but ollama-js puts the HTTP status in
 * `status_code`, so a missing model (404) would be retried with back-off for minutes. Throwing
 * here ends the retries; returning lets AsyncCaller retry.
 */
function stopRetryingUnlessTransient(error: unknown): void {
  if (isAbortError(error) || (error instanceof Error && error.name === 'TimeoutError')) throw error;
  if (isResponseError(error)) {
    const status = error.status_code;
    if (status >= 400 && status < 500 && status !== 408 && status !== 429) throw error;
    return;
  }
  // Nothing is listening: retrying a second later is unlikely to help and only delays the message.
  const code = networkErrorCode(error);
  if (code !== undefined && UNREACHABLE_CODES.has(code)) throw error;
}

function toEmbedError(error: unknown, context: { baseUrl: string; model: string; timeoutMs: number }): unknown {
  const { baseUrl, model, timeoutMs } = context;
  if (error instanceof AppError) return error;
  if (error instanceof Error && error.name === 'TimeoutError') {
    return new AppError('upstream_timeout', `Ollama at ${baseUrl} did not return embeddings within ${timeoutMs} ms`, {
      cause: error,
    });
  }
  if (isResponseError(error)) {
    // Servers before /api/embed existed (< 0.2.6) answer it with gin's plain-text 404.
    if (error.status_code === 404 && /page not found/i.test(error.message)) {
      return new AppError('llm_unavailable', `Ollama at ${baseUrl} is too old to have /api/embed; upgrade Ollama`, {
        cause: error,
      });
    }
    if (error.status_code === 404) return modelNotFound(model, { cause: error });
    return new Error(`Ollama could not embed with "${model}" (HTTP ${error.status_code}): ${error.message}`, {
      cause: error,
    });
  }
  const code = networkErrorCode(error);
  if (code !== undefined || (error instanceof TypeError && error.message === 'fetch failed')) {
    const reason = code === 'ECONNREFUSED' ? 'connection refused' : (code ?? 'network error');
    return new AppError('llm_unavailable', `Cannot reach Ollama at ${baseUrl} (${reason}). Is \`ollama serve\` running?`, {
      cause: error,
    });
  }
  return error;
}
