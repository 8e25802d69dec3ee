/**
 * One indexer writes an embedder's index at a time. Two guards:
 * - a session advisory lock on a dedicated connection: on a real server a second indexer is turned
 *   away at once, and a killed indexer's lock goes with its connection;
 * - a lease row in `asknotes_writers` (holder, heartbeat), renewed while the indexer works and
 *   checked inside every write transaction (`assertHolder`): an indexer whose lease lapsed stops
 *   before writing. The lease is what excludes where connections share one session (PGlite's
 *   socket server multiplexes its clients onto one backend, so advisory locks cannot exclude there).
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Pool, PoolClient } from 'pg';

export class WriterBusyError extends Error {
  constructor(embedderId: string, holder: string, secondsAgo: number) {
    super(
      `another indexer (${holder}, last seen ${secondsAgo.toFixed(0)} s ago) is writing the index for ${embedderId}; ` +
        'only one indexer writes at a time (run `npm run index -- --wait` to wait for it)',
    );
    this.name = 'WriterBusyError';
  }
}

export interface WriterLock {
  readonly holder: string;
  /** Inside a write transaction: throws (so the transaction rolls back) unless this lease is still held. */
  assertHolder(client: PoolClient): Promise<void>;
  release(): Promise<void>;
}

/** A 64-bit advisory key per embedder id ($1). */
const ADVISORY_KEY = `hashtextextended('asknotes writer ' || $1, 0)`;

async function tryLease(pool: Pool, embedderId: string, holder: string, leaseMs: number): Promise<boolean> {
  const { rowCount } = await pool.query(
    `INSERT INTO asknotes_writers AS w (embedder, holder, heartbeat, expires_at)
     VALUES ($1, $2, clock_timestamp(), clock_timestamp() + make_interval(secs => $3))
     ON CONFLICT (embedder) DO UPDATE SET holder = excluded.holder, heartbeat = excluded.heartbeat, expires_at = excluded.expires_at
     WHERE w.holder = excluded.holder OR w.expires_at < clock_timestamp()`,
    [embedderId, holder, leaseMs / 1000],
  );
  return rowCount === 1;
}

async function busyError(pool: Pool, embedderId: string): Promise<WriterBusyError> {
  const { rows } = await pool.query<{ holder: string; seconds: number }>(
    `SELECT holder, extract(epoch FROM clock_timestamp() - heartbeat)::float8 AS seconds FROM asknotes_writers WHERE embedder = $1`,
    [embedderId],
  );
  return new WriterBusyError(embedderId, rows[0]?.holder ?? 'unknown', Math.max(0, rows[0]?.seconds ?? 0));
}

/**
 * Takes the writer lock for an embedder, or throws WriterBusyError; with `wait`, polls until free
 * (or the signal aborts).
 */
export async function acquireWriterLock(
  pool: Pool,
  embedderId: string,
  options: { leaseMs: number; wait?: boolean; signal?: AbortSignal | undefined; pollMs?: number },
): Promise<WriterLock> {
  const holder = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  for (;;) {
    options.signal?.throwIfAborted();
    const session = await pool.connect();
    let locked = false;
    try {
      const { rows } = await session.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock(${ADVISORY_KEY}) AS locked`, [embedderId]);
      locked = rows[0]?.locked === true;
      if (locked && (await tryLease(pool, embedderId, holder, options.leaseMs))) {
        return startedLock(pool, session, embedderId, holder, options.leaseMs);
      }
    } catch (error) {
      if (locked) await session.query(`SELECT pg_advisory_unlock(${ADVISORY_KEY})`, [embedderId]).catch(() => undefined);
      session.release();
      throw error;
    }
    if (locked) await session.query(`SELECT pg_advisory_unlock(${ADVISORY_KEY})`, [embedderId]).catch(() => undefined);
    session.release();
    if (!options.wait) throw await busyError(pool, embedderId);
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 1000));
  }
}

/** Renews the lease (the holder's own lease length: a contender never judges by its own). */
const RENEW = `UPDATE asknotes_writers SET heartbeat = clock_timestamp(), expires_at = clock_timestamp() + make_interval(secs => $3)
               WHERE embedder = $1 AND holder = $2`;

function startedLock(pool: Pool, session: PoolClient, embedderId: string, holder: string, leaseMs: number): WriterLock {
  const heartbeat = setInterval(() => {
    void pool.query(RENEW, [embedderId, holder, leaseMs / 1000]).catch(() => undefined);
  }, Math.max(50, Math.floor(leaseMs / 3)));
  heartbeat.unref();
  let released = false;
  return {
    holder,
    async assertHolder(client) {
      const { rowCount } = await client.query(RENEW, [embedderId, holder, leaseMs / 1000]);
      if (rowCount !== 1) throw new Error(`lost the writer lease for ${embedderId} (another indexer took over); stopping`);
    },
    async release() {
      if (released) return;
      released = true;
      clearInterval(heartbeat);
      try {
        await pool.query('DELETE FROM asknotes_writers WHERE embedder = $1 AND holder = $2', [embedderId, holder]);
        await session.query(`SELECT pg_advisory_unlock(${ADVISORY_KEY})`, [embedderId]);
      } finally {
        session.release();
      }
    },
  };
}
