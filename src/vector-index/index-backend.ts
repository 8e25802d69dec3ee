/**
 * The one seam between answering and storage: an index backend builds, opens and follows the index
 * of a notes folder, and an opened index answers fused searches. Two backends implement it side by
 * side: `files/` (hnswlib generations in INDEX_DIR) and `postgres/` (pgvector + full-text search).
 * A backend is chosen once, in the composition root; nothing above `vector-index/` knows which runs.
 */
import type { Embedder, TermStatistics } from '../embeddings/embedder.ts';
import type { NoteFailure } from '../notes/load-notes.ts';
import type { IndexedChunk } from './indexed-chunk.ts';
import type { NotesListing } from './note-listing.ts';
import type { ScopeFilter } from './scope-rows.ts';

export type RetrievalMethod = 'hybrid' | 'vector' | 'keyword';

/** What an index says about itself, whatever holds it. */
export interface IndexManifest {
  embedder: string;
  dimensions: number;
  chunkerVersion: number;
  builtAt: string;
  chunkCount: number;
  notes: Record<string, { hash: string; title: string; chunkIds: string[] }>;
  failures: NoteFailure[];
}

/** The keyword statistics answers weigh question terms with (BM25's document frequencies and IDF). */
export interface KeywordStatistics extends TermStatistics {
  idf(term: string): number;
}

export interface SearchQuery {
  text: string;
  /** The query's embedding; required unless the method is `keyword`. */
  vector?: number[];
  /** Its rankings' weight in the fusion. */
  weight: number;
}

/** The chunks a scope selects in one index (made by that index's `scope`; only it reads the rest). */
export interface IndexScope {
  /** How many chunks are in scope. */
  readonly size: number;
}

export interface SearchOptions {
  /** How many candidates each ranking contributes. */
  depth: number;
  method: RetrievalMethod;
  /**
   * How much the vector half counts in the hybrid, the keyword half counting 1 (`Embedder.fusionWeight`;
   * default 1). Rankings are fused by the weighted mean of their normalised scores (`fuse-scores.ts`).
   */
  vectorWeight?: number;
  /** Only chunks in this scope are ranked (applied inside each search, so the best of the scope come back). */
  scope?: IndexScope | undefined;
  signal?: AbortSignal;
}

export interface SearchHit {
  chunk: IndexedChunk;
  /**
   * Fused score, 0..1: the weighted mean over every ranking of every query of the chunk's score
   * normalised by that ranking's best (`fuse-scores.ts`); 1 = best in every ranking.
   */
  fused: number;
  /** Best cosine similarity (0..1) of the chunk to a query vector, 0 when no vector search found it. */
  similarity: number;
}

/** An opened index version: immutable, so in-flight answers keep the one they started with. */
export interface SearchableIndex {
  readonly manifest: IndexManifest;
  /**
   * The backend's token for this version (what `IndexBackend.version` reports while it is live): a
   * server shows it in `/index/status`, so replicas can be seen to serve the same version.
   */
  readonly version?: string;
  readonly keyword: KeywordStatistics;
  /**
   * Vector and keyword rankings (`depth` each) for every query, fused by weighted normalised scores
   * (`fuse-scores.ts`): best first, ties by chunk id.
   */
  search(queries: readonly SearchQuery[], options: SearchOptions): Promise<SearchHit[]>;
  /** The chunks a scope selects (`scope-rows.ts` judges each note). */
  scope(filter: ScopeFilter): Promise<IndexScope>;
  /** The indexed notes, folders and tags (`GET /index/notes`). */
  listNotes(): NotesListing;
}

export interface BuildSummary {
  notes: number;
  chunks: number;
  embedded: number;
  reused: number;
  removed: number;
  failed: NoteFailure[];
  seconds: number;
  /** false when nothing changed and the existing index version was kept. */
  wroteGeneration: boolean;
}

export type BuildProgress =
  | { phase: 'scan'; notes: number }
  | { phase: 'embed'; done: number; total: number }
  | { phase: 'write'; chunks: number };

export interface UpdateOptions {
  notesDir: string;
  embedder: Embedder;
  rebuild?: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: BuildProgress) => void;
  /** One line per event worth logging (e.g. a corrupt index that will be rebuilt). */
  log?: (line: string) => void;
}

/** `Index` is the backend's own index type (tests of one backend may look inside it). */
export interface IndexBackend<Index extends SearchableIndex = SearchableIndex> {
  readonly kind: 'files' | 'postgres';
  /** The live index version for this embedder, or undefined (the reason logged) when there is none to trust. */
  open(embedder: Embedder, options?: { log?: (line: string) => void }): Promise<Index | undefined>;
  /** Brings the index up to date with the notes folder and returns the new (or unchanged) version. */
  update(options: UpdateOptions): Promise<{ index: Index; summary: BuildSummary }>;
  /** A cheap token naming the live version: a follower re-opens when it changes. */
  version(embedder: Embedder): Promise<string | undefined>;
  close(): Promise<void>;
}
