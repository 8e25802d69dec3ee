import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { AnswerEvent } from '../src/answer/answer-types.ts';
import { createSseWriter, formatSseEvent } from '../src/server/sse.ts';
import { SAMPLE_DONE_EVENT, SAMPLE_SOURCES_EVENT, ask, parseSse, scriptedAnswer, startTestServer } from './support/start-test-server.ts';
import type { TestServer } from './support/start-test-server.ts';

describe('formatSseEvent', () => {
  it.each<[AnswerEvent, string]>([
    [{ type: 'delta', text: 'two\nlines\r\nand "quotes"' }, 'event: delta\ndata: {"text":"two\\nlines\\r\\nand \\"quotes\\""}\n\n'],
    [{ type: 'error', code: 'upstream_timeout', message: 'slow' }, 'event: error\ndata: {"code":"upstream_timeout","message":"slow"}\n\n'],
    [
      { type: 'done', answer: 'a', answerable: false, cited: [], timings: { retrieval_ms: 1, generation_ms: 0, total_ms: 1 } },
      'event: done\ndata: {"answer":"a","answerable":false,"cited":[],"timings":{"retrieval_ms":1,"generation_ms":0,"total_ms":1}}\n\n',
    ],
  ])('formats %j as one event line and one data line', (event, wire) => {
    expect(formatSseEvent(event)).toBe(wire);
  });
});

/** A writable whose buffer holds `highWaterMark` bytes and that drains one chunk per tick. */
function slowSink(highWaterMark: number) {
  const received: string[] = [];
  const sink = new Writable({
    highWaterMark,
    decodeStrings: false,
    write(chunk: string, _encoding, callback) {
      received.push(chunk);
      setImmediate(callback);
    },
  });
  return { sink, received };
}

describe('createSseWriter', () => {
  it('waits for drain when the buffer is full and loses nothing', async () => {
    const { sink, received } = slowSink(64);
    const writer = createSseWriter(sink);
    const events: AnswerEvent[] = Array.from({ length: 50 }, (_, index) => ({ type: 'delta', text: `piece-${index}-${'x'.repeat(100)}` }));
    for (const event of events) {
      expect(await writer.send(event)).toBe(true);
      // Never more than one pending chunk beyond the high-water mark: the writer really waited.
      expect(sink.writableLength).toBeLessThanOrEqual(64 + 200);
    }
    writer.end();
    await new Promise((resolve) => sink.on('finish', resolve));
    expect(writer.drainWaits).toBe(50);
    expect(received.join('')).toBe(events.map(formatSseEvent).join(''));
  });

  it('resolves false instead of hanging when the sink closes while waiting', async () => {
    const sink = new Writable({ highWaterMark: 8, write: () => {} });
    const writer = createSseWriter(sink);
    const pending = writer.send({ type: 'delta', text: 'x'.repeat(100) });
    sink.destroy();
    expect(await pending).toBe(false);
    expect(await writer.send({ type: 'delta', text: 'after' })).toBe(false);
  });
});

describe('backpressure over HTTP', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('stops pulling from the AnswerFn while the client does not read, then delivers everything in order', async () => {
    // 200 x 64 KiB = 12.5 MB: well beyond what the loopback socket buffers hold (a few MB).
    const deltas = 200;
    const piece = 'x'.repeat(64 * 1024);
    const script: AnswerEvent[] = [SAMPLE_SOURCES_EVENT];
    for (let index = 0; index < deltas; index += 1) script.push({ type: 'delta', text: `${index}:${piece}` });
    script.push(SAMPLE_DONE_EVENT);
    const fake = scriptedAnswer(script);
    server = await startTestServer({ answer: fake.answer });

    const response = await ask(server.url, { question: 'q', stream: true });
    expect(response.status).toBe(200);
    // Do not read: wait until the server stops pulling events (the socket buffers are full).
    let last = -1;
    for (let stableFor = 0; stableFor < 300; ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const yielded = fake.calls[0]?.yielded ?? 0;
      stableFor = yielded === last ? stableFor + 50 : 0;
      last = yielded;
      if (yielded === script.length) break;
    }
    expect(last).toBeLessThan(script.length);

    const messages = parseSse(await response.text());
    expect(messages).toHaveLength(script.length);
    expect(messages[0]?.event).toBe('sources');
    expect(messages.at(-1)?.event).toBe('done');
    messages.slice(1, -1).forEach((message, index) => {
      expect((message.data as { text: string }).text.startsWith(`${index}:`)).toBe(true);
    });
    const ended = server.logs.lines.find((line) => line.msg === 'answer stream ended');
    expect(ended?.drainWaits).toBeGreaterThan(0);
  });
});

describe('reasoning and the done notice over HTTP (issue 12)', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const script = (): AnswerEvent[] => [
    { ...SAMPLE_SOURCES_EVENT, notice: 'From the sources event.' },
    { type: 'reasoning', text: 'The user asks about depends_on.' },
    { type: 'delta', text: 'It waits.' },
    { ...SAMPLE_DONE_EVENT, answer: 'It waits.', cited: [], notice: 'Not grounded (test).' },
  ];

  it('streams a reasoning event apart from the deltas, and the notice in done', async () => {
    server = await startTestServer({ answer: scriptedAnswer(script).answer });
    const messages = parseSse(await (await ask(server.url, { question: 'q', stream: true })).text());
    expect(messages.map((message) => message.event)).toEqual(['sources', 'reasoning', 'delta', 'done']);
    expect(messages[1]?.data).toEqual({ text: 'The user asks about depends_on.' });
    expect(messages[3]?.data).toMatchObject({ answer: 'It waits.', notice: 'Not grounded (test).' });
  });

  it('the JSON answer leaves the reasoning out and joins both notices', async () => {
    server = await startTestServer({ answer: scriptedAnswer(script).answer });
    const body = (await (await ask(server.url, { question: 'q' })).json()) as Record<string, unknown>;
    expect(body).toMatchObject({ answer: 'It waits.', cited: [], notice: 'From the sources event. Not grounded (test).' });
    expect(JSON.stringify(body)).not.toContain('The user asks about depends_on');
  });
});
