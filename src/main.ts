/**
 * The composition root: the only file that reads process.env and listens.
 * `npm start` = parse config, serve at once (/healthz up, 503 index_not_ready until an index is
 * loaded), build or update the index, watch the notes and re-index on change, re-check Ollama
 * periodically, and stop gracefully on SIGTERM/SIGINT.
 */
import { ConfigError, parseConfig, type Config } from './config.ts';
import { createAnswerEngine } from './answer/answer-engine.ts';
import { createModeTracker } from './answer/answer-mode.ts';
import { createChatModelCatalog, createOpenAIModelList } from './answer/chat-models.ts';
import { createModelWarmer, type ModelWarmer } from './answer/warm-models.ts';
import { isEntryPoint } from './cli/is-entry-point.ts';
import { chooseEmbedder } from './embeddings/create-embedder.ts';
import { createLocalEmbedder } from './embeddings/local-embedder.ts';
import { composeAnswering } from './library/compose-answering.ts';
import { indexStatusReport } from './library/index-status.ts';
import { createNoteFiles } from './notes/note-files.ts';
import { watchNotes } from './notes/watch-notes.ts';
import { createApp } from './server/create-app.ts';
import { createLogger, type Logger } from './server/logger.ts';
import type { Readiness } from './server/server-deps.ts';
import { startServer } from './server/start-server.ts';
import { createIndexBackend } from './vector-index/create-backend.ts';
import { createLiveIndex, type LiveIndex } from './vector-index/live-index.ts';
import type { NotesListing } from './vector-index/note-listing.ts';

/** How long in-flight answers may run after SIGTERM before their connections are closed. */
const SHUTDOWN_GRACE_MS = 5_000;

/** Longest wait for a model load at warm-up (node's fetch gives up on headers after 5 minutes anyway). */
const WARM_UP_TIMEOUT_MS = 300_000;

function readiness(live: LiveIndex, tracker: ReturnType<typeof createModeTracker>, warmer: ModelWarmer): Readiness {
  const state = live.state();
  const mode = tracker.mode();
  const server = tracker.server();
  const current = state.current;
  const reason =
    current === undefined
      ? state.lastError !== undefined
        ? `The index could not be built: ${state.lastError}`
        : 'The first index build is still running.'
      : mode.mode === 'extractive'
        ? mode.notice
        : undefined;
  return {
    ready: current !== undefined,
    ...(current === undefined
      ? {}
      : {
          index: {
            notes: Object.keys(current.index.manifest.notes).length,
            chunks: current.index.manifest.chunkCount,
            embedder: current.embedder.id,
            builtAt: current.index.manifest.builtAt,
          },
        }),
    building: state.building,
    mode: mode.mode,
    chatModel: mode.mode === 'extractive' ? null : mode.chat.model,
    provider: server.provider,
    // Under the provider's name: `ollama` as before, or `openai`.
    [server.provider]: {
      url: server.url,
      reachable: server.reachable,
      ...(server.version === undefined ? {} : { version: server.version }),
      missingModels: server.missingModels,
      ...(server.fix === undefined ? {} : { fix: server.fix }),
    },
    ...(reason === undefined ? {} : { reason }),
    warming: warmer.warming(),
  };
}

/** Said with each answer while another embedder's index is built behind the one answering. */
function switchNotice(live: LiveIndex): string | undefined {
  const state = live.state();
  const serving = state.current?.embedder.id;
  const target = live.embedder().id;
  if (serving === undefined || serving === target) return undefined;
  const progress = state.progress?.phase === 'embed' ? ` (${state.progress.done} of ${state.progress.total} chunks so far)` : '';
  return `Answered from the ${serving} index while ${target} indexes your notes${progress}; answers switch to it when it is done.`;
}

/** One listing per loaded index (a generation never changes once loaded). */
const listings = new WeakMap<object, NotesListing>();

function notesListing(live: LiveIndex): NotesListing | undefined {
  const index = live.state().current?.index;
  if (index === undefined) return undefined;
  let listing = listings.get(index);
  if (listing === undefined) {
    listing = index.listNotes();
    listings.set(index, listing);
  }
  return listing;
}

export async function main(config: Config, log: Logger): Promise<{ close(): Promise<void>; url: string }> {
  const line = (message: string) => log.info(message);
  const tracker = createModeTracker(config, line);
  // Loads the models at start and whenever Ollama (re)appears, so the first question does not wait (issue 12).
  const warmer = createModelWarmer(
    {
      baseUrl: config.ollamaHost,
      // Ollama only: an OpenAI-compatible server (vLLM, llama.cpp) keeps its one model loaded anyway.
      chatModel: config.llmProvider === 'ollama' && config.llm !== 'none' ? config.chatModel : undefined,
      embedModel: config.llmProvider === 'ollama' && (config.embeddings === 'auto' || config.embeddings === 'ollama') ? config.embedModel : undefined,
      keepAlive: config.ollamaKeepAlive,
      numCtx: config.numCtx,
      timeoutMs: Math.max(config.ollamaTimeoutMs, WARM_UP_TIMEOUT_MS),
    },
    (message, fields) => (fields['ok'] === false ? log.warn(message, fields) : log.info(message, fields)),
  );
  const checkOllama = async () => {
    const mode = await tracker.check();
    warmer.update(tracker.server());
    return mode;
  };
  await checkOllama();
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

  const { answer, readNote, library } = composeAnswering({
    notesDir: config.notesDir,
    topK: config.topK,
    live,
    tracker,
    recheck: checkOllama,
    warn: (message, fields) => log.warn(message, fields),
    indexNotice: () => switchNotice(live),
  });

  // Listing asks Ollama's /api/show once per model not seen before: allow a little more than one probe.
  const models =
    config.llmProvider === 'openai' && config.openaiBaseUrl !== undefined
      ? createOpenAIModelList({
          baseUrl: config.openaiBaseUrl,
          apiKey: config.openaiApiKey,
          defaultModel: config.chatModel,
          embedModel: config.embedModel,
          timeoutMs: config.ollamaConnectTimeoutMs,
        })
      : createChatModelCatalog({ baseUrl: config.ollamaHost, defaultModel: config.chatModel, timeoutMs: config.ollamaConnectTimeoutMs * 2 });
  const app = createApp({
    answer,
    readiness: () => readiness(live, tracker, warmer),
    indexStatus: (only) => indexStatusReport(live.state(), only),
    listNotes: () => notesListing(live),
    listModels: (signal) => models.list(signal),
    reindex: () => live.update(),
    readNote,
    library,
    noteFiles: createNoteFiles({ notesDir: config.notesDir, indexed: () => live.state().current?.index.manifest.notes }),
    topK: config.topK,
    apiToken: config.apiToken,
    corsOrigin: config.corsOrigin,
    listenHost: config.host,
    maxConcurrentAnswers: config.maxConcurrentAnswers,
    log,
  });
  const server = await startServer(app, {
    host: config.host,
    port: config.port,
    log,
    hasApiToken: config.apiToken !== undefined,
  });

  const timers: NodeJS.Timeout[] = [];
  const every = (ms: number, work: () => void): NodeJS.Timeout => {
    const timer = setInterval(work, ms);
    timer.unref();
    timers.push(timer);
    return timer;
  };
  let watcher: { close(): Promise<void> } | undefined;
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

  const recheck = setInterval(() => {
    void (async () => {
      await checkOllama();
      if (config.embeddings !== 'auto') return;
      // EMBEDDINGS=auto follows Ollama: the other embedder's index is built while this one serves.
      const next = await chooseEmbedder(config);
      if (next.embedder.id !== live.embedder().id) {
        line(`switching embedder to ${next.embedder.id}: ${next.reason}`);
        void live.switchEmbedder(next.embedder);
      }
    })().catch((error: unknown) => log.warn('ollama re-check failed', { error: String(error) }));
  }, config.ollamaCheckIntervalMs);
  recheck.unref();

  return {
    url: server.url,
    async close() {
      clearInterval(recheck);
      warmer.stop();
      for (const timer of timers) clearInterval(timer);
      await watcher?.close();
      await server.close(SHUTDOWN_GRACE_MS);
      await backend.close();
    },
  };
}

if (isEntryPoint(import.meta.url)) {
  let config: Config;
  try {
    config = parseConfig(process.env);
  } catch (error) {
    process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
    process.exit(2);
  }
  const log = createLogger({ level: config.logLevel });
  main(config, log).then(
    (running) => {
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        log.info(`${signal} received: finishing in-flight answers, then exiting`);
        running.close().then(
          () => process.exit(0),
          () => process.exit(0),
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    },
    (error: unknown) => {
      process.stderr.write(`asknotes could not start: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
