/**
 * Reads a chat model's reply, piece by piece, into what asknotes shows (pure, transport-independent:
 * Ollama's stream and an OpenAI-compatible one both reduce to these pieces). Reasoning goes its own way,
 * citations are normalised as the answer streams, and the end says what was cited and whether the
 * model itself said the notes do not cover the question (issue 12).
 */
import { saysNotInSources } from './abstention.ts';
import { CitationStream } from './citations.ts';
import { ReasoningSplitter, type ReplyPart } from './reasoning.ts';

/** Facts about the request a transport reports once the model has finished. */
export interface ReplyUsage {
  /** Tokens the model read (Ollama's `prompt_eval_count`); absent when not reported (e.g. cache hits). */
  promptTokens?: number;
  /** `stop`, or `length` when the answer was cut at the token limit. */
  doneReason?: string;
}

/** What a transport yields: answer text, reasoning from a separate channel, or the final usage. */
export type ModelPiece = string | { reasoning: string } | { usage: ReplyUsage };

export type ReplyEvent = { type: 'delta'; text: string } | { type: 'reasoning'; text: string };

export interface ModelReply {
  /** The answer with reasoning and template tokens removed and citations written `[n]`. */
  answer: string;
  /** Real sources cited, in order of first use (empty when the model abstained). */
  cited: number[];
  /** The model said the sources do not contain the answer (grounded answers only). */
  abstained: boolean;
  reasoning: string;
  usage: ReplyUsage;
}

export interface ReplyOptions {
  /** The source numbers that exist (empty for a question asked without notes). */
  sources: readonly number[];
  /** The reply may begin inside a reasoning block whose opening tag the template swallowed. */
  mayOpenInReasoning: boolean;
  /** A grounded answer: judge abstention. */
  grounded: boolean;
}

export class ModelReplyReader {
  private readonly splitter: ReasoningSplitter;
  private citations: CitationStream;
  private raw = '';
  private reasoning = '';
  private usage: ReplyUsage = {};

  constructor(private readonly options: ReplyOptions) {
    this.splitter = new ReasoningSplitter(options.mayOpenInReasoning);
    this.citations = new CitationStream(options.sources);
  }

  push(piece: ModelPiece): ReplyEvent[] {
    if (typeof piece === 'string') return this.parts(this.splitter.push(piece));
    if ('reasoning' in piece) {
      const events = this.parts(this.splitter.separateChannel());
      if (piece.reasoning !== '') events.push(this.think(piece.reasoning));
      return events;
    }
    this.usage = { ...this.usage, ...piece.usage };
    return [];
  }

  end(): { events: ReplyEvent[]; reply: ModelReply } {
    const events = this.parts(this.splitter.end());
    const sent = this.citations.sent;
    const { text, cited } = this.citations.end();
    // Trailing whitespace is not part of the answer; leading whitespace never reaches it (the splitter).
    const answer = text.trimEnd();
    const rest = answer.startsWith(sent) ? answer.slice(sent.length) : '';
    if (rest !== '') events.push({ type: 'delta', text: rest });
    const abstained = this.options.grounded && answer !== '' && saysNotInSources(answer);
    return {
      events,
      reply: { answer, cited: abstained ? [] : cited, abstained, reasoning: this.reasoning, usage: this.usage },
    };
  }

  private parts(parts: ReplyPart[]): ReplyEvent[] {
    const events: ReplyEvent[] = [];
    for (const part of parts) {
      if (part.kind === 'reasoning') events.push(this.think(part.text));
      else if (part.kind === 'restart') {
        // What went out as answer was reasoning after all; the answer starts again from here.
        if (this.raw.trim() !== '') events.push(this.think(this.raw));
        this.raw = '';
        this.citations = new CitationStream(this.options.sources);
      } else {
        this.raw += part.text;
        const text = this.citations.push(part.text);
        if (text !== '') events.push({ type: 'delta', text });
      }
    }
    return events;
  }

  private think(text: string): ReplyEvent {
    this.reasoning += text;
    return { type: 'reasoning', text };
  }
}

/** The same reading over an async stream of pieces: yields events, returns the reply. */
export async function* readModelReply(
  pieces: AsyncIterable<ModelPiece>,
  options: ReplyOptions,
): AsyncGenerator<ReplyEvent, ModelReply> {
  const reader = new ModelReplyReader(options);
  for await (const piece of pieces) yield* reader.push(piece);
  const { events, reply } = reader.end();
  yield* events;
  return reply;
}
