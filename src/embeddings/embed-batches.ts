/**
 * What every remote embedder does the same way: split the texts into batches, keep a few requests
 * in flight, stop the siblings when one fails for good, report progress, and give up at once when
 * the caller's signal aborts (LangChain's embed calls take no signal, and their retry back-off
 * would otherwise be waited out).
 */
import { isAbortError } from '../errors.ts';
import type { EmbedOptions, Embedder } from './embedder.ts';
import type { ModelPrefixes } from './model-prefixes.ts';

export interface BatchPlan {
  batchSize: number;
  concurrency: number;
  signal?: AbortSignal | undefined;
  onProgress?: ((done: number) => void) | undefined;
}

/**
 * Embeds `texts` with `embedBatch`, which receives one batch and a signal that aborts when the
 * caller aborts or another batch has failed. Resolves with the vectors in input order.
 */
export async function embedInBatches(
  texts: string[],
  plan: BatchPlan,
  embedBatch: (batch: string[], signal: AbortSignal) => Promise<number[][]>,
): Promise<number[][]> {
  const { batchSize, concurrency, signal, onProgress } = plan;
  const batches: string[][] = [];
  for (let start = 0; start < texts.length; start += batchSize) batches.push(texts.slice(start, start + batchSize));
  const stop = new AbortController();
  const combined = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
  const results: number[][][] = new Array<number[][]>(batches.length);
  let nextBatch = 0;
  let embedded = 0;
  const worker = async (): Promise<void> => {
    while (nextBatch < batches.length && !combined.aborted) {
      const index = nextBatch++;
      const batch = batches[index] ?? [];
      results[index] = await embedBatch(batch, combined);
      embedded += batch.length;
      onProgress?.(embedded);
    }
  };
  const workers = Array.from({ length: Math.min(concurrency, batches.length) }, worker);
  try {
    await raceAbort(Promise.all(workers), signal);
  } catch (error) {
    stop.abort();
    throw error;
  }
  return results.flat();
}

/** What a remote embedder (Ollama, OpenAI-compatible) supplies; `remoteEmbedCalls` does the rest. */
export interface RemoteEmbedding {
  prefixes: ModelPrefixes;
  batchSize: number;
  concurrency: number;
  /** Names the server and model in the error about a wrong vector count, e.g. `Ollama with "bge-m3"`. */
  describe: string;
  /** One request for one batch (already prefixed), aborted with `signal`. */
  embedBatch(batch: string[], signal: AbortSignal): Promise<number[][]>;
  /** One request for one query (already prefixed), aborted with `signal` if there is one. */
  embedOne(text: string, signal: AbortSignal | undefined): Promise<number[]>;
  /** The error a user can act on, for a failure that is not the caller's own abort. */
  toError(error: unknown): unknown;
}

/**
 * The two embed calls of a remote embedder, the same for every server: prefixes, batches, one checked
 * vector per input, the caller's abort as an AbortError (never as a server failure), other failures
 * through `toError`.
 */
export function remoteEmbedCalls(remote: RemoteEmbedding): Pick<Embedder, 'embedDocuments' | 'embedQuery'> {
  const { prefixes, batchSize, concurrency, describe } = remote;
  const fail = (error: unknown, signal: AbortSignal | undefined): unknown => {
    if (signal?.aborted) return abortErrorFrom(signal);
    return remote.toError(error);
  };
  return {
    async embedDocuments(documents: string[], options: EmbedOptions = {}): Promise<number[][]> {
      const { signal, onProgress } = options;
      if (signal?.aborted) throw abortErrorFrom(signal);
      if (documents.length === 0) return [];
      const texts = documents.map((text) => prefixes.document + text);
      try {
        return await embedInBatches(texts, { batchSize, concurrency, signal, onProgress }, async (batch, batchSignal) =>
          checkVectors(await remote.embedBatch(batch, batchSignal), batch.length, describe),
        );
      } catch (error) {
        throw fail(error, signal);
      }
    },

    async embedQuery(text: string, options: EmbedOptions = {}): Promise<number[]> {
      const { signal } = options;
      if (signal?.aborted) throw abortErrorFrom(signal);
      try {
        // Raced as well: an abort during LangChain's retry back-off would otherwise wait it out.
        const vector = await raceAbort(remote.embedOne(prefixes.query + text, signal), signal);
        return checkVectors([vector], 1, describe)[0] ?? [];
      } catch (error) {
        throw fail(error, signal);
      }
    },
  };
}

/** Throws unless the server returned one non-empty vector per input. */
export function checkVectors(vectors: number[][], expected: number, describe: string): number[][] {
  if (vectors.length !== expected || vectors.some((vector) => !Array.isArray(vector) || vector.length === 0)) {
    throw new Error(`${describe} returned ${vectors.length} embeddings for ${expected} inputs`);
  }
  return vectors;
}

export function abortErrorFrom(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return isAbortError(reason) ? (reason as Error) : new DOMException('The operation was aborted.', 'AbortError');
}

/** Settles with `promise`, or rejects with an AbortError as soon as `signal` aborts. */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  // The loser still settles later; without a handler its rejection would be reported as unhandled.
  promise.catch(() => {});
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortErrorFrom(signal));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
