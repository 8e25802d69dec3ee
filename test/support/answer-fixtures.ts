/**
 * Shared pieces for the answer-engine tests: a real index over a temporary copy of `notes/`
 * (built by `updateIndex` with the built-in local embedder: no network, about 0.1 s), event
 * collection, and hand-made term weights for the pure scoring tests.
 */
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AnswerEngineDeps, AnswerModeState } from '../../src/answer/answer-engine.ts';
import type { AnswerEvent, Source } from '../../src/answer/answer-types.ts';
import type { QueryTerms } from '../../src/answer/evidence.ts';
import type { ChatSettings } from '../../src/answer/ollama-chat.ts';
import type { Embedder } from '../../src/embeddings/embedder.ts';
import { createLocalEmbedder } from '../../src/embeddings/local-embedder.ts';
import { updateIndex, type LoadedIndex } from '../../src/vector-index/index-store.ts';

export const REPOSITORY_NOTES = fileURLToPath(new URL('../../notes/', import.meta.url));

export interface NotesIndex {
  index: LoadedIndex;
  embedder: Embedder;
  /** The temporary folder holding `notes/` and `index/`. */
  directory: string;
  notesDir: string;
  indexDir: string;
  cleanup(): Promise<void>;
}

/** Copies the repository's `notes/` (or `files`, when given) to a temp folder and indexes it. */
export async function buildNotesIndex(files?: Record<string, string>): Promise<NotesIndex> {
  const directory = await mkdtemp(join(tmpdir(), 'asknotes-answer-'));
  const notesDir = join(directory, 'notes');
  const indexDir = join(directory, 'index');
  if (files === undefined) {
    await cp(REPOSITORY_NOTES, notesDir, { recursive: true });
  } else {
    await mkdir(notesDir, { recursive: true });
    for (const [name, text] of Object.entries(files)) {
      await mkdir(dirname(join(notesDir, name)), { recursive: true });
      await writeFile(join(notesDir, name), text);
    }
  }
  const embedder = createLocalEmbedder();
  const { index } = await updateIndex({ notesDir, indexDir, embedder });
  return {
    index,
    embedder,
    directory,
    notesDir,
    indexDir,
    cleanup: () => rm(directory, { recursive: true, force: true }),
  };
}

/** Engine dependencies over a built index, answering with the given mode. */
export function engineDeps(
  built: Pick<NotesIndex, 'index' | 'embedder'>,
  mode: AnswerModeState | (() => AnswerModeState),
  extra: Partial<AnswerEngineDeps> = {},
): AnswerEngineDeps {
  return {
    current: () => ({ index: built.index, embedder: built.embedder }),
    mode: typeof mode === 'function' ? mode : () => mode,
    topK: 4,
    ...extra,
  };
}

/** `LLM=ollama` as the mode tracker reports it, pointed at a stand-in. */
export function ollamaMode(baseUrl: string, chat: Partial<ChatSettings> = {}): AnswerModeState {
  return { mode: 'ollama', chat: { baseUrl, model: 'llama3.2', numCtx: 4096, timeoutMs: 5_000, ...chat } };
}

export const EXTRACTIVE_MODE = { mode: 'extractive', notice: 'Extractive answer (test).' } as const satisfies AnswerModeState;

/** Drains an answer stream into an array (throws what the stream throws). */
export async function collectEvents(events: AsyncIterable<AnswerEvent>): Promise<AnswerEvent[]> {
  const collected: AnswerEvent[] = [];
  for await (const event of events) collected.push(event);
  return collected;
}

/** The event types in order, e.g. `['sources', 'delta', 'delta', 'done']`. */
export function eventTypes(events: readonly AnswerEvent[]): string[] {
  return events.map((event) => event.type);
}

/** Query terms with hand-made weights (stemmed terms, as `tokenize` produces them). */
export function handTerms(weights: Record<string, number>): QueryTerms {
  const map = new Map(Object.entries(weights));
  let total = 0;
  for (const value of map.values()) total += value;
  return { terms: [...map.keys()], weights: map, total };
}

/** A Source for prompt and extractive tests; only `n` and `text` usually matter. */
export function makeSource(n: number, text: string, extra: Partial<Source> = {}): Source {
  return {
    n,
    id: `chunk-${n}`,
    note: 'notes/test.md',
    heading: `Heading ${n}`,
    lines: [n * 10, n * 10 + 5],
    text,
    score: Math.max(0, 1 - n / 10),
    ...extra,
  };
}
