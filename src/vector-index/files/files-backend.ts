/** The files backend: hnswlib generations under INDEX_DIR, one folder per embedder. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IndexBackend } from '../index-backend.ts';
import { prepareIndexFolder } from '../index-folder.ts';
import { embedderDirectory } from './generation-files.ts';
import type { HnswParameters, LoadedIndex } from './loaded-index.ts';
import { openIndex } from './read-generation.ts';
import { updateIndex } from './update-generation.ts';

export function createFilesBackend(options: { indexDir: string; hnsw?: HnswParameters }): IndexBackend<LoadedIndex> {
  const { indexDir } = options;
  return {
    kind: 'files',
    open: (embedder, openOptions = {}) =>
      openIndex(indexDir, embedder, { log: openOptions.log, ...(options.hnsw ? { efSearch: options.hnsw.efSearch } : {}) }),
    async update(updateOptions) {
      // A folder that cannot hold the index fails here at once, in plain words (issue 17).
      await prepareIndexFolder(indexDir);
      return updateIndex({ ...updateOptions, indexDir, ...(options.hnsw ? { hnsw: options.hnsw } : {}) });
    },
    // CURRENT names a new generation folder for every build, so its text is the version.
    version: async (embedder) => readFile(join(embedderDirectory(indexDir, embedder), 'CURRENT'), 'utf8').then(
      (text) => text.trim(),
      () => undefined,
    ),
    close: async () => undefined,
  };
}
