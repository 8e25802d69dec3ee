/**
 * Serving replicas (ROLE=serve) of the Postgres backend (issue 14), on a real Postgres engine
 * (PGlite over the wire) with their own database: two replicas on loopback serve the version the
 * indexer wrote, agree on the sources of a question, follow a new note the indexer publishes, never
 * write, and answer 503 (never crash) while the database is down.
 *
 * A replica takes up a new version at its next follow tick (INDEX_FOLLOW_MS) plus a read; on a
 * loaded machine that is not a fixed time, so the test waits for what each replica reports serving
 * (`/index/status` version) to be the version the indexer published, under a generous deadline,
 * and only then compares answers.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalEmbedder } from '../src/embeddings/local-embedder.ts';
import type { IndexBackend } from '../src/vector-index/index-backend.ts';
import { createPostgresBackend } from '../src/vector-index/postgres/postgres-backend.ts';
import { postOnce, requestOnce, startComposedServer, until, type ComposedServer } from './support/hardening-app.ts';
import { createTempDirs, writeNote } from './support/index-fixtures.ts';
import { startPgliteServer, type PgliteServer } from './support/pglite-server.ts';

/** Generous: a follow tick plus one read of the index, on 2 busy cores. */
const FOLLOW_DEADLINE_MS = 60_000;

const temp = createTempDirs();
const servers: ComposedServer[] = [];
let database: PgliteServer;
let sql: pg.Pool;
let indexer: IndexBackend;

beforeAll(async () => {
  database = await startPgliteServer();
  sql = new pg.Pool({ connectionString: database.url, max: 1 });
  // The database is stopped on purpose below: an idle connection's end is expected then.
  sql.on('error', () => undefined);
  indexer = createPostgresBackend({ databaseUrl: database.url });
}, 180_000);

afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
  await indexer?.close();
  await sql?.end();
  await database?.close();
  await temp.cleanup();
});

interface Asked {
  status: number;
  body: { sources?: { id: string; note: string }[]; error?: { code: string; message: string } };
}

async function ask(server: ComposedServer, question: string): Promise<Asked> {
  const exchange = await postOnce(server.url, '/ask', JSON.stringify({ question, k: 3 }));
  return { status: exchange.status, body: JSON.parse(exchange.body || '{}') as Asked['body'] };
}

/** The index version a server reports serving (`/index/status`), undefined before it has one. */
async function servedVersion(server: ComposedServer): Promise<string | undefined> {
  const status = await requestOnce(server.url, 'GET', '/index/status', undefined);
  return (JSON.parse(status.body) as { version?: string }).version;
}

/** Resolves once every replica serves `version`; returns how long that took. */
async function allServe(version: string): Promise<number> {
  const started = Date.now();
  for (const server of servers) {
    await until(async () => (await servedVersion(server)) === version, FOLLOW_DEADLINE_MS, `a replica did not take up version ${version}`);
  }
  return Date.now() - started;
}

const ids = (asked: Asked) => asked.body.sources?.map((source) => source.id);

describe('ROLE=serve replicas', { timeout: 240_000 }, () => {
  const embedder = createLocalEmbedder();
  let notesDir: string;

  it('two replicas serve the version the indexer wrote, agree, never write, and both take up a new note', async () => {
    notesDir = await temp.make('asknotes-pg-replicas-');
    for (let number = 0; number < 5; number++) {
      await writeNote(
        notesDir,
        `team/note-${number}.md`,
        `# Note ${number}\n\n## Status\n\nService ${number} has its own pager rota.\n\n## Details\n\nThe runbook for service ${number} lists the dashboards, the alerts and who to call.\n`,
      );
    }
    await indexer.update({ notesDir, embedder });
    const first = await indexer.version(embedder);
    expect(first).toEqual(expect.any(String));

    const env = { INDEX_BACKEND: 'postgres', DATABASE_URL: database.url, ROLE: 'serve', INDEX_FOLLOW_MS: '200' };
    for (let replica = 0; replica < 2; replica++) {
      const server = await startComposedServer({ env });
      servers.push(server);
      await server.ready(FOLLOW_DEADLINE_MS);
    }
    await allServe(first!);
    const question = 'What does the runbook for service 3 list?';
    const [one, two] = await Promise.all(servers.map((server) => ask(server, question)));
    expect(one!.status).toBe(200);
    expect(two!.status).toBe(200);
    expect(one!.body.sources?.[0]?.note).toBe('team/note-3.md');
    expect(ids(one!)).toEqual(ids(two!));

    // A replica's reindex re-reads the shared index; it never builds or writes.
    expect((await postOnce(servers[0]!.url, '/reindex', '')).status).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await indexer.version(embedder)).toBe(first);

    await writeNote(notesDir, 'team/heron.md', '# Heron feeder\n\nThe heron feeder jams on Tuesdays; reset it with the red lever.\n');
    const { index } = await indexer.update({ notesDir, embedder });
    const published = await indexer.version(embedder);
    expect(published).not.toBe(first);
    const took = await allServe(published!);
    console.log(`both replicas served version ${published} ${(took / 1000).toFixed(1)} s after it was published`);

    const heron = await Promise.all(servers.map((server) => ask(server, 'When does the heron feeder jam?')));
    for (const asked of heron) {
      expect(asked.status).toBe(200);
      expect(asked.body.sources?.[0]?.note, JSON.stringify(asked.body).slice(0, 600)).toBe('team/heron.md');
    }
    expect(ids(heron[0]!)).toEqual(ids(heron[1]!));
    const again = await Promise.all(servers.map((server) => ask(server, question)));
    expect(ids(again[0]!)).toEqual(ids(again[1]!));
    // Both describe the same index: the one the indexer wrote.
    for (const server of servers) {
      const readyz = JSON.parse((await requestOnce(server.url, 'GET', '/readyz', undefined)).body) as { index: { notes: number; chunks: number } };
      expect(readyz.index).toMatchObject({ notes: 6, chunks: index.manifest.chunkCount });
    }
    // Nothing but the indexer wrote: no writer claim is left, and no replica took one.
    expect((await sql.query('SELECT count(*)::int AS n FROM asknotes_writers')).rows[0].n).toBe(0);
  });

  it('answers 503 with a reason while the database is down, never crashes, and serves again once it is back', async () => {
    expect(servers).toHaveLength(2);
    await database.stop();
    try {
      for (const server of servers) {
        const asked = await ask(server, 'When does the heron feeder jam?');
        expect(asked.status).toBe(503);
        expect(asked.body.error?.code).toBe('index_not_ready');
        expect(asked.body.error?.message).toMatch(/database cannot be reached/);
        expect((await requestOnce(server.url, 'GET', '/healthz', undefined)).status).toBe(200);
      }
    } finally {
      await database.restart();
    }
    for (const server of servers) {
      await until(async () => (await ask(server, 'When does the heron feeder jam?')).status === 200, FOLLOW_DEADLINE_MS, 'a replica did not serve again');
      expect((await ask(server, 'When does the heron feeder jam?')).body.sources?.[0]?.note).toBe('team/heron.md');
    }
  });
});
