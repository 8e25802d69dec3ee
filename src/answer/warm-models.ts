/**
 * Warm models (issue 12): Ollama loads a model on its first request, which takes seconds on small
 * models and tens of seconds on big ones or on CPU, and unloads it after its keep-alive. So the chat
 * and embedding models are loaded when the server starts and whenever Ollama (re)appears — an empty
 * chat and an empty embed load a model without doing any work — with the same keep_alive (and, for
 * chat, the same num_ctx) as real answers, since a different num_ctx would make Ollama reload it.
 */
export interface WarmSettings {
  baseUrl: string;
  /** The chat model to keep loaded, or undefined when answers are not written by Ollama (LLM=none). */
  chatModel: string | undefined;
  /** The embedding model to keep loaded, or undefined when Ollama does not embed (EMBEDDINGS=local). */
  embedModel: string | undefined;
  keepAlive: string | number;
  numCtx: number;
  /**
   * Longest wait for one load. Generous on purpose: Ollama aborts a load whose client hangs up
   * (ollama#7408), so giving up early would make the next request start the load all over again.
   */
  timeoutMs: number;
}

export interface WarmResult {
  model: string;
  kind: 'chat' | 'embed';
  ok: boolean;
  ms: number;
  error?: string;
}

/** Loads one model with an empty request; never throws (a failed warm-up only costs the first answer). */
export async function warmModel(settings: WarmSettings, kind: 'chat' | 'embed', model: string, signal?: AbortSignal): Promise<WarmResult> {
  const started = performance.now();
  const timeout = AbortSignal.timeout(settings.timeoutMs);
  const body =
    kind === 'chat'
      ? { model, messages: [], keep_alive: settings.keepAlive, options: { num_ctx: settings.numCtx } }
      : { model, input: [], keep_alive: settings.keepAlive, truncate: true };
  try {
    const response = await fetch(`${settings.baseUrl}/api/${kind}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    const text = await response.text();
    if (!response.ok) {
      const said = (() => {
        try {
          return String((JSON.parse(text) as { error?: unknown }).error ?? text);
        } catch {
          return text;
        }
      })();
      return { model, kind, ok: false, ms: elapsed(started), error: `HTTP ${response.status}: ${said.slice(0, 200)}` };
    }
    return { model, kind, ok: true, ms: elapsed(started) };
  } catch (error) {
    const message = error instanceof Error && error.name === 'TimeoutError' ? `no answer within ${settings.timeoutMs} ms` : String(error);
    return { model, kind, ok: false, ms: elapsed(started), error: message };
  }
}

function elapsed(since: number): number {
  return Math.round(performance.now() - since);
}

export interface ModelWarmer {
  /**
   * Called after every Ollama probe: when Ollama is reachable and has a model not yet warmed since it
   * (re)appeared, loads it in the background. Unreachable forgets what was warmed.
   */
  update(ollama: { reachable: boolean; missingModels: readonly string[] }): void;
  /** A warm-up is in progress (`/readyz` says `warming`). */
  warming(): boolean;
  /** Resolves when the warm-up in progress (if any) has finished. */
  settled(): Promise<void>;
  /** Abandons a warm-up in progress (the server is stopping). */
  stop(): void;
}

export function createModelWarmer(
  settings: WarmSettings,
  log: (message: string, fields: Record<string, string | number | boolean | undefined>) => void,
  warm: typeof warmModel = warmModel,
): ModelWarmer {
  const warmed = new Set<string>();
  const stopped = new AbortController();
  let running: Promise<void> | undefined;

  const update: ModelWarmer['update'] = (ollama) => {
    if (!ollama.reachable) {
      warmed.clear();
      return;
    }
    if (running !== undefined || stopped.signal.aborted) return;
    const wanted = (
      [
        ['chat', settings.chatModel],
        ['embed', settings.embedModel],
      ] as const
    ).filter(
      (entry): entry is readonly ['chat' | 'embed', string] =>
        entry[1] !== undefined && !warmed.has(`${entry[0]}:${entry[1]}`) && !ollama.missingModels.includes(entry[1]),
    );
    if (wanted.length === 0) return;
    running = (async () => {
      const results = await Promise.all(wanted.map(([kind, model]) => warm(settings, kind, model, stopped.signal)));
      if (stopped.signal.aborted) return;
      for (const result of results) {
        if (result.ok) warmed.add(`${result.kind}:${result.model}`);
        // A failure is retried at the next probe; answers still work, the first one just waits.
        log(result.ok ? 'model loaded' : 'model warm-up failed', { ...result, keepAlive: settings.keepAlive });
      }
    })().finally(() => {
      running = undefined;
    });
  };

  return {
    update,
    warming: () => running !== undefined,
    settled: async () => {
      await running;
    },
    stop: () => stopped.abort(),
  };
}
