/**
 * Where a benchmark run keeps its corpora and indexes: one folder per size under a temporary root,
 * generated on first use, so the parts can run alone (`--only retrieval`) or share the work.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepareCorpus, type GeneratedCorpus } from './corpus.ts';
import { runJsonScript } from './child.ts';
import type { IndexWorkerRequest, IndexWorkerResult } from './index-worker.ts';

export const INDEX_WORKER = fileURLToPath(new URL('./index-worker.ts', import.meta.url));

export interface BenchWorkspace {
  root: string;
  seed: number;
  corpus(size: number): Promise<GeneratedCorpus>;
  notesDir(size: number): string;
  /** INDEX_DIR of the local-embedder index for this size. */
  indexDir(size: number): string;
  /** Builds (or updates) the local index of this size in a child process, and remembers that it exists. */
  buildLocal(size: number, rebuild: boolean): Promise<IndexWorkerResult>;
  /** Makes sure a local index of this size exists (built unmeasured when no part built it yet). */
  ensureLocalIndex(size: number): Promise<void>;
  remove(): Promise<void>;
}

export async function createWorkspace(seed: number, root?: string): Promise<BenchWorkspace> {
  const base = root ?? (await mkdtemp(join(tmpdir(), 'asknotes-bench-')));
  const corpora = new Map<number, Promise<GeneratedCorpus>>();
  const built = new Set<number>();
  const folder = (size: number) => join(base, `chunks-${size}`);
  const workspace: BenchWorkspace = {
    root: base,
    seed,
    corpus(size) {
      let corpus = corpora.get(size);
      if (corpus === undefined) {
        corpus = prepareCorpus(join(folder(size), 'notes'), size, seed + size);
        corpora.set(size, corpus);
      }
      return corpus;
    },
    notesDir: (size) => join(folder(size), 'notes'),
    indexDir: (size) => join(folder(size), 'index'),
    async buildLocal(size, rebuild) {
      await workspace.corpus(size);
      const request: IndexWorkerRequest = { notesDir: workspace.notesDir(size), indexDir: workspace.indexDir(size), rebuild };
      const result = await runJsonScript<IndexWorkerResult>(INDEX_WORKER, [JSON.stringify(request)]);
      built.add(size);
      return result;
    },
    async ensureLocalIndex(size) {
      if (!built.has(size)) await workspace.buildLocal(size, false);
    },
    async remove() {
      await rm(base, { recursive: true, force: true });
    },
  };
  return workspace;
}
