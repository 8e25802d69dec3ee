/**
 * The Postgres backend in a team deployment (issue 14), on a real Postgres engine (PGlite over the
 * wire): one writer at a time, an indexer SIGKILLed mid-update leaves nothing half-visible, and a
 * database that is down gives a 503 with the reason, never a crash.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalEmbedder } from '../src/embeddings/local-embedder.ts';
import { createPostgresBackend } from '../src/vector-index/postgres/postgres-backend.ts';
import { tableSet } from '../src/vector-index/postgres/schema.ts';
import type { IndexBackend } from '../src/vector-index/index-backend.ts';
import type { Embedder } from '../src/embeddings/embedder.ts';
import { postOnce, requestOnce, startComposedServer, until } from './support/hardening-app.ts';
import { REPO_ROOT, createTempDirs, writeNote } from './support/index-fixtures.ts';
import { spawnLineChild } from './support/line-child.ts';
import { startPgliteServer, type PgliteServer } from './support/pglite-server.ts';

const temp = createTempDirs();
const children = new Set<ChildProcess>();
const closers: Array<() => Promise<unknown>> = [];
let database: PgliteServer;
let sql: pg.Pool;

beforeAll(async () => {
  database = await startPgliteServer();
  sql = new pg.Pool({ connectionString: database.url, max: 2 });
  // The database is stopped on purpose below: an idle connection's end is expected then.
  sql.on('error', () => undefined);
}, 180_000);

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  await sql?.end();
  await database?.close();
  await temp.cleanup();
});

function backend(options: { leaseMs?: number; waitForWriter?: boolean } = {}): IndexBackend {
  const created = createPostgresBackend({ databaseUrl: database.url, ...options });
  closers.push(() => created.close());
  return created;
}

/** `count` notes, each with a marker word saying which version of the notes it is. */
async function writeNotes(notesDir: string, count: number, version: string): Promise<void> {
  for (let number = 0; number < count; number++) {
    await writeNote(
      notesDir,
      `team/note-${number}.md`,
      `# Note ${number}\n\n## Status\n\nThis is release ${version} of note ${number}, about service ${number} and its pager rota.\n\n` +
        `## Details\n\nThe ${version} runbook for service ${number} lists the dashboards, the alerts and who to call.\n`,
    );
  }
}

/**
 * What a reader can see must be whole: every note's chunks are exactly the ids its row lists, all
 * from one version of the note; the counters and term statistics match the rows. Returns the
 * versions seen per note.
 */
async function expectConsistent(embedderId: string): Promise<Map<string, string>> {
  const state = (await sql.query('SELECT generation, chunk_count, term_total::int AS term_total FROM asknotes_indexes WHERE embedder = $1', [embedderId])).rows[0];
  const tables = tableSet(embedderId, state.generation);
  const notes = (await sql.query(`SELECT path, chunk_ids FROM ${tables.notes}`)).rows as { path: string; chunk_ids: string[] }[];
  const chunks = (await sql.query(`SELECT id, note, text FROM ${tables.chunks} ORDER BY note, ordinal`)).rows as { id: string; note: string; text: string }[];
  const versions = new Map<string, string>();
  for (const note of notes) {
    const own = chunks.filter((chunk) => chunk.note === note.path);
    expect(own.map((chunk) => chunk.id)).toEqual(note.chunk_ids);
    const seen = new Set(own.flatMap((chunk) => [...chunk.text.matchAll(/\b(v\d)\b/g)].map((match) => match[1]!)));
    expect(seen.size, `${note.path} mixes versions ${[...seen].join(', ')}`).toBeLessThanOrEqual(1);
    versions.set(note.path, [...seen][0] ?? '');
  }
  expect(new Set(chunks.map((chunk) => chunk.note))).toEqual(new Set(notes.map((note) => note.path)));
  expect(state.chunk_count).toBe(chunks.length);
  const totals = (await sql.query(`SELECT coalesce(sum(term_count), 0)::int AS total FROM ${tables.chunks}`)).rows[0];
  expect(state.term_total).toBe(totals.total);
  const drift = await sql.query(
    `SELECT count(*)::int AS wrong FROM (SELECT term, count(*)::int AS n FROM ${tables.postings} GROUP BY term) x
     FULL JOIN (SELECT term, df FROM ${tables.terms} WHERE df > 0) t USING (term) WHERE t.df IS DISTINCT FROM x.n`,
  );
  expect(drift.rows[0].wrong).toBe(0);
  // Each chunk's postings are all there, of one version: its note, its length, frequencies adding up to it.
  const postings = await sql.query(
    `SELECT count(*)::int AS wrong FROM ${tables.chunks} c
     FULL JOIN (SELECT chunk, min(note) AS note, count(DISTINCT note) AS notes, min(length) AS length, max(length) AS longest, sum(tf)::int AS tf
                FROM ${tables.postings} GROUP BY chunk) p ON p.chunk = c.id
     WHERE p.chunk IS NULL OR c.id IS NULL OR p.notes <> 1 OR p.note <> c.note OR p.length <> c.term_count OR p.longest <> c.term_count OR p.tf <> c.term_count`,
  );
  expect(postings.rows[0].wrong).toBe(0);
  return versions;
}

function spawnIndexer(request: { notesDir: string; rebuild?: boolean; leaseMs?: number }) {
  const indexer = spawnLineChild(join(REPO_ROOT, 'test/support/pg-indexer.ts'), REPO_ROOT, (line) => line, children);
  void indexer.waitFor((line) => line === 'ready', 'ready').then(() => indexer.child.stdin!.write(`${JSON.stringify({ databaseUrl: database.url, ...request })}\n`), () => undefined);
  return indexer;
}

describe('one writer at a time', { timeout: 120_000 }, () => {
  it('a second indexer is turned away with a clear message, or waits for the first when asked to', async () => {
    const notesDir = await temp.make('asknotes-pg-lock-');
    await writeNotes(notesDir, 12, 'v1');
    const embedder = createLocalEmbedder({ dimensions: 128 });
    const [first, second] = await Promise.allSettled([
      backend().update({ notesDir, embedder }),
      backend().update({ notesDir, embedder: createLocalEmbedder({ dimensions: 128 }) }),
    ]);
    const outcomes = [first, second].map((outcome) => outcome.status).sort();
    expect(outcomes).toEqual(['fulfilled', 'rejected']);
    const refused = [first, second].find((outcome) => outcome.status === 'rejected') as PromiseRejectedResult;
    expect(String(refused.reason)).toMatch(/another indexer \(.+, last seen \d+ s ago\) is writing the index for local:.*only one indexer writes at a time/);
    await expectConsistent(embedder.id);

    // With waiting, the second runs after the first; both succeed and the index stays whole.
    await writeNotes(notesDir, 12, 'v2');
    const [a, b] = await Promise.all([
      backend({ waitForWriter: true }).update({ notesDir, embedder }),
      backend({ waitForWriter: true }).update({ notesDir, embedder: createLocalEmbedder({ dimensions: 128 }) }),
    ]);
    expect([a.summary.wroteGeneration, b.summary.wroteGeneration].sort()).toEqual([false, true]);
    const versions = await expectConsistent(embedder.id);
    expect(new Set(versions.values())).toEqual(new Set(['v2']));
  });
});

describe('SIGKILL of the indexer', { timeout: 180_000 }, () => {
  const embedder = createLocalEmbedder();
  let notesDir: string;

  beforeAll(async () => {
    notesDir = await temp.make('asknotes-pg-kill-');
    await writeNotes(notesDir, 150, 'v1');
    await backend().update({ notesDir, embedder });
  });

  it('mid-update leaves every note whole (old or new), and the next indexer finishes the job', async () => {
    await writeNotes(notesDir, 150, 'v2');
    const indexer = spawnIndexer({ notesDir, leaseMs: 1000 });
    await indexer.waitFor((line) => line === 'phase write', 'the write phase');
    // Killed once the first notes are committed: mid-update, not before or after it.
    const tables = tableSet(embedder.id, (await sql.query('SELECT generation FROM asknotes_indexes WHERE embedder = $1', [embedder.id])).rows[0].generation);
    await until(
      async () => (await sql.query(`SELECT count(*)::int AS n FROM ${tables.chunks} WHERE text LIKE '%release v2%'`)).rows[0]?.n > 0 || !indexer.running(),
      20_000,
      'no note was updated',
    );
    indexer.child.kill('SIGKILL');
    await indexer.exited;
    const versions = await expectConsistent(embedder.id);
    const updated = [...versions.values()].filter((version) => version === 'v2').length;
    console.log(`killed after ${updated} of ${versions.size} notes were updated`);
    expect(updated).toBeGreaterThan(0);

    // The killed indexer's lease lapses (1 s here); the next indexer takes over and completes.
    const { summary } = await backend({ waitForWriter: true, leaseMs: 1000 }).update({ notesDir, embedder });
    expect(summary.wroteGeneration || updated === versions.size).toBe(true);
    const after = await expectConsistent(embedder.id);
    expect(new Set(after.values())).toEqual(new Set(['v2']));
  });

  it('mid-rebuild leaves the live generation untouched; the next rebuild replaces the leftovers', async () => {
    const before = (await sql.query('SELECT generation, version::text AS version, chunk_count FROM asknotes_indexes WHERE embedder = $1', [embedder.id])).rows[0];
    const indexer = spawnIndexer({ notesDir, rebuild: true, leaseMs: 1000 });
    await indexer.waitFor((line) => line === 'phase write', 'the write phase');
    // Killed while the next generation is being filled beside the live one.
    const aside = tableSet(embedder.id, before.generation + 1);
    await until(
      async () => (await sql.query('SELECT to_regclass($1) IS NOT NULL AS found', [aside.chunks])).rows[0]?.found === true || !indexer.running(),
      20_000,
      'the rebuild did not start writing',
    );
    indexer.child.kill('SIGKILL');
    await indexer.exited;
    const during = (await sql.query('SELECT generation, version::text AS version, chunk_count FROM asknotes_indexes WHERE embedder = $1', [embedder.id])).rows[0];
    if (!indexer.lines.some((line) => line.startsWith('done'))) expect(during).toEqual(before);
    await expectConsistent(embedder.id);

    const rebuilt = await backend({ waitForWriter: true, leaseMs: 1000 }).update({ notesDir, embedder, rebuild: true });
    expect(rebuilt.summary.chunks).toBe(before.chunk_count);
    await expectConsistent(embedder.id);
    const prefix = tableSet(embedder.id, 0).chunks.replace(/"/g, '').replace(/0_chunks$/, '');
    const tables = (await sql.query(`SELECT tablename FROM pg_tables WHERE starts_with(tablename, $1) AND tablename LIKE '%\\_chunks'`, [prefix])).rows;
    expect(tables.length).toBeLessThanOrEqual(2);
  });
});

describe('a database that is down', { timeout: 120_000 }, () => {
  it('a bad DATABASE_URL stops start-up with a message naming it', async () => {
    await expect(startComposedServer({ env: { INDEX_BACKEND: 'postgres', DATABASE_URL: 'mysql://nope' } })).rejects.toThrow(/DATABASE_URL/);
    await expect(startComposedServer({ env: { INDEX_BACKEND: 'postgres' } })).rejects.toThrow(/DATABASE_URL/);
  });

  it('an indexer whose database goes away mid-update fails with the reason, never an uncaught error', async () => {
    // The writer holds its lock session checked out of the pool for the whole update: a dropped
    // connection there emits 'error' on that client, which crashed the process before every client
    // got a listener (vitest reports such an error and fails the run).
    const notesDir = await temp.make('asknotes-pg-drop-');
    await writeNotes(notesDir, 3, 'v1');
    const local = createLocalEmbedder({ dimensions: 96 });
    let embedding!: () => void;
    const embedStarted = new Promise<void>((resolve) => (embedding = resolve));
    let carryOn!: () => void;
    const mayContinue = new Promise<void>((resolve) => (carryOn = resolve));
    const embedder: Embedder = {
      id: local.id,
      embedQuery: (text) => local.embedQuery(text),
      embedDocuments: async (documents) => {
        embedding();
        await mayContinue;
        return local.embedDocuments(documents);
      },
    };
    const lines: string[] = [];
    const indexer = createPostgresBackend({ databaseUrl: database.url, leaseMs: 2_000, log: (line) => lines.push(line) });
    closers.push(() => indexer.close());
    const update = indexer.update({ notesDir, embedder });
    update.catch(() => undefined);
    await embedStarted;
    await database.stop();
    try {
      await until(async () => lines.some((line) => line.startsWith('database connection lost')), 10_000, 'the lost connection was not logged');
      carryOn();
      await expect(update).rejects.toThrow(/database|connection|terminated|ECONNRESET|not queryable/i);
    } finally {
      carryOn();
      await database.restart();
    }
    // The next indexer finishes the job: the dead writer's claim did not outlive its session.
    const retried = await backend({ waitForWriter: true, leaseMs: 2_000 }).update({ notesDir, embedder: local });
    expect(retried.summary.wroteGeneration).toBe(true);
  });

  it('npm run index -- --watch outlives a database that is down at its start: says why, retries, indexes once it is back', async () => {
    const notesDir = await temp.make('asknotes-pg-watch-');
    await writeNotes(notesDir, 2, 'v1');
    await database.stop();
    let stderr = '';
    const indexer = spawn(process.execPath, ['--import', 'tsx', 'src/cli/index-command.ts', '--watch'], {
      cwd: REPO_ROOT,
      env: { ...process.env, INDEX_BACKEND: 'postgres', DATABASE_URL: database.url, NOTES_DIR: notesDir, EMBEDDINGS: 'local' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.add(indexer);
    indexer.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    const exited = new Promise<number | null>((resolve) => indexer.once('exit', (code) => resolve(code)));
    try {
      await until(async () => /retrying in 1 s/.test(stderr), 30_000, `the indexer did not say it would retry:\n${stderr}`);
      expect(stderr).toMatch(/index failed: the database at 127\.0\.0\.1:\d+\/postgres is unreachable/);
      expect(indexer.exitCode).toBeNull();
    } finally {
      await database.restart();
    }
    await until(async () => /indexed 2 notes/.test(stderr), 90_000, `the indexer did not index once the database was back:\n${stderr}`);
    indexer.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('gives 503 with the reason while down, never crashes, and serves once it is back', async () => {
    await database.stop();
    const server = await startComposedServer({ env: { INDEX_BACKEND: 'postgres', DATABASE_URL: database.url, INDEX_FOLLOW_MS: '200' } });
    closers.push(() => server.close());
    try {
      expect((await requestOnce(server.url, 'GET', '/healthz', undefined)).status).toBe(200);
      await until(async () => JSON.parse((await requestOnce(server.url, 'GET', '/readyz', undefined)).body).reason?.includes('unreachable') === true, 10_000, 'readyz did not explain');
      const readyz = await requestOnce(server.url, 'GET', '/readyz', undefined);
      expect(readyz.status).toBe(503);
      expect(JSON.parse(readyz.body).reason).toMatch(/database .* is unreachable/);
      const asked = await postOnce(server.url, '/ask', JSON.stringify({ question: 'anything?' }));
      expect(asked.status).toBe(503);
      expect(JSON.parse(asked.body).error.code).toBe('index_not_ready');
    } finally {
      await database.restart();
    }
    await server.ready(60_000);
    expect((await postOnce(server.url, '/ask', JSON.stringify({ question: 'What is the default depends_on condition?' }))).status).toBe(200);
  });
});
