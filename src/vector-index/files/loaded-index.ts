/**
 * A generation in memory: its chunks in label order, the HNSW store, the keyword index and (up to
 * 2^28 vector values) an int16 exact-search copy of the vectors. It is the files backend's `SearchableIndex`.
 */
import { basename } from 'node:path';
import type { HNSWLib } from '@langchain/community/vectorstores/hnswlib';
import type { Embedder } from '../../embeddings/embedder.ts';
import type { ExactSearch } from '../exact-search.ts';
import type { SearchableIndex } from '../index-backend.ts';
import type { IndexedChunk } from '../indexed-chunk.ts';
import type { KeywordDocument } from '../bm25f.ts';
import type { KeywordIndex } from '../keyword-index.ts';
import { keywordDocument } from '../indexed-chunk.ts';
import type { Manifest } from '../manifest.ts';
import { listNotes } from '../note-listing.ts';
import { scopeRows } from '../scope-rows.ts';
import { searchGeneration, type SearchedGeneration } from './search-generation.ts';

export interface HnswParameters {
  m: number;
  efConstruction: number;
  efSearch: number;
}

export const DEFAULT_HNSW: HnswParameters = { m: 16, efConstruction: 100, efSearch: 96 };

export interface LoadedIndex extends SearchableIndex, SearchedGeneration {
  directory: string;
  manifest: Manifest;
  chunks: IndexedChunk[];
  byId: Map<string, IndexedChunk>;
  store: HNSWLib;
  keyword: KeywordIndex;
  /** Exact vector search over the same vectors, unless the index is too large (`exact-search.ts`). */
  exact: ExactSearch | undefined;
}

/**
 * The generation each embedder last loaded or built. A generation folder never changes once
 * written, so when its fingerprint (manifest, file sizes and times) is the same, the loaded index is
 * too: a server's update right after opening, or after each build, does not load the index again.
 */
export const loadedGenerations = new WeakMap<Embedder, { directory: string; fingerprint: string; index: LoadedIndex }>();

export function useIndex(index: LoadedIndex, embedder: Embedder, efSearch: number): LoadedIndex {
  index.store.index.setEf(Math.max(efSearch, 1));
  embedder.useTermStatistics?.(index.keyword);
  return index;
}

export function keywordDocuments(chunks: IndexedChunk[]): KeywordDocument[] {
  return chunks.map(keywordDocument);
}

export function indexOf(
  directory: string,
  manifest: Manifest,
  chunks: IndexedChunk[],
  store: HNSWLib,
  keyword: KeywordIndex,
  exact: ExactSearch | undefined,
): LoadedIndex {
  return {
    directory,
    // CURRENT names the generation folder: the files backend's version token.
    version: basename(directory),
    manifest,
    chunks,
    byId: new Map(chunks.map((chunk) => [chunk.id, chunk])),
    store,
    keyword,
    exact,
    // `this`, not the fields above: a copy with another store or exact search searches with those.
    search(queries, options) {
      return searchGeneration(this, queries, options);
    },
    scope(filter) {
      return Promise.resolve(scopeRows(this.chunks, filter));
    },
    listNotes() {
      return listNotes(this.chunks);
    },
  };
}
