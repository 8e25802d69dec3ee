/**
 * The index a running server answers from. With ROLE=all the server builds it: updates run one at a
 * time (requests that arrive during a build are coalesced into one follow-up build), and each
 * finished build is swapped in with a single assignment, so in-flight answers keep the index they
 * started with and none is dropped. With ROLE=serve it never builds: `update()` follows the shared
 * index instead, opening a new version when the backend publishes one.
 */
import type { Embedder } from '../embeddings/embedder.ts';
import { checkNotesFolder, type NoteFailure } from '../notes/load-notes.ts';
import type { BuildProgress, BuildSummary, IndexBackend, SearchableIndex } from './index-backend.ts';

export interface LiveIndexState<Index extends SearchableIndex = SearchableIndex> {
  current: { index: Index; embedder: Embedder } | undefined;
  building: boolean;
  progress: BuildProgress | undefined;
  lastSummary: BuildSummary | undefined;
  lastError: string | undefined;
  failures: NoteFailure[];
  /** While a warm start builds the quick (built-in) index first: its embedder and how far it is (`/index/status`). */
  quickBuild: { embedder: string; progress: BuildProgress | undefined } | undefined;
}

export interface LiveIndex<Index extends SearchableIndex = SearchableIndex> {
  state(): LiveIndexState<Index>;
  /**
   * Opens the existing index (if valid) without rebuilding; returns whether one was loaded. An
   * unreachable backend is recorded in `lastError` (and logged), not thrown.
   */
  open(): Promise<boolean>;
  /**
   * ROLE=all: incremental update now (or right after the running one); resolves when the index is
   * current. ROLE=serve: opens the backend's live version if it is newer than the one served.
   */
  update(): Promise<BuildSummary | undefined>;
  /** Builds (or, serving, follows) an index of another embedder while the current one keeps serving, then swaps. */
  switchEmbedder(embedder: Embedder): Promise<BuildSummary | undefined>;
  /**
   * First start without an index of this embedder (issue 15): opens or builds `quick`'s index (the
   * built-in embedder: seconds, where Ollama takes minutes on a large folder) and serves it, then
   * builds this embedder's index behind it and swaps it in, as a later switch of embedder does.
   */
  warmStart(quick: Embedder): Promise<BuildSummary | undefined>;
  embedder(): Embedder;
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

export function createLiveIndex<Index extends SearchableIndex>(options: {
  backend: IndexBackend<Index>;
  notesDir: string;
  embedder: Embedder;
  log: (line: string) => void;
  /** Where a failed build is reported (the server logs it at `error`); defaults to `log`. */
  logError?: (line: string) => void;
  /** `serve`: never build; follow the versions another process publishes. Default `all`. */
  role?: 'all' | 'serve';
}): LiveIndex<Index> {
  const { backend } = options;
  const logError = options.logError ?? options.log;
  let embedder = options.embedder;
  const state: LiveIndexState<Index> = {
    current: undefined,
    building: false,
    progress: undefined,
    lastSummary: undefined,
    lastError: undefined,
    failures: [],
    quickBuild: undefined,
  };
  let running: Promise<BuildSummary | undefined> | undefined;
  let again = false;
  /** The backend version of the index served (ROLE=serve). */
  let servedVersion: string | undefined;

  const build = async (): Promise<BuildSummary | undefined> => {
    state.building = true;
    try {
      do {
        again = false;
        const target = embedder;
        try {
          // A notes folder that cannot be read fails here at once, in plain words (issue 17); the
          // backend checks its own storage (the files backend: INDEX_DIR).
          await checkNotesFolder(options.notesDir);
          const { index, summary } = await backend.update({
            notesDir: options.notesDir,
            embedder: target,
            log: options.log,
            onProgress: (progress) => {
              state.progress = progress;
            },
          });
          // The embedder may have been switched meanwhile; only swap in a build of the wanted one.
          if (target === embedder) {
            state.current = { index, embedder: target };
            state.lastSummary = summary;
            state.failures = summary.failed;
            state.lastError = undefined;
            if (summary.wroteGeneration) {
              options.log(
                `indexed ${summary.notes} notes, ${summary.chunks} chunks (${summary.embedded} embedded, ${summary.reused} reused, ${summary.removed} removed) in ${summary.seconds.toFixed(2)} s`,
              );
            }
          } else {
            again = true;
          }
        } catch (error) {
          state.lastError = messageOf(error);
          logError(`indexing failed: ${state.lastError}`);
        }
      } while (again);
      return state.lastSummary;
    } finally {
      state.building = false;
      state.progress = undefined;
      running = undefined;
    }
  };

  const follow = async (): Promise<BuildSummary | undefined> => {
    try {
      const target = embedder;
      const version = await backend.version(target);
      if (version !== undefined && (version !== servedVersion || state.current?.embedder !== target)) {
        const index = await backend.open(target, { log: options.log });
        if (index !== undefined && target === embedder) {
          state.current = { index, embedder: target };
          state.failures = index.manifest.failures;
          servedVersion = version;
          options.log(`serving index version ${version} (${index.manifest.chunkCount} chunks)`);
        }
      }
      state.lastError = undefined;
    } catch (error) {
      const message = messageOf(error);
      if (state.lastError !== message) logError(`the index could not be read: ${message}`);
      state.lastError = message;
    } finally {
      running = undefined;
    }
    return state.lastSummary;
  };

  const update = (): Promise<BuildSummary | undefined> => {
    if (running !== undefined) {
      again = options.role !== 'serve';
      return running;
    }
    running = options.role === 'serve' ? follow() : build();
    return running;
  };

  return {
    state: () => state,
    embedder: () => embedder,
    async open() {
      try {
        const index = await backend.open(embedder, { log: options.log });
        if (index === undefined) return false;
        state.current = { index, embedder };
        return true;
      } catch (error) {
        state.lastError = messageOf(error);
        logError(`the index could not be opened: ${state.lastError}`);
        return false;
      }
    },
    update,
    async warmStart(quick) {
      const quickBuild: NonNullable<LiveIndexState['quickBuild']> = { embedder: quick.id, progress: undefined };
      state.quickBuild = quickBuild;
      try {
        // An update, not just an open: the quick index may be from before notes changed (an unchanged one loads as is).
        const { index } = await options.backend.update({
          notesDir: options.notesDir,
          embedder: quick,
          log: options.log,
          onProgress: (progress) => {
            quickBuild.progress = progress;
          },
        });
        // Whatever the main build has swapped in meanwhile is better; never replace it.
        if (state.current === undefined) {
          state.current = { index, embedder: quick };
          options.log(`serving the ${quick.id} index while the ${embedder.id} index is built`);
        }
      } catch (error) {
        options.log(`the ${quick.id} index could not be built (${error instanceof Error ? error.message : String(error)}); waiting for ${embedder.id}`);
      } finally {
        state.quickBuild = undefined;
      }
      return update();
    },
    switchEmbedder(next) {
      embedder = next;
      return update();
    },
  };
}
