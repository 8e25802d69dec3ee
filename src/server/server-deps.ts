/**
 * Everything the HTTP server needs, received as plain values and functions. The server never
 * imports the index, the embedder or LangChain (STYLE.md): main.ts builds these and hands them in,
 * and tests hand in fakes.
 */
import type { AnswerFn, AnswerMode } from '../answer/answer-types.ts';
import type { ModelsReport } from '../answer/chat-models.ts';
import type { NoteFiles } from '../notes/note-files.ts';
import type { NotesListing } from '../vector-index/note-listing.ts';

export type { ModelsReport, NotesListing };
import type { NotesLibrary } from '../library/notes-library.ts';
import type { Logger } from './logger.ts';

/** The loaded index, as `/readyz` reports it. */
export interface IndexSummary {
  notes: number;
  chunks: number;
  /** e.g. "ollama:nomic-embed-text" or "local:<id>". */
  embedder: string;
  /** ISO 8601 time of the build that produced the loaded index. */
  builtAt: string;
}

/** The model server (Ollama, or an OpenAI-compatible one), as `/readyz` reports it. */
export interface OllamaStatus {
  /** The configured OLLAMA_HOST, or OPENAI_BASE_URL. */
  url: string;
  reachable: boolean;
  version?: string;
  /** Models the configuration needs that the server does not have, e.g. ["nomic-embed-text"]. */
  missingModels: string[];
  /** The exact command (Ollama) or step (OpenAI-compatible) that fixes the problem, e.g. "ollama pull nomic-embed-text". */
  fix?: string;
}

/** The body of `GET /readyz`; `ready` decides 200 or 503. */
export interface Readiness {
  /** True once an index is loaded and answers can be served. */
  ready: boolean;
  index?: IndexSummary;
  /** An index build (first, re-index, an embedder switch, or a warm start's built-in index) is running. */
  building: boolean;
  /** While a build embeds: chunks embedded so far out of those to embed (as in `/index/status`). */
  progress?: { done: number; total: number };
  /** How answers are produced right now. */
  mode: AnswerMode;
  /** The chat model that answers in `ollama` or `openai` mode; null in extractive mode. */
  chatModel: string | null;
  /** LLM_PROVIDER: which kind of model server answers and embeds; its status is under the same key. */
  provider: 'ollama' | 'openai';
  ollama?: OllamaStatus;
  openai?: OllamaStatus;
  /** Why the server is not ready, or why it answers in extractive mode, in words. */
  reason?: string;
  /**
   * True while the chat and embedding models are being loaded into Ollama (at start and whenever
   * Ollama reappears): answers work, but the first one would wait for the load.
   */
  warming?: boolean;
}

/** One note's line in `GET /index/status`. */
export interface NoteIndexStatus {
  /** Relative to NOTES_DIR, forward slashes. */
  path: string;
  chunks: number;
  /** sha256 of the file bytes; null when the note could not be read. */
  hash: string | null;
  status: 'indexed' | 'failed';
  /** Set when status is "failed". */
  reason?: string;
}

export interface BuildSummary {
  /** ISO 8601. */
  startedAt: string;
  /** ISO 8601; absent while the build runs. */
  finishedAt?: string;
  outcome: 'running' | 'succeeded' | 'failed';
  notes: number;
  chunks: number;
  /** Chunks embedded in this build (the rest were reused from the cache). */
  embedded: number;
  reused: number;
  /** Notes that disappeared from the index in this build. */
  removed: number;
  failed: number;
  /** Set when outcome is "failed". */
  error?: string;
}

/** The body of `GET /index/status`. */
export interface IndexStatusReport {
  state: 'idle' | 'building';
  /** Embedder id of the loaded index, null before the first build finishes. */
  embedder: string | null;
  /**
   * The version of the index served, once one is loaded: the files backend's generation folder, or
   * Postgres's `<generation>:<version>`. Replicas (ROLE=serve) showing the same version answer alike.
   */
  version?: string;
  notes: NoteIndexStatus[];
  /**
   * While building: whose index (a warm start's built-in one first, issue 15) and its step — reading
   * the notes (`scan`), embedding chunks (`embed`), writing the index (`write`).
   */
  build?: { embedder: string; phase: 'scan' | 'embed' | 'write' };
  /** While embedding: chunks embedded so far out of those to embed. */
  progress?: { done: number; total: number };
  lastBuild?: BuildSummary;
}

export interface ServerDeps {
  answer: AnswerFn;
  readiness(): Readiness;
  /** `GET /index/status`; with `only`, just those notes' lines (`?note=a.md&note=b.md`), unknown ones left out. */
  indexStatus(only?: readonly string[]): IndexStatusReport;
  /** `GET /index/notes`: notes, folders and tags of the loaded index; undefined before the first build. */
  listNotes(): NotesListing | undefined;
  /** `GET /models`: the installed Ollama chat models, CHAT_MODEL marked. */
  listModels(signal: AbortSignal): Promise<ModelsReport>;
  /** Starts an incremental re-index and returns at once; a returned promise is only watched for failure. */
  reindex(): void | Promise<unknown>;
  /**
   * The text of an indexed note, or undefined for anything else (unknown, failed, outside
   * NOTES_DIR, symlinked out). The server has already rejected `..`, absolute paths and NULs, but
   * this function is the real gate.
   */
  readNote(relativePath: string): Promise<string | undefined>;
  /** Search, read, list and ask as plain functions: what the MCP door (`/mcp`) translates to. Without it `/mcp` is not served. */
  library?: NotesLibrary | undefined;
  /**
   * The address the server listens on (HOST). When it is loopback, `/mcp` and `/v1` refuse a Host
   * header naming another machine and an Origin that is not loopback or CORS_ORIGIN (DNS rebinding).
   */
  listenHost?: string | undefined;
  /** PDFs, their pages' text and Markdown notes' wikilinks for `GET /notes/…` (absent: text notes only). */
  noteFiles?: NoteFiles | undefined;
  /** Default `k` when a request leaves it out. */
  topK: number;
  /** When set, every route but `/healthz` and the static page needs `Authorization: Bearer <token>`. */
  apiToken?: string | undefined;
  /** When set, CORS is allowed for this one origin; otherwise no CORS headers at all. */
  corsOrigin?: string | undefined;
  /** Answers in flight beyond this get `429 busy`. */
  maxConcurrentAnswers: number;
  log: Logger;
  /** How often an idle SSE stream gets a comment line so proxies keep it open (default 15 s). */
  sseHeartbeatMs?: number | undefined;
}
