/**
 * A real folder of notes (by default the tldr pages corpus, `../shared/corpora/tldr`: 7,424 short
 * notes): a full local-embedder build in a child process, as `npm run index --rebuild` runs it,
 * then the retrieval figures of `retrieval-bench.ts` on that index.
 */
import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { REPO_ROOT, runJsonScript } from './child.ts';
import type { IndexWorkerRequest, IndexWorkerResult } from './index-worker.ts';
import { measureRetrieval, type RetrievalFigures } from './retrieval-bench.ts';
import { round } from './stats.ts';
import { INDEX_WORKER, type BenchWorkspace } from './workspace.ts';

/** The corpus of issue 11's targets, beside the repository. */
export const DEFAULT_NOTES_DIR = join(REPO_ROOT, '..', 'shared', 'corpora', 'tldr');

export interface NotesFigures {
  /** The folder's name (e.g. "tldr"). */
  name: string;
  notes: number;
  chunks: number;
  /** Wall seconds of the full build, its CPU seconds and the build process's peak RSS. */
  indexSeconds: number;
  indexCpuSeconds: number;
  peakRssMb: number;
  retrieval: RetrievalFigures;
}

export interface NotesBenchOptions {
  workspace: BenchWorkspace;
  notesDir: string;
  queries: number;
  exactQueries: number;
  log: (line: string) => void;
}

/** The figures, or undefined (logged) when the folder is not there. */
export async function runNotesBench(options: NotesBenchOptions): Promise<NotesFigures | undefined> {
  const { notesDir, log } = options;
  const folder = await stat(notesDir).catch(() => undefined);
  if (folder === undefined || !folder.isDirectory()) {
    log(`notes: ${notesDir} is not a folder; skipped (pass --notes DIR)`);
    return undefined;
  }
  const indexDir = join(options.workspace.root, 'notes-index');
  log(`notes: indexing ${notesDir}`);
  const request: IndexWorkerRequest = { notesDir, indexDir, rebuild: true };
  const build = await runJsonScript<IndexWorkerResult>(INDEX_WORKER, [JSON.stringify(request)]);
  const retrieval = await measureRetrieval({ indexDir, seed: options.workspace.seed, queries: options.queries, exactQueries: options.exactQueries, log });
  return {
    name: basename(notesDir),
    notes: build.notes,
    chunks: build.chunks,
    indexSeconds: round(build.seconds, 2),
    indexCpuSeconds: round(build.cpuSeconds, 2),
    peakRssMb: Math.round(build.peakRssBytes / 2 ** 20),
    retrieval,
  };
}
