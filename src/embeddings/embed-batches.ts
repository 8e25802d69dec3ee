/**
 * What every remote embedder does the same way: split the texts into batches, keep a few requests
 * in flight, stop the siblings when one fails for good, report progress, and give up at once when
 * the caller's signal aborts (LangChain's embed calls take no signal, and their retry back-off
 * would otherwise be waited out).
 */
import { isAbortError } from '../errors.ts';

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
