/**
 * ROLE=serve with the files backend (issue 14): a replica that never builds serves the CURRENT
 * generation a separate indexer writes into the shared INDEX_DIR, and follows each new one.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createLocalEmbedder } from '../src/embeddings/local-embedder.ts';
import { updateIndex } from '../src/vector-index/files/update-generation.ts';
import { postOnce, requestOnce, startComposedServer, until, type ComposedServer } from './support/hardening-app.ts';
import { createTempDirs, generationNames, writeNote } from './support/index-fixtures.ts';

const temp = createTempDirs();
let replica: ComposedServer | undefined;
afterAll(async () => {
  await replica?.close();
  await temp.cleanup();
});

async function sourcesFor(server: ComposedServer, question: string): Promise<string[]> {
  const exchange = await postOnce(server.url, '/ask', JSON.stringify({ question, k: 2 }));
  return ((JSON.parse(exchange.body || '{}') as { sources?: { note: string }[] }).sources ?? []).map((source) => source.note);
}

describe('ROLE=serve on the files backend', () => {
  it('serves what the indexer wrote, never writes a generation, and follows the next one within seconds', { timeout: 120_000 }, async () => {
    const notesDir = await temp.make('asknotes-serve-notes-');
    const indexDir = await temp.make('asknotes-serve-index-');
    await writeNote(notesDir, 'ops/pager.md', '# Pager\n\nThe pager rota changes every Monday at nine.\n');
    await updateIndex({ notesDir, indexDir, embedder: createLocalEmbedder() });
    const written = await generationNames(indexDir, createLocalEmbedder().id);

    replica = await startComposedServer({ env: { INDEX_DIR: indexDir, ROLE: 'serve', INDEX_FOLLOW_MS: '200' } });
    await replica.ready(60_000);
    expect(await sourcesFor(replica, 'When does the pager rota change?')).toContain('ops/pager.md');
    // The replica's own notes folder (the sample notes) is not what it serves: it never builds.
    expect((await requestOnce(replica.url, 'POST', '/reindex', '')).status).toBe(202);
    expect(await generationNames(indexDir, createLocalEmbedder().id)).toEqual(written);

    await writeNote(notesDir, 'ops/heron.md', '# Heron feeder\n\nThe heron feeder jams on Tuesdays; reset it with the red lever.\n');
    await updateIndex({ notesDir, indexDir, embedder: createLocalEmbedder() });
    await until(async () => (await sourcesFor(replica!, 'When does the heron feeder jam?'))[0] === 'ops/heron.md', 15_000, 'the replica did not follow');
  });
});
