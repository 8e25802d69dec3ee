/**
 * What every door (HTTP `/ask`, OpenAI `/v1`, MCP) may do with the notes, once: search, read,
 * list and ask. Plain async functions over the live index, the gated note reader and the answer
 * engine; the doors only translate their wire format to these calls and back (STYLE.md "A door only
 * translates"; modelcontextprotocol/servers `src/filesystem/lib.ts` keeps its tools' logic the same
 * way). Failures are AppErrors with the API's codes; a door maps them to its own error shape.
 */
import type { AnswerFn, AskResponse } from '../answer/answer-types.ts';
import { collectAnswer } from '../answer/collect-answer.ts';
import { retrieve } from '../answer/retrieve.ts';
import { isScoped, type ScopeFilter } from '../answer/scope.ts';
import type { Embedder } from '../embeddings/embedder.ts';
import { AppError } from '../errors.ts';
import type { SearchableIndex } from '../vector-index/index-backend.ts';
import { noteInScope } from '../vector-index/scope-rows.ts';
import { numberLines, pickLines } from './note-lines.ts';

export const MAX_QUERY_CHARS = 4000;
export const MAX_K = 20;

export interface LibraryDeps {
  /** The index answers come from and the embedder that built it; undefined while the first build runs. */
  current(): { index: SearchableIndex; embedder: Embedder } | undefined;
  /** The text of an indexed note, or undefined for anything else (the one gate to NOTES_DIR). */
  readNote(relativePath: string): Promise<string | undefined>;
  answer: AnswerFn;
  topK: number;
}

export interface SearchHit {
  /** Rank, from 1. */
  rank: number;
  note: string;
  heading: string;
  /** 1-based, inclusive line range in the note. */
  lines: [number, number];
  text: string;
  /** 0..1, higher is better, non-increasing with rank. */
  score: number;
}

export interface NoteSummary {
  path: string;
  title: string;
  tags: string[];
  chunks: number;
}

export interface NoteExcerpt {
  path: string;
  title: string;
  totalLines: number;
  from: number;
  to: number;
  /** The lines, numbered (`  12\ttext`). */
  numbered: string;
  /** The lines as in the file, without numbers. */
  text: string;
  /** Set when the range was cut short: where the next read continues. */
  nextFrom?: number;
}

export interface NotesLibrary {
  search(request: { query: string; k?: number | undefined; filter?: { notes?: string[] | undefined; tags?: string[] | undefined } | undefined }, options: { signal: AbortSignal }): Promise<SearchHit[]>;
  read(request: { path: string; from?: number | undefined; to?: number | undefined }): Promise<NoteExcerpt>;
  /** The whole text of an indexed note (for MCP resources). */
  readWhole(path: string): Promise<{ path: string; title: string; text: string }>;
  list(request?: { folder?: string | undefined; tag?: string | undefined }): Promise<NoteSummary[]>;
  ask(request: { question: string; k?: number | undefined }, options: { signal: AbortSignal }): Promise<AskResponse>;
}

/** A path as it may appear in a message: bounded, printable. */
function shown(path: string): string {
  const clean = path.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > 200 ? `${clean.slice(0, 200)}…` : clean;
}

function requireK(k: number | undefined, fallback: number): number {
  if (k === undefined) return fallback;
  if (!Number.isInteger(k) || k < 1 || k > MAX_K) throw new AppError('invalid_request', `"k" must be a whole number from 1 to ${MAX_K}.`);
  return k;
}

function requireText(value: string, field: string): string {
  const text = value.trim();
  if (text === '') throw new AppError('invalid_request', `"${field}" must not be empty.`);
  if (text.length > MAX_QUERY_CHARS) throw new AppError('invalid_request', `"${field}" must be at most ${MAX_QUERY_CHARS} characters.`);
  return text;
}

/** A folder as `list_notes` takes it: relative, "/"-separated, no `..`; "" or "/" = all notes. */
function normaliseFolder(folder: string): string {
  const trimmed = folder.trim().replace(/^\.?\/+/, '').replace(/\/+$/, '');
  if (/[\u0000-\u001f\u007f\\]/.test(trimmed) || trimmed.split('/').some((segment) => segment === '..' || segment === '.')) {
    throw new AppError('invalid_request', `"folder" must be a folder inside the notes, like "day1" (got "${shown(folder)}").`);
  }
  return trimmed;
}

export function createNotesLibrary(deps: LibraryDeps): NotesLibrary {
  const loaded = () => {
    const current = deps.current();
    if (current === undefined) throw new AppError('index_not_ready', 'The notes are still being indexed. Try again in a few seconds.');
    return current;
  };

  /** The note text behind a path the index knows; anything else is `not_found`, never file contents. */
  const indexedText = async (path: string): Promise<{ text: string; title: string }> => {
    const { index } = loaded();
    const entry = typeof path === 'string' && Object.hasOwn(index.manifest.notes, path) ? index.manifest.notes[path] : undefined;
    const text = entry === undefined ? undefined : await deps.readNote(path);
    if (entry === undefined || text === undefined) {
      throw new AppError('not_found', `No note "${shown(String(path))}" in the index (paths are relative to the notes folder, as list_notes shows them).`);
    }
    return { text, title: entry.title };
  };

  return {
    async search(request, { signal }) {
      const query = requireText(request.query, 'query');
      const k = requireK(request.k, deps.topK);
      const { index, embedder } = loaded();
      const filter: ScopeFilter = {};
      if (request.filter?.notes !== undefined) filter.notes = request.filter.notes;
      if (request.filter?.tags !== undefined) filter.tags = request.filter.tags;
      const scope = isScoped(filter) ? await index.scope(filter) : undefined;
      if (scope !== undefined && scope.size === 0) throw new AppError('invalid_request', 'No notes match this scope (filter): nothing to search.');
      const hits = await retrieve(index, embedder, query, { k, signal, scope });
      return hits.map((hit, position) => ({
        rank: position + 1,
        note: hit.chunk.note,
        heading: hit.chunk.heading,
        lines: hit.chunk.lines,
        text: hit.chunk.text,
        score: Number(hit.score.toFixed(4)),
      }));
    },

    async read(request) {
      for (const field of ['from', 'to'] as const) {
        const value = request[field];
        if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
          throw new AppError('invalid_request', `"${field}" must be a whole number from 1 (lines are numbered from 1).`);
        }
      }
      const { text, title } = await indexedText(request.path);
      const picked = pickLines(text, { from: request.from, to: request.to });
      return {
        path: request.path,
        title,
        totalLines: picked.totalLines,
        from: picked.from,
        to: picked.to,
        numbered: numberLines(picked),
        text: picked.lines.join('\n'),
        ...(picked.nextFrom === undefined ? {} : { nextFrom: picked.nextFrom }),
      };
    },

    async readWhole(path) {
      const { text, title } = await indexedText(path);
      return { path, title, text };
    },

    async list(request = {}) {
      const { index } = loaded();
      const folder = request.folder === undefined ? '' : normaliseFolder(request.folder);
      const tag = request.tag?.trim().replace(/^#+/, '');
      if (tag === '') throw new AppError('invalid_request', '"tag" must not be empty.');
      const notes = index.listNotes().notes;
      // The same scoping as search's filter: a folder is everything under it, a tag includes its nested tags.
      const filter: ScopeFilter = {};
      if (folder !== '') filter.notes = [`${folder}/**`];
      if (tag !== undefined) filter.tags = [tag];
      if (!isScoped(filter)) return notes;
      const inScope = noteInScope(filter);
      return notes.filter((note) => inScope(note.path, note.tags));
    },

    async ask(request, { signal }) {
      const question = requireText(request.question, 'question');
      const k = requireK(request.k, deps.topK);
      loaded();
      return collectAnswer(deps.answer({ question, k }, { signal }));
    },
  };
}
