/**
 * "Is the OpenAI-compatible server there, and which models does it serve?" — `GET <base>/models`,
 * the one listing vLLM, llama.cpp server, LM Studio, LocalAI and Ollama's `/v1` all answer. Used at
 * start-up and by /readyz, like the Ollama probe; it never retries.
 */
import type { OllamaProbe } from './ollama-probe.ts';
import { describeProbeFailure, ProbeHttpError } from './ollama-probe.ts';

export interface OpenAIProbeOptions {
  /** e.g. `http://127.0.0.1:8000/v1`, already normalised by config. */
  baseUrl: string;
  apiKey?: string | undefined;
  /** Whole-probe budget. Default 2000. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Request headers for an OpenAI-compatible server: a bearer token only when a key is configured. */
export function openaiHeaders(apiKey: string | undefined): Record<string, string> {
  return apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` };
}

/** Same shape as the Ollama probe (`version` stays unset: the OpenAI API has no version route). */
export async function probeOpenAI(options: OpenAIProbeOptions): Promise<OllamaProbe> {
  const timeoutMs = options.timeoutMs ?? 2_000;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  let body: unknown;
  try {
    const response = await fetch(`${options.baseUrl}/models`, {
      signal,
      headers: { accept: 'application/json', ...openaiHeaders(options.apiKey) },
    });
    if (!response.ok) {
      await response.body?.cancel();
      const hint =
        response.status === 401 || response.status === 403
          ? 'check OPENAI_API_KEY'
          : response.status === 404
            ? 'does the base URL end in /v1?'
            : undefined;
      throw new ProbeHttpError(`/models answered HTTP ${response.status}`, hint);
    }
    body = await response.json();
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    return { reachable: false, models: [], error: describeProbeFailure(error, timeoutMs, 'an OpenAI-compatible server') };
  }
  const data = (body as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) {
    return { reachable: false, models: [], error: '/models has no "data" list; is this an OpenAI-compatible server?' };
  }
  const models = data
    .map((entry) => (entry as { id?: unknown } | null)?.id)
    .filter((id): id is string => typeof id === 'string');
  return { reachable: true, models };
}

/**
 * True when the server lists `name`. Exact, as vLLM and LM Studio match names; `:latest` is implied
 * on either side because Ollama's `/v1/models` lists `llama3.2:latest` and accepts `llama3.2`.
 */
export function servesModel(models: readonly string[], name: string): boolean {
  const bare = (model: string) => model.trim().replace(/:latest$/, '');
  return models.some((model) => bare(model) === bare(name));
}
