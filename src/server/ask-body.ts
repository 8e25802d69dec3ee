/**
 * The `POST /ask` body, validated with the smallest schema the route needs (SPEC "HTTP API").
 * Unknown fields are ignored, as JSON APIs usually do, so clients can send extra metadata.
 */
import { z } from 'zod';
import type { AskRequest } from '../answer/answer-types.ts';
import { globProblem, MAX_SCOPE_ENTRIES, type ScopeFilter } from '../answer/scope.ts';
import { AppError } from '../errors.ts';
import { normalizeTag } from '../notes/note-tags.ts';

export const MAX_QUESTION_CHARS = 4000;
export const MAX_HISTORY_TURNS = 20;
/** A turn's own bound; the 64 KiB body limit bounds the total anyway. */
export const MAX_HISTORY_TURN_CHARS = 16_000;

/** Ollama's model names: `[host/][namespace/]model[:tag]`, letters, digits, `._-`. */
export const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*(?:\/[A-Za-z0-9][A-Za-z0-9._-]*){0,2}(?::[A-Za-z0-9][A-Za-z0-9._-]*)?$/;
export const MAX_MODEL_CHARS = 200;

const globSchema = z.string({ error: 'must be a string (a glob over note paths)' }).superRefine((glob, context) => {
  const problem = globProblem(glob);
  if (problem !== undefined) context.addIssue({ code: 'custom', message: problem });
});

const tagSchema = z.string({ error: 'must be a string (a tag)' }).superRefine((tag, context) => {
  if (normalizeTag(tag) === undefined) {
    context.addIssue({ code: 'custom', message: 'must be a tag: letters, digits, "_", "-" and "/", not only digits' });
  }
});

/**
 * Unknown keys are refused here (unlike the body's): a misspelt `tag` must not widen the scope silently.
 * Shared by every door that takes a scope (`/ask`, MCP `search_notes`).
 */
export const filterSchema = z.strictObject(
  {
    notes: z
      .array(globSchema, { error: 'must be an array of globs' })
      .max(MAX_SCOPE_ENTRIES, { error: `must have at most ${MAX_SCOPE_ENTRIES} globs` })
      .optional(),
    tags: z
      .array(tagSchema, { error: 'must be an array of tags' })
      .max(MAX_SCOPE_ENTRIES, { error: `must have at most ${MAX_SCOPE_ENTRIES} tags` })
      .optional(),
  },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? 'may only have "notes" and "tags"' : 'must be an object like {"notes": [...], "tags": [...]}') },
);

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
    filter: filterSchema.optional(),
    model: z
      .string({ error: 'must be a string (an Ollama model name)' })
      .trim()
      .regex(MODEL_NAME, { error: 'must be an Ollama model name such as "llama3.2" or "qwen2.5:7b"' })
      .max(MAX_MODEL_CHARS, { error: `must be at most ${MAX_MODEL_CHARS} characters` })
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
  const { question, k, rag, history, stream, filter, model } = result.data;
  const request: AskRequest = { question };
  if (k !== undefined) request.k = k;
  if (rag !== undefined) request.rag = rag;
  if (history !== undefined) request.history = history;
  if (model !== undefined) request.model = model;
  if (filter !== undefined) request.filter = scopeFrom(filter);
  return { request, stream: stream ?? false };
}

/** A validated `filter` as the engine's scope (without the keys left out). */
export function scopeFrom(filter: z.infer<typeof filterSchema>): ScopeFilter {
  const scope: ScopeFilter = {};
  if (filter.notes !== undefined) scope.notes = filter.notes;
  if (filter.tags !== undefined) scope.tags = filter.tags;
  return scope;
}
