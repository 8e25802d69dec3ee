/**
 * A quick "is Ollama there, and which models does it have?" check, used at start-up and by
 * /readyz. It never retries: a caller that wants to wait polls it.
 */
export interface OllamaProbe {
  reachable: boolean;
  /** The server's version, when /api/version answered. */
  version?: string;
  /** Installed models as /api/tags lists them (e.g. `llama3.2:latest`); empty when unreachable. */
  models: string[];
  /** Why Ollama is not usable, in words a user can act on. */
  error?: string;
}

export interface ProbeOptions {
  /** e.g. `http://127.0.0.1:11434`, already normalised by config (never read from the environment here). */
  baseUrl: string;
  /** Whole-probe budget; a local server answers in milliseconds, so keep it short. Default 2000. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

interface TagsBody {
  models?: Array<{ name?: unknown; model?: unknown }>;
}

export async function probeOllama(options: ProbeOptions): Promise<OllamaProbe> {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 2_000;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  // Plain fetch, not ollama-js: its version()/list() take no signal, so they could outlive the probe.
  const getJson = async (path: string): Promise<unknown> => {
    const response = await fetch(`${baseUrl}${path}`, { signal, headers: { accept: 'application/json' } });
    if (!response.ok) {
      await response.body?.cancel();
      throw new ProbeHttpError(`${path} answered HTTP ${response.status}`);
    }
    return response.json();
  };

  const [versionResult, tagsResult] = await Promise.allSettled([getJson('/api/version'), getJson('/api/tags')]);
  // A caller's abort is a stop, not "Ollama is down": let it propagate as an AbortError.
  if (options.signal?.aborted) throw options.signal.reason;

  const version =
    versionResult.status === 'fulfilled' ? (versionResult.value as { version?: unknown } | null)?.version : undefined;
  if (tagsResult.status === 'rejected') {
    const result: OllamaProbe = {
      reachable: false,
      models: [],
      error: describeProbeFailure(tagsResult.reason, timeoutMs),
    };
    if (typeof version === 'string') result.version = version;
    return result;
  }
  const body = tagsResult.value as TagsBody | null;
  if (!body || !Array.isArray(body.models)) {
    return { reachable: false, models: [], error: '/api/tags has no model list; is this an Ollama server?' };
  }
  const models = body.models
    .map((entry) => entry.name ?? entry.model)
    .filter((name): name is string => typeof name === 'string');
  const result: OllamaProbe = { reachable: true, models };
  if (typeof version === 'string') result.version = version;
  return result;
}

/** A probe's non-2xx answer; its message is shown as the reason the server is unusable. */
export class ProbeHttpError extends Error {
  /** What to check, when the status says more than "wrong kind of server". */
  readonly hint: string | undefined;
  constructor(message: string, hint?: string) {
    super(message);
    this.hint = hint;
  }
}

/** Short and without the URL: callers put it in context ("not reachable at <url> (connection refused)"). */
export function describeProbeFailure(error: unknown, timeoutMs: number, kind = 'an Ollama server'): string {
  if (error instanceof ProbeHttpError) return `${error.message}; ${error.hint ?? `is this ${kind}?`}`;
  if (error instanceof Error && error.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  const code = networkErrorCode(error);
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `host not found (${code})`;
  if (error instanceof SyntaxError) return `the answer was not JSON; is this ${kind}?`;
  if (code !== undefined) return code;
  return error instanceof Error ? error.message : String(error);
}

/** The errno-style code of a Node fetch failure (`TypeError: fetch failed` hides it in `cause`). */
export function networkErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== null && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^(E[A-Z]+|UND_ERR_[A-Z_]+)$/.test(code)) return code;
    // undici wraps several attempts (IPv4 and IPv6) in an AggregateError.
    const inner = (current as { errors?: unknown[] }).errors?.[0];
    current = (current as { cause?: unknown }).cause ?? inner;
  }
  return undefined;
}

/**
 * The full name Ollama resolves a model name to: `[host/][namespace/]model[:tag]` with the defaults
 * `registry.ollama.ai`, `library` and `latest`, compared case-insensitively as the server does.
 */
export function canonicalModelName(name: string): string {
  const segments = name.trim().toLowerCase().split('/');
  const last = segments.pop() ?? '';
  const tagAt = last.lastIndexOf(':');
  const base = tagAt === -1 ? last : last.slice(0, tagAt);
  const tag = tagAt === -1 || tagAt === last.length - 1 ? 'latest' : last.slice(tagAt + 1);
  const namespace = segments.pop() ?? 'library';
  const host = segments.pop() ?? 'registry.ollama.ai';
  return `${host}/${namespace}/${base}:${tag}`;
}

/** True when `name` (as a user writes it, e.g. `llama3.2`) is among the installed `models`. */
export function hasModel(models: readonly string[], name: string): boolean {
  const wanted = canonicalModelName(name);
  return models.some((model) => canonicalModelName(model) === wanted);
}
