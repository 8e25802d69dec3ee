/**
 * Embeddings from an OpenAI-compatible server (`POST <base>/embeddings`: vLLM, llama.cpp server
 * with --embeddings, LM Studio, LocalAI, text-embeddings-inference, Ollama's /v1) through LangChain's
 * OpenAIEmbeddings, with the Ollama embedder's contract: batches, bounded concurrency, few retries,
 * the caller's signal reaching fetch, and AppErrors a user can act on.
 */
import { OpenAIEmbeddings } from '@langchain/openai';
import { isAbortError } from '../errors.ts';
import { remoteEmbedCalls } from './embed-batches.ts';
import type { Embedder } from './embedder.ts';
import { prefixesFor, type ModelPrefixes } from './model-prefixes.ts';
import { openaiClientOptions } from './openai-client.ts';
import { toOpenAIError, type OpenAIErrorContext } from './openai-errors.ts';
import { networkErrorCode } from './ollama-probe.ts';

export interface OpenAIEmbedderOptions {
  /** e.g. `http://127.0.0.1:8001/v1`. */
  baseUrl: string;
  apiKey: string | undefined;
  /** As the server names it, e.g. `nomic-ai/nomic-embed-text-v1.5`. */
  model: string;
  /** Inputs per request. Default 64. */
  batchSize?: number;
  /** Requests kept in flight at once. Default 2. */
  concurrency?: number;
  /** Retries of a transient failure (5xx, 429, reset connection). Default 1. */
  maxRetries?: number;
  /** Per request. Default 60 000. */
  timeoutMs?: number;
}

export interface OpenAIEmbedder extends Embedder {
  readonly model: string;
  readonly prefixes: ModelPrefixes;
}

export function createOpenAIEmbedder(options: OpenAIEmbedderOptions): OpenAIEmbedder {
  const { baseUrl, apiKey, model } = options;
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? 64));
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 2));
  const maxRetries = Math.max(0, Math.floor(options.maxRetries ?? 1));
  const timeoutMs = options.timeoutMs ?? 60_000;
  const prefixes = prefixesFor(model);
  const context: OpenAIErrorContext = { baseUrl, model, modelVariable: 'EMBED_MODEL', timeoutMs, task: 'return embeddings' };

  /** One client per call, so that the call's signal reaches fetch (LangChain's embed calls take none). */
  const clientFor = (signal: AbortSignal | undefined): OpenAIEmbeddings =>
    new OpenAIEmbeddings({
      model,
      // Our batches are the requests: LangChain would otherwise split them again at 512.
      batchSize,
      // The chunk text as indexed; LangChain's default turns every newline into a space.
      stripNewLines: false,
      // The SDK asks for base64 unless told, which llama.cpp server and LocalAI do not all speak.
      encodingFormat: 'float',
      maxRetries,
      onFailedAttempt: stopRetryingUnlessTransient,
      ...openaiClientOptions({ baseUrl, apiKey, signal, requestTimeoutMs: timeoutMs }),
    });

  return {
    // `:latest` is implied by Ollama's /v1, the one such server whose names carry tags.
    id: `openai:${model.trim().replace(/:latest$/, '')}`,
    model,
    prefixes,
    ...remoteEmbedCalls({
      prefixes,
      batchSize,
      concurrency,
      describe: `The model server at ${baseUrl} with "${model}"`,
      embedBatch: (batch, signal) => clientFor(signal).embedDocuments(batch),
      embedOne: (text, signal) => clientFor(signal).embedQuery(text),
      toError: (error) => toOpenAIError(error, context),
    }),
  };
}

/**
 * LangChain's default handler already stops on 4xx; also stop when nothing is listening (retrying
 * a second later only delays the message) and on our own timeout or abort.
 */
function stopRetryingUnlessTransient(error: unknown): void {
  if (isAbortError(error) || (error instanceof Error && error.name === 'TimeoutError')) throw error;
  const status = (error as { status?: unknown }).status;
  if (typeof status === 'number' && status >= 400 && status < 500 && status !== 408 && status !== 429) throw error;
  const code = networkErrorCode(error);
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH') throw error;
}
