/**
 * Task prefixes of embedding models. Neither Ollama nor the OpenAI-compatible servers add them, yet several models
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
const NOMIC: ModelPrefixes = { document: 'search_document: ', query: 'search_query: ' };
const INSTRUCTED_QUERY: ModelPrefixes = { document: '', query: RETRIEVAL_INSTRUCTION };
// The retrieval prompts from Google's EmbeddingGemma model card.
const GEMMA: ModelPrefixes = { document: 'title: none | text: ', query: 'task: search result | query: ' };
// Qwen3-Embedding instructs queries only; documents go in bare (Qwen3-Embedding model card).
const QWEN3: ModelPrefixes = {
  document: '',
  query: 'Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery:',
};
const NO_PREFIXES: ModelPrefixes = { document: '', query: '' };

/** Keyed by model base name: no registry, namespace (or Hugging Face organisation) or tag, lower case (see `modelBaseName`). */
export const MODEL_PREFIXES: Readonly<Record<string, ModelPrefixes>> = {
  'nomic-embed-text': NOMIC,
  // v2 keeps v1.5's task prefixes (nomic-ai/nomic-embed-text-v2-moe model card).
  'nomic-embed-text-v2-moe': NOMIC,
  'mxbai-embed-large': INSTRUCTED_QUERY,
  'snowflake-arctic-embed': INSTRUCTED_QUERY,
  'snowflake-arctic-embed2': INSTRUCTED_QUERY,
  embeddinggemma: GEMMA,
  'qwen3-embedding': QWEN3,
  'bge-m3': NO_PREFIXES,
  'all-minilm': NO_PREFIXES,
  // The same models under the Hugging Face names OpenAI-compatible servers (vLLM, TEI) serve them by.
  'nomic-embed-text-v1': NOMIC,
  'nomic-embed-text-v1.5': NOMIC,
  'mxbai-embed-large-v1': INSTRUCTED_QUERY,
  'embeddinggemma-300m': GEMMA,
  'qwen3-embedding-0.6b': QWEN3,
  'qwen3-embedding-4b': QWEN3,
  'qwen3-embedding-8b': QWEN3,
};

/** `registry.ollama.ai/library/Nomic-Embed-Text:v1.5` → `nomic-embed-text`. */
export function modelBaseName(model: string): string {
  const lastSegment = model.trim().toLowerCase().split('/').pop() ?? '';
  return lastSegment.split(':')[0] ?? '';
}

/** The prefixes for a model; none for models the table does not know. */
export function prefixesFor(model: string): ModelPrefixes {
  return MODEL_PREFIXES[modelBaseName(model)] ?? NO_PREFIXES;
}
