/**
 * Task prefixes of Ollama embedding models. Ollama never adds them itself, yet several models
 * were trained with them and retrieve noticeably worse without (the nomic-embed-text card:
 * "the text prompt must include a task instruction prefix").
 */
export interface ModelPrefixes {
  /** Put before every indexed chunk. */
  readonly document: string;
  /** Put before every question. */
  readonly query: string;
}

const RETRIEVAL_INSTRUCTION = 'Represent this sentence for searching relevant passages: ';

/** Keyed by model base name: no registry, namespace or tag, lower case (see `modelBaseName`). */
export const MODEL_PREFIXES: Readonly<Record<string, ModelPrefixes>> = {
  'nomic-embed-text': { document: 'search_document: ', query: 'search_query: ' },
  // v2 keeps v1.5's task prefixes (nomic-ai/nomic-embed-text-v2-moe model card).
  'nomic-embed-text-v2-moe': { document: 'search_document: ', query: 'search_query: ' },
  'mxbai-embed-large': { document: '', query: RETRIEVAL_INSTRUCTION },
  'snowflake-arctic-embed': { document: '', query: RETRIEVAL_INSTRUCTION },
  'snowflake-arctic-embed2': { document: '', query: RETRIEVAL_INSTRUCTION },
  // The retrieval prompts from Google's EmbeddingGemma model card.
  embeddinggemma: { document: 'title: none | text: ', query: 'task: search result | query: ' },
  // Qwen3-Embedding instructs queries only; documents go in bare (Qwen3-Embedding model card).
  'qwen3-embedding': {
    document: '',
    query: 'Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery:',
  },
  'bge-m3': { document: '', query: '' },
  'all-minilm': { document: '', query: '' },
};

const NO_PREFIXES: ModelPrefixes = { document: '', query: '' };

/** `registry.ollama.ai/library/Nomic-Embed-Text:v1.5` → `nomic-embed-text`. */
export function modelBaseName(model: string): string {
  const lastSegment = model.trim().toLowerCase().split('/').pop() ?? '';
  return lastSegment.split(':')[0] ?? '';
}

/** The prefixes for a model; none for models the table does not know. */
export function prefixesFor(model: string): ModelPrefixes {
  return MODEL_PREFIXES[modelBaseName(model)] ?? NO_PREFIXES;
}
