/**
 * The Postgres + pgvector backend: the index lives in a database that one indexer writes (under the
 * writer lock) and any number of serving replicas read. Plain SQL through `pg`: LangChain's
 * PGVectorStore keeps one table of (text, metadata, vector) and searches vectors only, while this
 * backend needs per-note transactions, a generation swap and BM25 fused with the vector ranking in
 * one statement.
 */
import pg from 'pg';
import type { IndexBackend } from '../index-backend.ts';
import { explainDatabaseError } from './database-errors.ts';
import { openPostgresIndex, readState, type PostgresIndex } from './postgres-index.ts';
import { migrate, TABLE_LAYOUT } from './schema.ts';
import { updatePostgres } from './update-postgres.ts';
import { acquireWriterLock } from './writer-lock.ts';

export interface PostgresBackendOptions {
  databaseUrl: string;
  /** How long a writer's claim lasts without a heartbeat (a killed indexer's claim lapses after it). */
  leaseMs?: number;
  /** A second indexer waits for the first instead of failing. */
  waitForWriter?: boolean;
  log?: (line: string) => void;
  /** Connections in the pool (a writer holds one for its lock). */
  maxConnections?: number;
}

export const DEFAULT_LEASE_MS = 30_000;

export function createPostgresBackend(options: PostgresBackendOptions): IndexBackend<PostgresIndex> {
  const pool = new pg.Pool({
    connectionString: options.databaseUrl,
    max: options.maxConnections ?? 4,
    connectionTimeoutMillis: 5_000,
    // Awaited before the pool hands the new client out, so no query is sent while this one runs.
    onConnect: async (client) => {
      // HNSW returns at most ef_search rows: room for the deepest ranking a search asks for (k 20 x 5);
      // a scoped search keeps walking the graph until it has them (pgvector 0.8 iterative scans).
      await client.query('SET hnsw.ef_search = 100; SET hnsw.iterative_scan = strict_order').catch(() => undefined);
    },
  });
  // A connection the server drops must not crash the process. The pool listens only to its idle
  // clients; a client that is checked out (a read snapshot, the writer's lock session) emits 'error'
  // as well as failing its query, and an 'error' nobody listens to is an uncaught exception. So every
  // client gets a listener for its whole life: the failed query reports the loss, the pool discards
  // the broken client on release, and the next query reconnects.
  pool.on('connect', (client) => client.on('error', (error) => options.log?.(`database connection lost: ${error.message}`)));
  pool.on('error', () => undefined); // an idle client's loss: logged by its own listener above
  let migrated: Promise<void> | undefined;
  const explained = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      throw explainDatabaseError(error, options.databaseUrl);
    }
  };
  const ready = (): Promise<void> => {
    migrated ??= migrate(pool).catch((error: unknown) => {
      migrated = undefined;
      throw error;
    });
    return migrated;
  };
  return {
    kind: 'postgres',
    open: (embedder) =>
      explained(async () => {
        await ready();
        return openPostgresIndex(pool, embedder);
      }),
    update: (updateOptions) =>
      explained(async () => {
      await ready();
      const lock = await acquireWriterLock(pool, updateOptions.embedder.id, {
        leaseMs: options.leaseMs ?? DEFAULT_LEASE_MS,
        wait: options.waitForWriter ?? false,
        signal: updateOptions.signal,
      });
      try {
        const summary = await updatePostgres(pool, lock, updateOptions);
        const index = await openPostgresIndex(pool, updateOptions.embedder);
        if (index === undefined) throw new Error('the index just written is not in the database');
        return { index, summary };
      } finally {
        await lock.release().catch(() => undefined);
      }
      }),
    version: (embedder) =>
      explained(async () => {
        await ready();
        const state = await readState(pool, embedder.id);
        // A generation of an older table layout is not served: none until the indexer rebuilds it.
        return state === undefined || state.layout !== TABLE_LAYOUT ? undefined : `${state.generation}:${state.version}`;
      }),
    close: () => pool.end(),
  };
}
