/**
 * The files backend's public names, where callers found them before the backend seam (issue 14):
 * the implementation lives in `files/`, one module per job, behind `index-backend.ts`.
 */
export { DEFAULT_HNSW, type HnswParameters, type LoadedIndex } from './files/loaded-index.ts';
export { openIndex } from './files/read-generation.ts';
export { updateIndex, type BuildOptions } from './files/update-generation.ts';
export type { BuildProgress, BuildSummary } from './index-backend.ts';
export { embedderFolder, keywordDocument, sha256, type IndexedChunk } from './indexed-chunk.ts';
