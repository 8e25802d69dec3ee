/**
 * The first step of every backend's update: read the notes folder, report the scan, and time the
 * update for its summary (the files backend's update-generation.ts, Postgres' update-postgres.ts).
 */
import { loadNotes, type LoadedNotes } from '../notes/load-notes.ts';
import type { BuildSummary, UpdateOptions } from './index-backend.ts';

export type SummaryFields = Pick<BuildSummary, 'chunks' | 'embedded' | 'reused' | 'removed' | 'wroteGeneration'>;

export interface ScannedNotes {
  loaded: LoadedNotes;
  /** The update's summary: the scan's note and failure counts, the time since the scan began, and `fields`. */
  summaryOf(fields: SummaryFields): BuildSummary;
}

export async function scanNotes(options: Pick<UpdateOptions, 'notesDir' | 'signal' | 'onProgress'>): Promise<ScannedNotes> {
  const started = performance.now();
  const loaded = await loadNotes(options.notesDir);
  options.signal?.throwIfAborted();
  options.onProgress?.({ phase: 'scan', notes: loaded.notes.length });
  return {
    loaded,
    summaryOf: (fields) => ({
      notes: loaded.notes.length,
      failed: loaded.failures,
      seconds: (performance.now() - started) / 1000,
      ...fields,
    }),
  };
}
