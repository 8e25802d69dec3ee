/**
 * A `POST /v1/chat/completions` body, translated to the engine's AskRequest: the last message is
 * the question (it must be the user's), earlier user and assistant messages are the history;
 * `model` is `asknotes` (CHAT_MODEL) or a chat model's own name, as `/ask`'s `model`; the extra
 * field `filter` scopes the question as `/ask`'s does.
 * System and developer messages are ignored: answers follow asknotes's own grounded prompt, which
 * a client's system prompt must not replace. Only text is understood; everything else is a clear
 * `400 invalid_request` naming the message. Unknown fields (temperature, max_tokens, tools, …) are
 * ignored, as OpenAI-compatible servers commonly do.
 */
import { z } from 'zod';
import type { AskRequest, HistoryTurn } from '../../answer/answer-types.ts';
import { AppError } from '../../errors.ts';
import { withoutSourcesList } from '../../library/sources-markdown.ts';
import { filterSchema, MAX_HISTORY_TURNS, MAX_HISTORY_TURN_CHARS, MAX_MODEL_CHARS, MAX_QUESTION_CHARS, MODEL_NAME, scopeFrom } from '../ask-body.ts';

/** The model this API advertises: answers from the notes by the configured chat model (CHAT_MODEL). */
export const OPENAI_MODEL_ID = 'asknotes';
export const MAX_MESSAGES = 500;

const textPart = z.object({ type: z.literal('text'), text: z.string() });
const anyPart = z.object({ type: z.string() }).loose();

const messageSchema = z
  .object({
    role: z.string({ error: 'must be a string' }),
    // null is allowed for assistant messages that only called tools.
    content: z.union([z.string(), z.array(anyPart), z.null()], { error: 'must be a string or an array of content parts' }).optional(),
  })
  .loose();

const bodySchema = z
  .object(
    {
      model: z.string({ error: 'is required (use "asknotes")' }),
      /** asknotes extension: the scope, as `/ask`'s `filter`. */
      filter: filterSchema.optional(),
      messages: z
        .array(messageSchema, { error: 'must be an array of messages' })
        .min(1, { error: 'must contain at least one message' })
        .max(MAX_MESSAGES, { error: `must contain at most ${MAX_MESSAGES} messages` }),
      stream: z.boolean({ error: 'must be true or false' }).nullish(),
      n: z.number({ error: 'must be 1' }).nullish(),
      /** asknotes extension: sources per answer. */
      k: z.number().int({ error: 'must be a whole number from 1 to 20' }).min(1, { error: 'must be a whole number from 1 to 20' }).max(20, { error: 'must be a whole number from 1 to 20' }).optional(),
    },
    { error: 'must be a JSON object' },
  )
  .loose();

export interface ChatRequest {
  ask: AskRequest;
  stream: boolean;
  /** The model named in the request, echoed in the reply as OpenAI does. */
  model: string;
}

/**
 * OpenAI's answer to a model that does not exist is a 404 with the code `model_not_found` (see
 * openai-errors.ts); a name that cannot be a model name gets it at once.
 */
export function unknownModel(model: string): AppError {
  return new AppError('model_not_found', `The model "${model.slice(0, 100)}" does not exist here: use "${OPENAI_MODEL_ID}" or the name of an installed chat model (GET /models lists them).`);
}

const ROLES_IGNORED = new Set(['system', 'developer']);

function invalid(message: string): AppError {
  return new AppError('invalid_request', message);
}

/** The text of a message's content: a string, or its text parts joined; other parts are refused. */
function textOf(content: z.infer<typeof messageSchema>['content'], where: string): string {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  const texts: string[] = [];
  for (const [position, part] of content.entries()) {
    const text = textPart.safeParse(part);
    if (!text.success) {
      throw invalid(`${where}.content[${position}] is a "${String(part.type).slice(0, 40)}" part; asknotes understands only text.`);
    }
    texts.push(text.data.text);
  }
  return texts.join('\n');
}

export function parseChatRequest(body: unknown): ChatRequest {
  const result = bodySchema.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue && issue.path.length > 0 ? `"${issue.path.map(String).join('.')}" ` : 'The request body ';
    throw invalid(`${field}${issue?.message ?? 'is invalid'}.`);
  }
  const { model, messages, stream, n, k, filter } = result.data;
  const chatModel = model.trim();
  if (chatModel !== OPENAI_MODEL_ID && (chatModel.length > MAX_MODEL_CHARS || !MODEL_NAME.test(chatModel))) throw unknownModel(model);
  if (n !== undefined && n !== null && n !== 1) throw invalid('"n" must be 1: asknotes gives one answer per request.');

  const turns: HistoryTurn[] = [];
  for (const [position, message] of messages.entries()) {
    const where = `messages[${position}]`;
    if (ROLES_IGNORED.has(message.role)) continue;
    if (message.role !== 'user' && message.role !== 'assistant') {
      throw invalid(`${where}.role "${message.role.slice(0, 40)}" is not supported: use "user" and "assistant" (system messages are ignored; asknotes calls no tools).`);
    }
    const text = textOf(message.content, where);
    turns.push({ role: message.role, content: message.role === 'assistant' ? withoutSourcesList(text) : text });
  }
  const last = turns.pop();
  const lastMessage = messages[messages.length - 1];
  if (last === undefined || last.role !== 'user' || lastMessage?.role !== 'user') {
    throw invalid('The last message must be the user\'s question (role "user").');
  }
  const question = last.content.trim();
  if (question === '') throw invalid('The last user message has no text.');
  if (question.length > MAX_QUESTION_CHARS) throw invalid(`The last user message must be at most ${MAX_QUESTION_CHARS} characters (it has ${question.length}).`);

  // The engine reads the last turns; older ones and overlong ones are cut, not refused, since chat
  // clients resend the whole conversation every time.
  const history = turns
    .filter((turn) => turn.content.trim() !== '')
    .slice(-MAX_HISTORY_TURNS)
    .map((turn) => ({ role: turn.role, content: turn.content.slice(0, MAX_HISTORY_TURN_CHARS) }));
  const ask: AskRequest = { question };
  if (history.length > 0) ask.history = history;
  if (k !== undefined) ask.k = k;
  if (chatModel !== OPENAI_MODEL_ID) ask.model = chatModel;
  if (filter !== undefined) ask.filter = scopeFrom(filter);
  return { ask, stream: stream === true, model: chatModel };
}
