/**
 * The client options LangChain's OpenAI classes get in asknotes: everything explicit, so neither
 * LangChain nor the `openai` SDK reads OPENAI_* variables from the environment on its own (config
 * does, once), plus a fetch that carries the caller's signal.
 */
import type { ClientOptions } from 'openai';

/** The SDK refuses to start without a key; local servers need none. Never sent (see below). */
const NO_KEY = 'asknotes-no-key';

export interface OpenAIClientSettings {
  /** e.g. `http://127.0.0.1:8000/v1`. */
  baseUrl: string;
  apiKey: string | undefined;
  /** Bound into every request, with the SDK's own signal: the SDK stops reading a stream only between events. */
  signal?: AbortSignal | undefined;
  /** Each request's own limit (headers and body), on top of `signal`. */
  requestTimeoutMs?: number | undefined;
}

export function openaiClientOptions(settings: OpenAIClientSettings): { apiKey: string; configuration: ClientOptions } {
  const { apiKey, signal, requestTimeoutMs } = settings;
  const boundFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const signals = [init?.signal, signal, requestTimeoutMs === undefined ? undefined : AbortSignal.timeout(requestTimeoutMs)];
    const headers = new Headers(init?.headers);
    // Without a key, no Authorization header at all (not "Bearer <placeholder>"): a server that
    // checks keys then answers 401, which names OPENAI_API_KEY, instead of rejecting a made-up one.
    if (apiKey === undefined) headers.delete('authorization');
    return fetch(input, { ...init, headers, signal: AbortSignal.any(signals.filter((value) => value != null)) });
  };
  return {
    apiKey: apiKey ?? NO_KEY,
    configuration: {
      baseURL: settings.baseUrl,
      organization: null,
      project: null,
      // The SDK logs a non-JSON stream line with console.error; the error it throws is reported instead.
      logLevel: 'off',
      fetch: boundFetch,
    },
  };
}
