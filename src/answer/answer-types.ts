/**
 * The contract between the answer engine and its callers (server, CLI, eval).
 * An answer is an async stream of events with exactly one terminal event (`done` or `error`).
 */
import type { ErrorCode } from '../errors.ts';
import type { ScopeFilter } from './scope.ts';

export interface HistoryTurn {
  role: 'user' | 'assistant';
  content: string;
}

export interface AskRequest {
  question: string;
  /** Sources per answer, 1..20; defaults to TOP_K. */
  k?: number;
  /** false = ask the chat model directly, without notes. */
  rag?: boolean;
  history?: HistoryTurn[];
  /** An installed Ollama chat model to answer with instead of CHAT_MODEL (`GET /models` lists them). */
  model?: string;
  /** Only notes matching these globs and/or tags are searched (`scope.ts`). */
  filter?: ScopeFilter;
}

export interface Source {
  n: number;
  id: string;
  note: string;
  heading: string;
  /** 1-based, inclusive; for a PDF, lines of `page`'s text. */
  lines: [number, number];
  text: string;
  score: number;
  /** For a PDF: the 1-based page the lines are on. */
  page?: number;
  /** Wikilinks in `text` that open an indexed note: what they show and which note. */
  links?: SourceLink[];
}

export interface SourceLink {
  /** The words the link shows (`[[People/Ada Quill|Ada]]` -> "Ada"). */
  shown: string;
  /** The note it opens (a path relative to the notes folder). */
  note: string;
}

/** Who wrote the answer: a chat model on Ollama, one on an OpenAI-compatible server (LLM_PROVIDER=openai), or nobody (quoted lines). */
export type AnswerMode = 'ollama' | 'openai' | 'extractive';

export interface Timings {
  retrieval_ms: number;
  generation_ms: number;
  total_ms: number;
}

export interface SourcesEvent {
  type: 'sources';
  sources: Source[];
  mode: AnswerMode;
  model: string | null;
  embedder: string;
  notice?: string;
}

export interface DeltaEvent {
  type: 'delta';
  text: string;
}

/** A reasoning model's thinking (SPEC: never part of `answer` or `delta`); clients may show it folded. */
export interface ReasoningEvent {
  type: 'reasoning';
  text: string;
}

export interface DoneEvent {
  type: 'done';
  answer: string;
  answerable: boolean;
  cited: number[];
  /** Known only once the answer is written: it cites nothing, or Ollama cut the prompt (issue 12). */
  notice?: string;
  timings: Timings;
}

export interface ErrorEvent {
  type: 'error';
  code: ErrorCode;
  message: string;
}

export type AnswerEvent = SourcesEvent | DeltaEvent | ReasoningEvent | DoneEvent | ErrorEvent;

/**
 * What the server and CLI receive. Errors that happen before the first event may be thrown
 * (as AppError); after the first event they arrive as an `error` event. Aborting `signal`
 * cancels the upstream model request for this answer only and ends the stream quietly.
 */
export type AnswerFn = (request: AskRequest, options: { signal: AbortSignal }) => AsyncIterable<AnswerEvent>;

/** The JSON body of `POST /ask` (non-streaming), assembled from the events. */
export interface AskResponse {
  answer: string;
  answerable: boolean;
  sources: Source[];
  cited: number[];
  mode: AnswerMode;
  model: string | null;
  embedder: string;
  notice?: string;
  timings: Timings;
}
