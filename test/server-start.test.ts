import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../src/server/create-app.ts';
import { exposureWarning, isLoopbackAddress, startServer } from '../src/server/start-server.ts';
import type { RunningServer } from '../src/server/start-server.ts';
import {
  SAMPLE_DONE_EVENT,
  SAMPLE_SOURCES_EVENT,
  ask,
  capturingLogger,
  readyReadiness,
  sampleIndexStatus,
  sampleListing,
  sampleModels,
  scriptedAnswer,
} from './support/start-test-server.ts';
import type { ScriptedAnswer } from './support/start-test-server.ts';

/** Writes raw bytes on a fresh connection and returns everything the server sends until it closes. */
function rawSocket(url: string, write: (socket: Socket) => void): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => write(socket));
    let reply = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (reply += chunk));
    socket.on('close', () => resolve(reply));
    socket.on('error', reject);
    socket.setTimeout(5_000, () => socket.destroy(new Error('no reply')));
  });
}

let running: RunningServer | undefined;
afterEach(async () => {
  await running?.close(100);
  running = undefined;
});

async function start(fake: ScriptedAnswer, host = '127.0.0.1', requestTimeoutMs?: number) {
  const logs = capturingLogger();
  const app = createApp({
    answer: fake.answer,
    readiness: () => readyReadiness(),
    indexStatus: () => sampleIndexStatus(),
    listNotes: () => sampleListing(),
    listModels: async () => sampleModels(),
    reindex: () => {},
    readNote: async () => undefined,
    topK: 4,
    maxConcurrentAnswers: 4,
    log: logs.log,
  });
  running = await startServer(app, { host, port: 0, log: logs.log, hasApiToken: false, ...(requestTimeoutMs === undefined ? {} : { requestTimeoutMs }) });
  return { running, logs };
}

describe('startServer', () => {
  it('listens on the asked host and reports the real port', async () => {
    const { running: server, logs } = await start(scriptedAnswer([]));
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.url).not.toMatch(/:0$/);
    expect(logs.lines.find((line) => line.msg === 'listening')?.url).toBe(server.url);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('close(grace) lets an in-flight answer finish and refuses new connections', async () => {
    const fake = scriptedAnswer([SAMPLE_SOURCES_EVENT, 300, { type: 'delta', text: 'finished ' }, SAMPLE_DONE_EVENT]);
    const { running: server } = await start(fake);
    const streaming = ask(server.url, { question: 'q', stream: true });
    const json = ask(server.url, { question: 'q' });
    while (fake.calls.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    const closed = server.close(5_000);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    const streamText = await (await streaming).text();
    expect(streamText).toContain('event: done');
    expect(streamText).toContain('finished ');
    expect((await json).status).toBe(200);
    await closed;
    expect(fake.calls.every((call) => !call.sawAbort)).toBe(true);
  });

  it('close(grace) cuts answers still running after the grace period, which aborts them', async () => {
    const fake = scriptedAnswer([SAMPLE_SOURCES_EVENT, 30_000, SAMPLE_DONE_EVENT]);
    const { running: server, logs } = await start(fake);
    const response = await ask(server.url, { question: 'q', stream: true });
    const body = response.text().catch(() => 'cut');
    while ((fake.calls[0]?.yielded ?? 0) < 1) await new Promise((resolve) => setTimeout(resolve, 5));
    await server.close(150);
    await fake.calls[0]?.finished;
    expect(fake.calls[0]?.sawAbort).toBe(true);
    expect(await body).not.toContain('event: done');
    expect(logs.lines.some((line) => line.level === 'warn' && line.msg.includes('grace period'))).toBe(true);
  });

  it('close() returns at once when only idle keep-alive connections are open', async () => {
    const { running: server, logs } = await start(scriptedAnswer([SAMPLE_SOURCES_EVENT, SAMPLE_DONE_EVENT]));
    // fetch keeps its connection alive in a pool after these.
    for (let index = 0; index < 3; index += 1) await (await fetch(`${server.url}/healthz`)).text();
    await server.close(10_000);
    expect(logs.lines.some((line) => line.msg.includes('grace period'))).toBe(false);
  });

  it('answers a body that trickles in too slowly with a JSON 400, and keeps serving', async () => {
    const { running: server } = await start(scriptedAnswer([SAMPLE_SOURCES_EVENT, SAMPLE_DONE_EVENT]), '127.0.0.1', 300);
    const reply = await rawSocket(server.url, (socket) => {
      socket.write('POST /ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"question":');
      // ...and the rest never comes.
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    expect(reply).toContain('{"error":{"code":"invalid_request","message":"The request arrived too slowly."}}');
    expect((await ask(server.url, { question: 'q' })).status).toBe(200);
  });

  it.each([
    ['a malformed request line', 'GARBAGE\r\n\r\n'],
    ['a bad header', 'GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'],
    ['a lying Content-Length', 'POST /ask HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n'],
    ['oversized headers', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`],
  ])('answers %s with a JSON 400', async (_name, raw) => {
    const { running: server } = await start(scriptedAnswer([]));
    const reply = await rawSocket(server.url, (socket) => socket.write(raw));
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    expect(reply).toContain('"code":"invalid_request"');
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('does not warn on loopback', async () => {
    const loopback = await start(scriptedAnswer([]), '127.0.0.1');
    expect(loopback.logs.lines.some((line) => line.level === 'warn')).toBe(false);
  });
});

// Decided on the bound address; tested as a function so no test listens beyond loopback.
describe('exposureWarning', () => {
  it.each<[string, boolean, boolean]>([
    ['0.0.0.0', false, true],
    ['::', false, true],
    ['192.168.1.10', false, true],
    ['0.0.0.0', true, false],
    ['127.0.0.1', false, false],
    ['::1', false, false],
  ])('%s with token %s -> warns %s', (address, hasToken, warns) => {
    const warning = exposureWarning(address, hasToken);
    expect(warning !== undefined).toBe(warns);
    if (warning !== undefined) expect(warning).toContain('API_TOKEN');
  });
});

describe('isLoopbackAddress', () => {
  it.each<[string, boolean]>([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['::1', true],
    ['[::1]', true],
    ['::ffff:127.0.0.1', true],
    ['localhost', true],
    ['0.0.0.0', false],
    ['::', false],
    ['192.168.1.10', false],
    ['10.0.0.1', false],
    ['::ffff:192.168.1.10', false],
    ['128.0.0.1', false],
  ])('%s -> %s', (address, expected) => {
    expect(isLoopbackAddress(address)).toBe(expected);
  });
});
