/** `inTransaction` (pure, with a recording stand-in pool): commit on success, rollback on failure, the client always released. */
import type { Pool } from 'pg';
import { describe, expect, it } from 'vitest';
import { inTransaction } from '../src/vector-index/postgres/transaction.ts';

function recordingPool(): { pool: Pool; log: string[] } {
  const log: string[] = [];
  const client = {
    query: async (text: string) => {
      log.push(text);
      return { rows: [] };
    },
    release: () => log.push('release'),
  };
  return { pool: { connect: async () => client } as unknown as Pool, log };
}

describe('inTransaction', () => {
  it('begins as asked, commits when the work resolves, and returns its result', async () => {
    const { pool, log } = recordingPool();
    const result = await inTransaction(pool, 'BEGIN READ ONLY', async (client) => {
      await client.query('SELECT 1');
      return 42;
    });
    expect(result).toBe(42);
    expect(log).toEqual(['BEGIN READ ONLY', 'SELECT 1', 'COMMIT', 'release']);
  });

  it('rolls back and rethrows when the work throws, still releasing the client', async () => {
    const { pool, log } = recordingPool();
    await expect(inTransaction(pool, 'BEGIN', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(log).toEqual(['BEGIN', 'ROLLBACK', 'release']);
  });
});
