/**
 * The index a running server answers from. Updates run one at a time (requests that arrive during a
 * build are coalesced into one follow-up build); each finished build is swapped in with a single
 * assignment, so in-flight answers keep the index they started with and none is dropped.
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
}

export interface LiveIndex<Index extends SearchableIndex = SearchableIndex> {
  state(): LiveIndexState<Index>;
  /** Opens the existing index (if valid) without rebuilding; returns whether one was loaded. */
  open(): Promise<boolean>;
  /** Incremental update now (or right after the running one). Resolves when the index is current. */
  update(): Promise<BuildSummary | undefined>;
  /** Builds an index with another embedder while the current one keeps serving, then swaps. */
  switchEmbedder(embedder: Embedder): Promise<BuildSummary | undefined>;
  embedder(): Embedder;
}

export function createLiveIndex<Index extends SearchableIndex>(options: {
  backend: IndexBackend<Index>;
  notesDir: string;
  embedder: Embedder;
  log: (line: string) => void;
  /** Where a failed build is reported (the server logs it at `error`); defaults to `log`. */
  logError?: (line: string) => void;
}): LiveIndex<Index> {
  const logError = options.logError ?? options.log;
  let embedder = options.embedder;
  const state: LiveIndexState<Index> = {
    current: undefined,
    building: false,
    progress: undefined,
    lastSummary: undefined,
    lastError: undefined,
    failures: [],
  };
  let running: Promise<BuildSummary | undefined> | undefined;
  let again = false;

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
          const { index, summary } = await options.backend.update({
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
          state.lastError = error instanceof Error ? error.message : String(error);
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

  const update = (): Promise<BuildSummary | undefined> => {
    if (running !== undefined) {
      again = true;
      return running;
    }
    running = build();
    return running;
  };

  return {
    state: () => state,
    embedder: () => embedder,
    async open() {
      const index = await options.backend.open(embedder, { log: options.log });
      if (index === undefined) return false;
      state.current = { index, embedder };
      return true;
    },
    update,
    switchEmbedder(next) {
      embedder = next;
      return update();
    },
  };
}
