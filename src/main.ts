/**
 * The composition root: the only file that reads process.env and listens.
 * `npm start` = parse config, serve at once (/healthz up, 503 index_not_ready until an index is
 * loaded), build or update the index, watch the notes and re-index on change, re-check Ollama
 * periodically, and stop gracefully on SIGTERM/SIGINT.
 */
import { ConfigError, parseConfig, type Config } from './config.ts';
import type { ModeTracker } from './answer/answer-mode.ts';
import { createChatModelCatalog, createOpenAIModelList } from './answer/chat-models.ts';
import { createModelWarmer, type ModelWarmer } from './answer/warm-models.ts';
import { isEntryPoint } from './cli/is-entry-point.ts';
import { embedProgress, indexStatusReport, runningBuild } from './library/index-status.ts';
import { composeNotesEngine } from './library/notes-engine.ts';
import { createNoteFiles } from './notes/note-files.ts';
import { createApp } from './server/create-app.ts';
import { createLogger, type Logger } from './server/logger.ts';
import type { Readiness } from './server/server-deps.ts';
import { startServer } from './server/start-server.ts';
import type { LiveIndex } from './vector-index/live-index.ts';
import type { NotesListing } from './vector-index/note-listing.ts';

/** How long in-flight answers may run after SIGTERM before their connections are closed. */
const SHUTDOWN_GRACE_MS = 5_000;

/** Longest wait for a model load at warm-up (node's fetch gives up on headers after 5 minutes anyway). */
const WARM_UP_TIMEOUT_MS = 300_000;

function readiness(live: LiveIndex, tracker: ModeTracker, warmer: ModelWarmer): Readiness {
  const state = live.state();
  const mode = tracker.mode();
  const server = tracker.server();
  const current = state.current;
  const build = runningBuild(live);
  const progress = embedProgress(build);
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
    building: build !== undefined,
    ...(progress === undefined ? {} : { progress }),
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
  const engine = await composeNotesEngine(config, {
    log,
    afterCheck: (tracker) => warmer.update(tracker.server()),
  });
  const { live, tracker, answer, readNote, library } = engine;

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
    indexStatus: (only) => indexStatusReport(live, only),
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

  await engine.start();

  return {
    url: server.url,
    async close() {
      warmer.stop();
      await engine.stop();
      await server.close(SHUTDOWN_GRACE_MS);
      await engine.backend.close();
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
