/**
 * The `POST /ask` body, validated with the smallest schema the route needs (SPEC "HTTP API").
 * Unknown fields are ignored, as JSON APIs usually do, so clients can send extra metadata.
 */
import { z } from 'zod';
import type { AskRequest } from '../answer/answer-types.ts';
import { AppError } from '../errors.ts';

export const MAX_QUESTION_CHARS = 4000;
export const MAX_HISTORY_TURNS = 20;
/** A turn's own bound; the 64 KiB body limit bounds the total anyway. */
export const MAX_HISTORY_TURN_CHARS = 16_000;

const askBodySchema = z.object(
  {
    question: z
      .string({ error: 'must be a string' })
      .trim()
      .min(1, { error: 'must not be empty' })
      .max(MAX_QUESTION_CHARS, { error: `must be at most ${MAX_QUESTION_CHARS} characters` }),
    k: z
      .number({ error: 'must be a whole number from 1 to 20' })
      .int({ error: 'must be a whole number from 1 to 20' })
      .min(1, { error: 'must be a whole number from 1 to 20' })
      .max(20, { error: 'must be a whole number from 1 to 20' })
      .optional(),
    rag: z.boolean({ error: 'must be true or false' }).optional(),
    stream: z.boolean({ error: 'must be true or false' }).optional(),
    history: z
      .array(
        z.object(
          {
            role: z.enum(['user', 'assistant'], { error: 'must be "user" or "assistant"' }),
            content: z
              .string({ error: 'must be a string' })
              .max(MAX_HISTORY_TURN_CHARS, { error: `must be at most ${MAX_HISTORY_TURN_CHARS} characters` }),
          },
          { error: 'must be an object with "role" and "content"' },
        ),
        { error: 'must be an array of turns' },
      )
      .max(MAX_HISTORY_TURNS, { error: `must have at most ${MAX_HISTORY_TURNS} turns` })
      .optional(),
  },
  { error: 'must be a JSON object' },
);

export interface ParsedAskBody {
  request: AskRequest;
  stream: boolean;
}

/** Validates a parsed JSON body; throws `invalid_request` naming the first bad field. */
export function parseAskBody(body: unknown): ParsedAskBody {
  const result = askBodySchema.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue && issue.path.length > 0 ? `"${issue.path.map(String).join('.')}" ` : 'The request body ';
    throw new AppError('invalid_request', `${field}${issue?.message ?? 'is invalid'}.`);
  }
  const { question, k, rag, history, stream } = result.data;
  const request: AskRequest = { question };
  if (k !== undefined) request.k = k;
  if (rag !== undefined) request.rag = rag;
  if (history !== undefined) request.history = history;
  return { request, stream: stream ?? false };
}
