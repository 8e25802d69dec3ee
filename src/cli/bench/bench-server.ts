/**
 * The bench's server and client: the server in its own process as users run it, `/readyz` polling,
 * and a streamed `POST /ask` timed event by event (serving-bench.ts, warmup-bench.ts).
 */
import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnTypeScript } from './child.ts';
import { makeQuestions } from './questions.ts';
import { round } from './stats.ts';
import type { BenchWorkspace } from './workspace.ts';

const MAIN = fileURLToPath(new URL('../../main.ts', import.meta.url));

export interface StartupFigures {
  chunks: number;
  /** From spawning the process to the first `GET /readyz` 200 (index loaded, answering). */
  readySeconds: number;
  /** From spawning the process to its "listening" log line. */
  listeningSeconds: number;
  /** After ready: how long the background incremental check (`building: true`) ran. */
  backgroundUpdateSeconds: number;
}

/** `count` distinct questions made from the corpus' own paragraphs. */
export async function servingQuestions(workspace: BenchWorkspace, size: number, count: number): Promise<string[]> {
  const corpus = await workspace.corpus(size);
  const texts = await Promise.all(
    corpus.files.slice(0, 400).map((file) => readFile(join(corpus.dir, file), 'utf8')),
  );
  const paragraphs = texts.flatMap((text) => text.split(/\n\s*\n/));
  const questions = makeQuestions(paragraphs, count, workspace.seed + 1);
  if (questions.length < count) throw new Error(`only ${questions.length} distinct questions for ${count} requests`);
  return questions;
}

export interface RunningServer {
  url: string;
  startup: StartupFigures;
  stop(): Promise<void>;
}

/**
 * Starts the server as users run it (`node --import tsx src/main.ts`) on the corpus of `size`, with
 * the stand-in at `ollamaUrl`; resolves once it is ready and its background update has finished.
 * `env` adds to or overrides the defaults (the built-in embedder, LLM=ollama).
 */
export async function startServer(workspace: BenchWorkspace, size: number, ollamaUrl: string, env: NodeJS.ProcessEnv = {}): Promise<RunningServer> {
  const childEnv: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '',
    NOTES_DIR: workspace.notesDir(size),
    INDEX_DIR: workspace.indexDir(size),
    EMBEDDINGS: 'local',
    LLM: 'ollama',
    OLLAMA_HOST: ollamaUrl,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
    ...env,
  };
  const spawned = performance.now();
  const child = spawnTypeScript(MAIN, [], { env: childEnv });
  let output = '';
  const stop = () => stopChild(child);
  try {
    const { url, listeningAt } = await new Promise<{ url: string; listeningAt: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the server did not listen within 120 s: ${output.slice(-1000)}`)), 120_000);
      child.stdout?.setEncoding('utf8').on('data', (text: string) => {
        output += text;
        const match = /"msg":"listening"[^\n]*"url":"([^"]+)"/.exec(output);
        if (match?.[1] !== undefined) {
          clearTimeout(timer);
          resolve({ url: match[1], listeningAt: performance.now() });
        }
      });
      child.stderr?.setEncoding('utf8').on('data', (text: string) => (output += text));
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the server exited with ${code}: ${output.slice(-1000)}`));
      });
    });
    const ready = await pollReadiness(url, (body) => body.ready === true, 10, 600_000);
    const readyAt = performance.now();
    await pollReadiness(url, (body) => body.building === false, 100, 600_000);
    const idleAt = performance.now();
    const chunks = Number((ready.index as { chunks?: unknown } | undefined)?.chunks ?? Number.NaN);
    return {
      url,
      startup: {
        chunks,
        readySeconds: round((readyAt - spawned) / 1000, 3),
        listeningSeconds: round((listeningAt - spawned) / 1000, 3),
        backgroundUpdateSeconds: round((idleAt - readyAt) / 1000, 3),
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

export type ReadyBody = Record<string, unknown>;

/** Polls `/readyz` until `until` holds for its body (with `ready` from the status); returns that body. */
export async function pollReadiness(
  url: string,
  until: (body: ReadyBody) => boolean,
  intervalMs: number,
  timeoutMs: number,
): Promise<ReadyBody> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5_000) });
      const body = (await response.json()) as ReadyBody;
      // 200 exactly when ready; the body says the rest (building or not).
      if (until({ ...body, ready: response.status === 200 })) return body;
    } catch {
      // Not answering yet.
    }
    if (performance.now() > deadline) throw new Error(`${url}/readyz did not reach the wanted state in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export interface AskTiming {
  sent: number;
  firstDelta?: number;
  finished: number;
  ok: boolean;
  error?: string;
}

/** One streamed `POST /ask`, read event by event. */
export async function ask(url: string, question: string): Promise<AskTiming> {
  const sent = performance.now();
  let firstDelta: number | undefined;
  try {
    const response = await fetch(`${url}/ask`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
      body: JSON.stringify({ question, stream: true }),
      signal: AbortSignal.timeout(60_000),
    });
    if (response.status !== 200 || response.body === null) {
      const text = await response.text();
      return { sent, finished: performance.now(), ok: false, error: `HTTP ${response.status}: ${text.slice(0, 200)}` };
    }
    const decoder = new TextDecoder();
    let buffered = '';
    let terminal: string | undefined;
    const reader = response.body.getReader();
    for (let piece = await reader.read(); !piece.done; piece = await reader.read()) {
      buffered += decoder.decode(piece.value, { stream: true });
      let end: number;
      while ((end = buffered.indexOf('\n\n')) !== -1) {
        const event = /^event: (\S+)/m.exec(buffered.slice(0, end))?.[1];
        buffered = buffered.slice(end + 2);
        if (event === 'delta' && firstDelta === undefined) firstDelta = performance.now();
        if (event === 'done' || event === 'error') terminal = event;
      }
    }
    const finished = performance.now();
    const base = { sent, finished, ...(firstDelta === undefined ? {} : { firstDelta }) };
    return terminal === 'done' ? { ...base, ok: true } : { ...base, ok: false, error: `stream ended with ${terminal ?? 'no terminal event'}` };
  } catch (error) {
    return { sent, finished: performance.now(), ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

