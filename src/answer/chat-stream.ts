/**
 * The one seam between the answer engine and the model servers: a chat model, chosen by provider,
 * streamed as plain text pieces. Whatever reads the pieces (the engine, reply parsing) is the same
 * for both: each stream yields the answer's text in order, ends quietly on abort and throws an
 * AppError (llm_unavailable, model_not_found, upstream_timeout) on failure.
 */
import type { ModelPiece } from './model-reply.ts';
import { streamChat, type ChatSettings } from './ollama-chat.ts';
import { streamOpenAIChat, type OpenAIChatSettings } from './openai-chat.ts';
import type { ChatMessage } from './prompt.ts';

/** A chat model and how to reach it; `mode` is also the answer's public `mode`. */
export type ModelChat = { mode: 'ollama'; chat: ChatSettings } | { mode: 'openai'; chat: OpenAIChatSettings };

export function streamModelChat(target: ModelChat, messages: ChatMessage[], signal: AbortSignal): AsyncGenerator<ModelPiece> {
  return target.mode === 'openai' ? streamOpenAIChat(target.chat, messages, signal) : streamChat(target.chat, messages, signal);
}
