/**
 * The chat models Ollama has installed (issue 15, `GET /models`): `/api/tags` for the list, and each
 * model's `capabilities` (from `/api/tags` on servers that include them, else `/api/show`, Ollama
 * 0.6.4+) to leave out embedding-only models. Capabilities are cached by digest: a model's digest
 * changes when it is pulled again, so a cached answer is never stale. A server too old to report
 * capabilities is judged by family and name (BERT-family models and `*embed*` names only embed).
 * With LLM_PROVIDER=openai the list is the OpenAI-compatible server's `GET /models` instead.
 */
import { canonicalModelName } from '../embeddings/ollama-probe.ts';
import { probeOpenAI, servesModel } from '../embeddings/openai-probe.ts';

export interface ChatModelInfo {
  /** As `/api/tags` lists it, e.g. `llama3.2:latest`: what `/ask`'s `model` accepts. */
  name: string;
  /** The configured CHAT_MODEL. */
  default: boolean;
  family?: string;
  /** e.g. "3.2B". */
  parameterSize?: string;
  /** Bytes on disk. */
  size?: number;
}

/** The body of `GET /models`. */
export interface ModelsReport {
  /** CHAT_MODEL, whether installed or not. */
  default: string;
  reachable: boolean;
  /** Installed chat models, in Ollama's order (newest first). Empty when Ollama is unreachable. */
  models: ChatModelInfo[];
  /** Why the list is empty, in words (Ollama unreachable or answering oddly). */
  error?: string;
}

export interface ChatModelCatalogOptions {
  baseUrl: string;
  defaultModel: string;
  /** Budget for the whole listing (tags and shows). */
  timeoutMs: number;
}

interface TagsEntry {
  name?: unknown;
  model?: unknown;
  digest?: unknown;
  size?: unknown;
  capabilities?: unknown;
  details?: { family?: unknown; families?: unknown; parameter_size?: unknown } | null;
}

/** Families whose models only embed (Ollama's BERT-style architectures). */
const EMBEDDING_FAMILIES = new Set(['bert', 'nomic-bert', 'nomic-bert-moe', 'xlm-roberta', 'jina-bert-v2', 'new']);

function stringList(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((item) => typeof item === 'string') ? value : undefined;
}

/** Whether a model can chat, from its capabilities when known, else from its family and name. */
export function canChat(capabilities: readonly string[] | undefined, family: string | undefined, name: string): boolean {
  if (capabilities !== undefined && capabilities.length > 0) return capabilities.includes('completion');
  if (family !== undefined && EMBEDDING_FAMILIES.has(family.toLowerCase())) return false;
  return !/embed|minilm|bge-/i.test(name);
}

export interface ChatModelCatalog {
  list(signal?: AbortSignal): Promise<ModelsReport>;
}

export function createChatModelCatalog(options: ChatModelCatalogOptions): ChatModelCatalog {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  /** digest (or name, when there is none) -> capabilities; null = the server did not say. */
  const known = new Map<string, string[] | null>();

  const request = async (path: string, signal: AbortSignal, body?: unknown): Promise<unknown> => {
    const response = await fetch(`${baseUrl}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      signal,
      headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`${path} answered HTTP ${response.status}`);
    }
    return response.json();
  };

  const capabilitiesOf = async (entry: TagsEntry, name: string, signal: AbortSignal): Promise<string[] | undefined> => {
    const listed = stringList(entry.capabilities);
    if (listed !== undefined && listed.length > 0) return listed;
    const key = typeof entry.digest === 'string' && entry.digest !== '' ? entry.digest : `name:${canonicalModelName(name)}`;
    if (known.has(key)) return known.get(key) ?? undefined;
    try {
      const shown = (await request('/api/show', signal, { model: name })) as { capabilities?: unknown } | null;
      const capabilities = stringList(shown?.capabilities) ?? null;
      known.set(key, capabilities);
      return capabilities ?? undefined;
    } catch (error) {
      if (signal.aborted) throw error;
      // Not cached: a failed show may succeed next time.
      return undefined;
    }
  };

  return {
    async list(signal) {
      const timeout = AbortSignal.timeout(options.timeoutMs);
      const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
      const report: ModelsReport = { default: options.defaultModel, reachable: false, models: [] };
      let entries: TagsEntry[];
      try {
        const body = (await request('/api/tags', combined)) as { models?: unknown } | null;
        if (!Array.isArray(body?.models)) return { ...report, error: '/api/tags has no model list; is this an Ollama server?' };
        entries = body.models as TagsEntry[];
      } catch (error) {
        if (signal?.aborted === true) throw error;
        const why = timeout.aborted ? `no answer within ${options.timeoutMs} ms` : error instanceof Error ? error.message : String(error);
        return { ...report, error: `Ollama is not reachable at ${baseUrl} (${why}). Start it with: ollama serve` };
      }
      const wanted = canonicalModelName(options.defaultModel);
      const models = await Promise.all(
        entries.map(async (entry): Promise<ChatModelInfo | undefined> => {
          const name = typeof entry.name === 'string' ? entry.name : typeof entry.model === 'string' ? entry.model : undefined;
          if (name === undefined) return undefined;
          const family = typeof entry.details?.family === 'string' ? entry.details.family : undefined;
          if (!canChat(await capabilitiesOf(entry, name, combined), family, name)) return undefined;
          const info: ChatModelInfo = { name, default: canonicalModelName(name) === wanted };
          if (family !== undefined && family !== '') info.family = family;
          if (typeof entry.details?.parameter_size === 'string' && entry.details.parameter_size !== '') info.parameterSize = entry.details.parameter_size;
          if (typeof entry.size === 'number') info.size = entry.size;
          return info;
        }),
      );
      return { ...report, reachable: true, models: models.filter((model) => model !== undefined) };
    },
  };
}

export interface OpenAIModelListOptions {
  /** OPENAI_BASE_URL, e.g. `http://127.0.0.1:8000/v1`. */
  baseUrl: string;
  apiKey: string | undefined;
  defaultModel: string;
  /** EMBED_MODEL: left out of the list (unless it is also the chat model). */
  embedModel: string;
  timeoutMs: number;
}

/**
 * LLM_PROVIDER=openai: the models an OpenAI-compatible server lists (`GET /models` has no
 * capabilities, so EMBED_MODEL and embedding-named models are left out), CHAT_MODEL marked.
 */
export function createOpenAIModelList(options: OpenAIModelListOptions): ChatModelCatalog {
  return {
    async list(signal) {
      const probe = await probeOpenAI({ baseUrl: options.baseUrl, apiKey: options.apiKey, timeoutMs: options.timeoutMs, ...(signal === undefined ? {} : { signal }) });
      const report: ModelsReport = { default: options.defaultModel, reachable: probe.reachable, models: [] };
      if (!probe.reachable) return { ...report, error: `The OpenAI-compatible server at ${options.baseUrl} did not list its models (${probe.error ?? 'no answer'}).` };
      const chatting = probe.models.filter(
        (name) => servesModel([name], options.defaultModel) || (!servesModel([name], options.embedModel) && canChat(undefined, undefined, name)),
      );
      return { ...report, models: chatting.map((name) => ({ name, default: servesModel([name], options.defaultModel) })) };
    },
  };
}
