/**
 * `npm run ask`: as a child process exactly as a user runs it (LLM=none, built-in embedder, Ollama
 * at a closed port), and in-process for argument errors and a streamed Ollama answer.
 */
import { execFile } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AskResponse } from '../src/answer/answer-types.ts';
import { runAskCommand } from '../src/cli/ask-command.ts';
import { CONFIG_VARIABLES } from '../src/config.ts';
import { buildNotesIndex, type NotesIndex } from './support/answer-fixtures.ts';
import { closedPortUrl, startFakeOllama, type FakeOllama } from './support/fake-ollama.ts';

const run = promisify(execFile);
const REPOSITORY = fileURLToPath(new URL('..', import.meta.url));
const QUESTION = 'What is the default depends_on condition in compose?';

let notes: NotesIndex;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  // Built once here, so the commands below find an up-to-date index and only load it.
  notes = await buildNotesIndex();
  const inherited = { ...process.env };
  // Nothing from the developer's environment may change what the command does.
  for (const name of [...CONFIG_VARIABLES, 'OLLAMA_BASE_URL']) delete inherited[name];
  env = {
    ...inherited,
    NOTES_DIR: notes.notesDir,
    INDEX_DIR: notes.indexDir,
    LLM: 'none',
    EMBEDDINGS: 'local',
    OLLAMA_HOST: await closedPortUrl(),
  };
});
afterAll(async () => {
  await notes?.cleanup();
});

function npmAsk(...args: string[]) {
  return run('npm', ['run', '--silent', 'ask', '--', ...args], { cwd: REPOSITORY, env, timeout: 30_000 });
}

/** `*[1] dockercon-2023.md:201-230  Day 1 > …  (score 1.00)` */
const SOURCE_LINE = /^([* ])\[(\d+)\] (\S+\.md):(\d+)-(\d+) {2}(.*) {2}\(score (\d\.\d\d)\)$/;

describe('npm run ask (child process)', () => {
  // Both commands run at once: most of their time is starting npm and tsx.
  let text: ReturnType<typeof npmAsk>;
  let json: ReturnType<typeof npmAsk>;
  beforeAll(() => {
    text = npmAsk(QUESTION);
    json = npmAsk(QUESTION, '--json', '--k', '2');
    // Rejections are awaited by the tests; do not let one surface as unhandled first.
    text.catch(() => undefined);
    json.catch(() => undefined);
  });

  it('prints the extractive answer with [n] markers, then the sources with note:lines; the notice on stderr', async () => {
    const { stdout, stderr } = await text;
    const [answer = '', sourcesPart = ''] = stdout.split('Sources (* = cited):');
    expect(answer).toMatch(/default is `service_started`.*\[\d+\]/);

    const lines = sourcesPart.trim().split('\n');
    expect(lines).toHaveLength(4);
    const parsed = lines.map((line) => {
      const match = SOURCE_LINE.exec(line);
      expect(match, line).not.toBeNull();
      const [, star, n, note, start, end, heading, score] = match!;
      return { cited: star === '*', n: Number(n), note, start: Number(start), end: Number(end), heading, score: Number(score) };
    });
    expect(parsed.map((source) => source.n)).toEqual([1, 2, 3, 4]);
    for (const source of parsed) {
      expect(source.note).toBe('dockercon-2023.md');
      expect(source.start).toBeGreaterThan(0);
      expect(source.end).toBeGreaterThanOrEqual(source.start);
      expect(source.heading).not.toBe('');
    }
    const scores = parsed.map((source) => source.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    // The starred sources are exactly those the answer cites.
    const markers = new Set([...answer.matchAll(/\[(\d+)\]/g)].map((match) => Number(match[1])));
    expect(parsed.filter((source) => source.cited).map((source) => source.n)).toEqual([...markers].sort((a, b) => a - b));

    expect(stderr).toMatch(/Extractive answer/);
    expect(stderr).toContain('ollama pull llama3.2');
  });

  it('--json prints the AskResponse shape', async () => {
    const { stdout } = await json;
    const response = JSON.parse(stdout) as AskResponse;
    expect(Object.keys(response).sort()).toEqual(
      ['answer', 'answerable', 'cited', 'embedder', 'mode', 'model', 'notice', 'sources', 'timings'].sort(),
    );
    expect(response).toMatchObject({ answerable: true, mode: 'extractive', model: null });
    expect(response.embedder).toMatch(/^local:/);
    expect(response.answer).toContain('service_started');
    expect(response.sources).toHaveLength(2);
    response.sources.forEach((source, position) => {
      expect(Object.keys(source).sort()).toEqual(['heading', 'id', 'lines', 'n', 'note', 'score', 'text'].sort());
      expect(source.n).toBe(position + 1);
      expect(source.lines[0]).toBeLessThanOrEqual(source.lines[1]);
      expect(source.score).toBeGreaterThan(0);
      expect(source.score).toBeLessThanOrEqual(1);
    });
    expect(response.sources[0]!.score).toBeGreaterThanOrEqual(response.sources[1]!.score);
    expect(response.cited.every((n) => n === 1 || n === 2)).toBe(true);
    expect(response.cited.length).toBeGreaterThan(0);
    for (const name of ['retrieval_ms', 'generation_ms', 'total_ms'] as const) {
      expect(Number.isInteger(response.timings[name])).toBe(true);
    }
  });
});

describe('runAskCommand (in-process)', () => {
  let ollama: FakeOllama | undefined;
  afterEach(async () => {
    vi.restoreAllMocks();
    await ollama?.close();
    ollama = undefined;
  });

  function capture() {
    let text = '';
    const out = new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString();
        done();
      },
    });
    return { out, text: () => text };
  }

  function silenceStderr(): () => string {
    let written = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written += chunk.toString();
      return true;
    });
    return () => written;
  }

  it.each([
    [[], /usage: npm run ask/],
    [['   '], /usage: npm run ask/],
    [['question', '--k', '0'], /--k must be/],
    [['question', '--k', '21'], /--k must be/],
    [['question', '--k', 'two'], /--k must be/],
  ])('%j exits with 2 and says why', async (argv, message) => {
    const stderr = silenceStderr();
    const { out, text } = capture();
    expect(await runAskCommand(argv, env, out)).toBe(2);
    expect(stderr()).toMatch(message);
    expect(text()).toBe('');
  });

  it('LLM=ollama with Ollama down fails with llm_unavailable', async () => {
    silenceStderr();
    const { out } = capture();
    await expect(runAskCommand([QUESTION], { ...env, LLM: 'ollama' }, out)).rejects.toMatchObject({ code: 'llm_unavailable' });
  });

  it('LLM=ollama streams the model answer, then the sources with the cited one starred', async () => {
    ollama = await startFakeOllama({ chatScript: ['The default', ' is `service_started`', ' [2].'] });
    const stderr = silenceStderr();
    const { out, text } = capture();
    expect(await runAskCommand([QUESTION, '--k', '3'], { ...env, LLM: 'ollama', OLLAMA_HOST: ollama.url }, out)).toBe(0);
    const [answer = '', sources = ''] = text().split('Sources (* = cited):');
    expect(answer.trim()).toBe('The default is `service_started` [2].');
    const lines = sources.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines.map((line) => line.startsWith('*'))).toEqual([false, true, false]);
    expect(stderr()).not.toMatch(/Extractive/);
    expect(ollama.callsTo('chat')).toHaveLength(1);
  });

  it('--no-rag asks the model without notes and lists no sources', async () => {
    ollama = await startFakeOllama({ chatScript: 'Paris.' });
    silenceStderr();
    const { out, text } = capture();
    expect(await runAskCommand(['Capital of France?', '--no-rag'], { ...env, LLM: 'ollama', OLLAMA_HOST: ollama.url }, out)).toBe(0);
    expect(text()).toContain('Paris.');
    expect(text()).not.toContain('Sources');
    const body = ollama.callsTo('chat')[0]?.body as { messages: Array<{ content: string }> };
    expect(body.messages.map((message) => message.content)).toEqual(['Capital of France?']);
  });
});
