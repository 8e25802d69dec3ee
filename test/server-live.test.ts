/**
 * The composed server (`main()`: live index, watcher, mode tracker) while things change under it
 * (issue 4, "Done when" 2 and 3): a note edited while answers are in flight, and Ollama stopping
 * while it serves, with LLM=auto and with LLM=ollama.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { closedPortUrl, startFakeOllama, type FakeOllama } from './support/fake-ollama.ts';
import { postOnce, requestOnce, startComposedServer, until, type ComposedServer } from './support/hardening-app.ts';
import { writeNote } from './support/index-fixtures.ts';

interface AskBody {
  answer?: string;
  answerable?: boolean;
  mode?: string;
  notice?: string;
  sources?: Array<{ note: string }>;
  error?: { code: string; message: string };
}

async function ask(server: ComposedServer, question: string): Promise<{ status: number; body: AskBody }> {
  const exchange = await postOnce(server.url, '/ask', JSON.stringify({ question }));
  return { status: exchange.status, body: JSON.parse(exchange.body || '{}') as AskBody };
}

let server: ComposedServer | undefined;
let ollama: FakeOllama | undefined;
afterEach(async () => {
  await server?.close();
  await ollama?.close();
  server = undefined;
  ollama = undefined;
});

describe('a note edited while the server answers', () => {
  it('changes the next answer within a few seconds, and no request fails during the swap', async () => {
    server = await startComposedServer({
      notes: { 'pets/mascot.md': '# Office mascot\n\nThe office quokka mascot is named Pebble.\n' },
    });
    await server.ready();
    const question = 'What is the office quokka mascot named?';
    const before = await ask(server, question);
    expect(before.status).toBe(200);
    expect(before.body.answer).toContain('Pebble');

    // Four clients keep asking while the note changes and the new index is swapped in.
    const failures: string[] = [];
    let asked = 0;
    let running = true;
    const clients = Array.from({ length: 4 }, async () => {
      while (running) {
        const exchange = await ask(server!, question);
        asked += 1;
        if (exchange.status !== 200 || exchange.body.answer === undefined) failures.push(`${exchange.status} ${JSON.stringify(exchange.body)}`);
      }
    });
    await writeNote(server.notesDir, 'pets/mascot.md', '# Office mascot\n\nThe office quokka mascot was renamed Marble.\n');
    const edited = Date.now();
    await until(async () => (await ask(server!, question)).body.answer?.includes('Marble') === true, 10_000, 'the edit did not reach the answers');
    const seconds = (Date.now() - edited) / 1000;
    running = false;
    await Promise.all(clients);

    expect(failures).toEqual([]);
    expect(asked).toBeGreaterThan(4);
    expect(seconds).toBeLessThan(10);
    const after = await ask(server, question);
    expect(after.body.answer).not.toContain('Pebble');
  });
});

describe('Ollama stopping while the server runs', () => {
  it('LLM=auto: answers continue, extractive, and /readyz says why', async () => {
    ollama = await startFakeOllama({ chatScript: 'Service healthy waits for the database [1].' });
    server = await startComposedServer({
      env: { OLLAMA_HOST: ollama.url, LLM: 'auto', OLLAMA_CHECK_INTERVAL_MS: '200' },
    });
    await server.ready();
    await until(async () => (await ask(server!, 'What is the default depends_on condition?')).body.mode === 'ollama', 10_000, 'answers did not come from Ollama');

    await ollama.close();
    const answer = await ask(server, 'What is the default depends_on condition?');
    expect(answer.status).toBe(200);
    expect(answer.body.mode).toBe('extractive');
    expect(answer.body.answer).toContain('service_started');
    expect(answer.body.notice).toMatch(/not reachable|unavailable|ollama/i);

    await until(
      async () => {
        const ready = await requestOnce(server!.url, 'GET', '/readyz', undefined);
        const body = JSON.parse(ready.body) as { mode?: string; ollama?: { reachable?: boolean; fix?: string }; reason?: string };
        return ready.status === 200 && body.mode === 'extractive' && body.ollama?.reachable === false && /ollama serve/.test(body.ollama.fix ?? '') && body.reason !== undefined;
      },
      5_000,
      '/readyz did not report Ollama as unreachable',
    );
  });

  it('LLM=ollama: 503 llm_unavailable, quickly, and the server keeps serving', async () => {
    server = await startComposedServer({
      env: { OLLAMA_HOST: await closedPortUrl(), LLM: 'ollama', OLLAMA_CONNECT_TIMEOUT_MS: '2000', OLLAMA_TIMEOUT_MS: '60000' },
    });
    await server.ready();
    for (let attempt = 0; attempt < 3; attempt++) {
      const started = Date.now();
      const answer = await ask(server, 'What is the default depends_on condition?');
      // Not a performance figure: the SPEC's bound on hidden retries (a refused connection is final).
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(answer.status).toBe(503);
      expect(answer.body.error?.code).toBe('llm_unavailable');
      expect(answer.body.error?.message).toMatch(/not reachable/i);
    }
    expect((await requestOnce(server.url, 'GET', '/healthz', undefined)).status).toBe(200);
  });
});
