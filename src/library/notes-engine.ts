/**
 * The start-up `npm start` (main.ts) and `npm run mcp` share: model server check, embedder choice,
 * the index backend and live index, the answering over it, and then (`start()`) opening (or warm-
 * starting on the built-in index), updating and following the index, watching the notes and re-checking the model server — switching the
 * embedder when EMBEDDINGS=auto follows Ollama. The HTTP server listens between the two steps, so
 * /healthz answers before the first build.
 */
import type { Config } from '../config.ts';
import { createModeTracker, type ModeTracker } from '../answer/answer-mode.ts';
import { chooseEmbedder } from '../embeddings/create-embedder.ts';
import { createLocalEmbedder } from '../embeddings/local-embedder.ts';
import { watchNotes } from '../notes/watch-notes.ts';
import { createIndexBackend } from '../vector-index/create-backend.ts';
import type { IndexBackend } from '../vector-index/index-backend.ts';
import { createLiveIndex, type LiveIndex } from '../vector-index/live-index.ts';
import { composeAnswering, type Answering } from './compose-answering.ts';

/** Fields of a log line (the server's logger takes them as they are). */
export type EngineLogFields = Record<string, string | number | boolean | null | undefined>;

export interface EngineLog {
  info(message: string): void;
  warn(message: string, fields?: EngineLogFields): void;
  error(message: string): void;
}

export interface NotesEngine extends Answering {
  tracker: ModeTracker;
  live: LiveIndex;
  backend: IndexBackend;
  /** Checks the model server now (and runs `afterCheck`). */
  checkModels(): Promise<unknown>;
  /**
   * ROLE=all: opens the existing index (retried while the backend cannot be reached), updates it in
   * the background and watches the notes. ROLE=serve: follows the published versions. Both re-check
   * the model server every OLLAMA_CHECK_INTERVAL_MS.
   */
  start(): Promise<void>;
  /** Stops the timers and the watcher (the backend stays open: close it after the last answer). */
  stop(): Promise<void>;
}

/** Said with each answer while another embedder's index is built behind the one answering (issue 15). */
export function switchNotice(live: LiveIndex): string | undefined {
  const state = live.state();
  const serving = state.current?.embedder.id;
  const target = live.embedder().id;
  if (serving === undefined || serving === target) return undefined;
  const progress = state.progress?.phase === 'embed' ? ` (${state.progress.done} of ${state.progress.total} chunks so far)` : '';
  return `Answered from the ${serving} index while ${target} indexes your notes${progress}; answers switch to it when it is done.`;
}

export async function composeNotesEngine(
  config: Config,
  options: {
    log: EngineLog;
    /** After every model-server check (main.ts warms the models when Ollama (re)appears). */
    afterCheck?: (tracker: ModeTracker) => void;
  },
): Promise<NotesEngine> {
  const { log } = options;
  const line = (message: string): void => log.info(message);
  const tracker = createModeTracker(config, line);
  const checkModels = async () => {
    const mode = await tracker.check();
    options.afterCheck?.(tracker);
    return mode;
  };
  await checkModels();
  const choice = await chooseEmbedder(config);
  line(`embedder ${choice.embedder.id}: ${choice.reason}`);
  const backend = createIndexBackend(config, { log: line });
  const live = createLiveIndex({
    backend,
    notesDir: config.notesDir,
    embedder: choice.embedder,
    log: line,
    logError: (message) => log.error(message),
    role: config.role,
  });
  const answering = composeAnswering({
    notesDir: config.notesDir,
    topK: config.topK,
    live,
    tracker,
    recheck: checkModels,
    warn: (message, fields) => log.warn(message, fields),
    indexNotice: () => switchNotice(live),
  });

  const timers: NodeJS.Timeout[] = [];
  const every = (ms: number, work: () => void): NodeJS.Timeout => {
    const timer = setInterval(work, ms);
    timer.unref();
    timers.push(timer);
    return timer;
  };
  let watcher: { close(): Promise<void> } | undefined;

  const start = async (): Promise<void> => {
    if (config.role === 'serve') {
      // A serving replica never builds or watches notes: it follows the versions the indexer publishes.
      await live.update();
      every(config.indexFollowMs, () => void live.update());
    } else {
      // An existing index serves at once; the incremental update then runs in the background. With no
      // Ollama index yet, the built-in one is built first (seconds) and answers until Ollama's is ready.
      // A backend that cannot be reached (a database down) is retried until it answers, never crashed on.
      let starting = false;
      const quick = createLocalEmbedder();
      const begin = async (): Promise<boolean> => {
        const opened = await live.open();
        if (!opened && live.state().lastError !== undefined) return false;
        if (!opened && config.embeddings === 'auto' && live.embedder().id !== quick.id) void live.warmStart(quick);
        else void live.update();
        return true;
      };
      if (!(await begin())) {
        const retry = every(config.indexFollowMs, () => {
          if (starting) return;
          starting = true;
          void begin()
            .then((started) => started && clearInterval(retry))
            .finally(() => (starting = false));
        });
      }
      watcher = watchNotes(config.notesDir, {
        pollMs: config.watchPollMs,
        onChange: () => void live.update(),
        // Everything the watcher reports is a failure or a fallback it had to take.
        log: (message) => log.warn(message),
      });
    }
    every(config.ollamaCheckIntervalMs, () => {
      void (async () => {
        await checkModels();
        if (config.embeddings !== 'auto') return;
        // EMBEDDINGS=auto follows Ollama: the other embedder's index is built while this one serves.
        const next = await chooseEmbedder(config);
        if (next.embedder.id !== live.embedder().id) {
          line(`switching embedder to ${next.embedder.id}: ${next.reason}`);
          void live.switchEmbedder(next.embedder);
        }
      })().catch((error: unknown) => log.warn('ollama re-check failed', { error: String(error) }));
    });
  };

  return {
    ...answering,
    tracker,
    live,
    backend,
    checkModels,
    start,
    async stop() {
      for (const timer of timers) clearInterval(timer);
      await watcher?.close();
    },
  };
}
