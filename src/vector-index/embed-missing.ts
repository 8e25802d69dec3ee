/** Embeds the chunk texts no previous index version has a vector for: the costly part of a build. */
import type { Embedder } from '../embeddings/embedder.ts';
import type { IndexedChunk } from './indexed-chunk.ts';

function float32Vector(vector: ArrayLike<number>, dimensions: number, what: string): Float32Array {
  if (vector.length !== dimensions) {
    throw new Error(`the embedder returned ${vector.length} dimensions for ${what}, expected ${dimensions}`);
  }
  const result = Float32Array.from(vector);
  for (const value of result) {
    if (!Number.isFinite(value)) throw new Error(`the embedder returned a non-finite value for ${what}`);
  }
  return result;
}

/**
 * Adds to `cache` (embed hash -> vector) a vector for every chunk that lacks one, embedding each
 * distinct text once. `embedTexts` maps the embed hash of every newly chunked text to that text.
 * Returns how many texts were embedded and the dimensions (taken from the embedder when the cache
 * was empty).
 */
export async function embedMissing(
  embedder: Embedder,
  chunks: readonly IndexedChunk[],
  embedTexts: ReadonlyMap<string, string>,
  cache: Map<string, Float32Array>,
  dimensions: number,
  options: { signal?: AbortSignal | undefined; onProgress?: ((done: number, total: number) => void) | undefined },
): Promise<{ embedded: number; dimensions: number }> {
  const toEmbed = new Map<string, string>();
  for (const chunk of chunks) {
    if (!cache.has(chunk.embedHash) && !toEmbed.has(chunk.embedHash)) {
      toEmbed.set(chunk.embedHash, embedTexts.get(chunk.embedHash) ?? '');
    }
  }
  const pending = [...toEmbed.entries()];
  options.onProgress?.(0, pending.length);
  if (pending.length > 0) {
    const vectors = await embedder.embedDocuments(
      pending.map(([, text]) => text),
      {
        ...(options.signal ? { signal: options.signal } : {}),
        onProgress: (done) => options.onProgress?.(done, pending.length),
      },
    );
    if (vectors.length !== pending.length) {
      throw new Error(`the embedder returned ${vectors.length} vectors for ${pending.length} texts`);
    }
    if (dimensions === 0 || cache.size === 0) dimensions = vectors[0]?.length ?? 0;
    pending.forEach(([hash], position) => {
      cache.set(hash, float32Vector(vectors[position] ?? [], dimensions, `chunk ${position}`));
    });
  }
  options.signal?.throwIfAborted();
  return { embedded: pending.length, dimensions };
}
