import type { EmbeddingsInterface } from '@langchain/core/embeddings';

/** What query weighting needs of the indexed corpus; the keyword index provides it. */
export interface TermStatistics {
  /** Number of indexed documents. */
  readonly size: number;
  /** Number of documents containing an analyzed term (a `tokenize` output). */
  documentFrequency(term: string): number;
}

export interface EmbedOptions {
  signal?: AbortSignal;
  /** Called after each finished batch with the number of texts embedded so far. */
  onProgress?: (done: number) => void;
}

/**
 * LangChain's EmbeddingsInterface, plus what the index needs to keep vectors from different
 * embedders apart: a stable id (it names the index folder and keys the vector cache).
 */
export interface Embedder extends EmbeddingsInterface {
  /** e.g. "ollama:nomic-embed-text" or "local:hash-v1-d512"; changes whenever vectors would change. */
  readonly id: string;
  /**
   * How much this embedder's ranking counts in hybrid retrieval, BM25's counting 1 (default 1: a
   * semantic model is independent evidence). Set by what the model is, never fitted to questions.
   */
  readonly fusionWeight?: number;
  embedDocuments(documents: string[], options?: EmbedOptions): Promise<number[][]>;
  embedQuery(document: string, options?: EmbedOptions): Promise<number[]>;
  /**
   * Optional: lets an embedder weight queries by statistics of the indexed corpus (the local
   * embedder's IDF). Never changes document vectors, so cached vectors stay valid. The index
   * passes its keyword index each time it loads.
   */
  useTermStatistics?(statistics: TermStatistics): void;
}
