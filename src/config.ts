import { z } from 'zod';

/**
 * Configuration, parsed once at the edge (main.ts / cli) from environment variables.
 * Every variable here is documented in the README; a test keeps the two in step.
 */

/** An OpenAI-compatible server's base URL as its clients take it (`http://host:8000/v1`): http(s), no trailing slash. */
export function normaliseBaseUrl(value: string): string {
  const raw = value.trim();
  if (raw === '') throw new Error('must not be empty');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error('is not a valid URL (e.g. http://127.0.0.1:8000/v1)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('must use http or https');
  if (url.search !== '' || url.hash !== '') throw new Error('must not have a query or fragment');
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

/** Accepts `host:port`, `http://host:port` or `https://…` as the Ollama CLI does; returns a URL without a trailing slash. */
export function normaliseOllamaHost(value: string): string {
  let raw = value.trim();
  if (raw === '') throw new Error('must not be empty');
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) raw = `http://${raw}`;
  const url = new URL(raw);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('must use http or https');
  // Like ollama-js: no explicit port means 11434 for http (443 stays implicit for https).
  const authority = raw.replace(/^[a-z]+:\/\//i, '').split('/')[0] ?? '';
  const hasPort = /:\d+$/.test(authority);
  if (!hasPort && url.protocol === 'http:') url.port = '11434';
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

const intInRange = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const positiveMs = intInRange(1, 3_600_000);

/**
 * Ollama's keep_alive: a Go duration ("30m", "1h30m", "-1m") or whole seconds ("3600"); negative keeps
 * the model loaded for good, 0 unloads it after each call. Seconds become a number, because Ollama
 * rejects a bare-number string in a request body.
 */
const keepAlive = z
  .string()
  .trim()
  .regex(/^(?:[+-]?\d+|[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+)$/, 'must be a duration such as 30m, 1h or -1 (forever), or whole seconds')
  .transform((value): string | number => (/^[+-]?\d+$/.test(value) ? Number(value) : value));

const modelName = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .regex(/^[A-Za-z0-9][\w.\-/:]*$/, 'is not a valid model name');

/** The environment variables asknotes reads, with their defaults (strings, as in the environment). */
export const configSchema = z.object({
  NOTES_DIR: z.string().trim().min(1).default('./notes'),
  INDEX_DIR: z.string().trim().min(1).default('./index'),
  HOST: z.string().trim().min(1).default('127.0.0.1'),
  PORT: intInRange(0, 65_535).default(3000),
  OLLAMA_HOST: z.string().optional(),
  OLLAMA_BASE_URL: z.string().optional(),
  LLM_PROVIDER: z.enum(['ollama', 'openai']).default('ollama'),
  OPENAI_BASE_URL: z.string().optional(),
  OPENAI_EMBED_BASE_URL: z.string().optional(),
  OPENAI_API_KEY: z.string().min(1).optional(),
  CHAT_MODEL: modelName.default('llama3.2'),
  EMBED_MODEL: modelName.default('nomic-embed-text'),
  EMBEDDINGS: z.enum(['auto', 'ollama', 'openai', 'local']).default('auto'),
  LLM: z.enum(['auto', 'ollama', 'openai', 'none']).default('auto'),
  TOP_K: intInRange(1, 20).default(4),
  API_TOKEN: z.string().min(1).optional(),
  CORS_ORIGIN: z.string().trim().min(1).optional(),
  NUM_CTX: intInRange(512, 1_048_576).default(8192),
  OLLAMA_TIMEOUT_MS: positiveMs.default(60_000),
  OLLAMA_CONNECT_TIMEOUT_MS: positiveMs.default(2_000),
  OLLAMA_MAX_RETRIES: intInRange(0, 10).default(1),
  EMBED_BATCH_SIZE: intInRange(1, 64).default(64),
  EMBED_CONCURRENCY: intInRange(1, 16).default(2),
  MAX_CONCURRENT_ANSWERS: intInRange(1, 1024).default(32),
  OLLAMA_CHECK_INTERVAL_MS: positiveMs.default(10_000),
  OLLAMA_KEEP_ALIVE: keepAlive.default('30m'),
  WATCH_POLL_MS: intInRange(0, 3_600_000).default(0),
  LOG_LEVEL: z.enum(['silent', 'error', 'warn', 'info', 'debug']).default('info'),
  INDEX_BACKEND: z.enum(['files', 'postgres']).default('files'),
  DATABASE_URL: z
    .string()
    .trim()
    .refine((value) => {
      try {
        return ['postgres:', 'postgresql:'].includes(new URL(value).protocol);
      } catch {
        return false;
      }
    }, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  ROLE: z.enum(['all', 'serve']).default('all'),
  INDEX_FOLLOW_MS: positiveMs.default(2_000),
});

export type ConfigVariable = keyof typeof configSchema.shape;

/** Every variable name the config knows (used by tests that keep README, compose and Dockerfile in step). */
export const CONFIG_VARIABLES = Object.keys(configSchema.shape) as ConfigVariable[];

export interface Config {
  notesDir: string;
  indexDir: string;
  host: string;
  port: number;
  ollamaHost: string;
  /** Which kind of model server answers and embeds: Ollama's own API, or an OpenAI-compatible one. */
  llmProvider: 'ollama' | 'openai';
  /** OPENAI_BASE_URL, normalised; set (required) when llmProvider is `openai`. */
  openaiBaseUrl: string | undefined;
  /** Where embeddings go with llmProvider `openai`: OPENAI_EMBED_BASE_URL, else OPENAI_BASE_URL. */
  openaiEmbedBaseUrl: string | undefined;
  openaiApiKey: string | undefined;
  chatModel: string;
  embedModel: string;
  /** `ollama` / `openai`: the model server of that provider (LLM_PROVIDER), required. */
  embeddings: 'auto' | 'ollama' | 'openai' | 'local';
  llm: 'auto' | 'ollama' | 'openai' | 'none';
  topK: number;
  apiToken: string | undefined;
  corsOrigin: string | undefined;
  numCtx: number;
  ollamaTimeoutMs: number;
  ollamaConnectTimeoutMs: number;
  ollamaMaxRetries: number;
  embedBatchSize: number;
  embedConcurrency: number;
  maxConcurrentAnswers: number;
  ollamaCheckIntervalMs: number;
  /** Sent as keep_alive with every chat and embed call: how long Ollama keeps the models loaded. */
  ollamaKeepAlive: string | number;
  watchPollMs: number;
  logLevel: 'silent' | 'error' | 'warn' | 'info' | 'debug';
  indexBackend: 'files' | 'postgres';
  databaseUrl: string | undefined;
  role: 'all' | 'serve';
  indexFollowMs: number;
}

/** Never echoed in an error message (a DATABASE_URL may hold a password). */
const SECRET_VARIABLES = new Set(['API_TOKEN', 'OPENAI_API_KEY', 'DATABASE_URL']);

export class ConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, message: string) {
    super(`Invalid configuration: ${variable} ${message}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

/** Parses the environment into a Config, or throws one ConfigError naming the first bad variable. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  // Empty strings mean "unset", as in most shells' `VAR= cmd`.
  const cleaned: Record<string, string> = {};
  for (const name of CONFIG_VARIABLES) {
    const value = env[name];
    if (value !== undefined && value !== '') cleaned[name] = value;
  }
  const result = configSchema.safeParse(cleaned);
  if (!result.success) {
    const issue = result.error.issues[0];
    const variable = String(issue?.path[0] ?? 'configuration');
    const got = cleaned[variable];
    const shown = SECRET_VARIABLES.has(variable) || got === undefined ? '' : ` (got ${JSON.stringify(got)})`;
    throw new ConfigError(variable, `${issue?.message ?? 'is invalid'}${shown}`);
  }
  const values = result.data;
  if (values.INDEX_BACKEND === 'postgres' && values.DATABASE_URL === undefined) {
    throw new ConfigError('DATABASE_URL', 'is required when INDEX_BACKEND=postgres');
  }
  const hostVariable = values.OLLAMA_HOST !== undefined ? 'OLLAMA_HOST' : 'OLLAMA_BASE_URL';
  let ollamaHost: string;
  try {
    ollamaHost = normaliseOllamaHost(values.OLLAMA_HOST ?? values.OLLAMA_BASE_URL ?? 'http://127.0.0.1:11434');
  } catch (error) {
    throw new ConfigError(hostVariable, `${(error as Error).message.replace(/^Invalid URL.*/, 'is not a valid URL')}`);
  }
  const openaiUrl = (variable: 'OPENAI_BASE_URL' | 'OPENAI_EMBED_BASE_URL'): string | undefined => {
    const value = values[variable];
    if (value === undefined) return undefined;
    try {
      return normaliseBaseUrl(value);
    } catch (error) {
      throw new ConfigError(variable, `${(error as Error).message} (got ${JSON.stringify(value)})`);
    }
  };
  const openaiBaseUrl = openaiUrl('OPENAI_BASE_URL');
  const openaiEmbedBaseUrl = openaiUrl('OPENAI_EMBED_BASE_URL') ?? openaiBaseUrl;
  // LLM=openai / EMBEDDINGS=ollama … insist on one provider's server: say so when LLM_PROVIDER names the other.
  for (const variable of ['LLM', 'EMBEDDINGS'] as const) {
    const value = values[variable];
    if ((value === 'ollama' || value === 'openai') && value !== values.LLM_PROVIDER) {
      throw new ConfigError(variable, `is ${value} but LLM_PROVIDER is ${values.LLM_PROVIDER}: set LLM_PROVIDER=${value}, or ${variable}=auto`);
    }
  }
  // No default: api.openai.com would send the notes to a cloud service nobody chose.
  if (values.LLM_PROVIDER === 'openai' && openaiBaseUrl === undefined) {
    throw new ConfigError('OPENAI_BASE_URL', 'must be set when LLM_PROVIDER=openai (e.g. http://127.0.0.1:8000/v1 for vLLM)');
  }
  return {
    notesDir: values.NOTES_DIR,
    indexDir: values.INDEX_DIR,
    host: values.HOST,
    port: values.PORT,
    ollamaHost,
    llmProvider: values.LLM_PROVIDER,
    openaiBaseUrl,
    openaiEmbedBaseUrl,
    openaiApiKey: values.OPENAI_API_KEY,
    chatModel: values.CHAT_MODEL,
    embedModel: values.EMBED_MODEL,
    embeddings: values.EMBEDDINGS,
    llm: values.LLM,
    topK: values.TOP_K,
    apiToken: values.API_TOKEN,
    corsOrigin: values.CORS_ORIGIN,
    numCtx: values.NUM_CTX,
    ollamaTimeoutMs: values.OLLAMA_TIMEOUT_MS,
    ollamaConnectTimeoutMs: values.OLLAMA_CONNECT_TIMEOUT_MS,
    ollamaMaxRetries: values.OLLAMA_MAX_RETRIES,
    embedBatchSize: values.EMBED_BATCH_SIZE,
    embedConcurrency: values.EMBED_CONCURRENCY,
    maxConcurrentAnswers: values.MAX_CONCURRENT_ANSWERS,
    ollamaCheckIntervalMs: values.OLLAMA_CHECK_INTERVAL_MS,
    ollamaKeepAlive: values.OLLAMA_KEEP_ALIVE,
    watchPollMs: values.WATCH_POLL_MS,
    logLevel: values.LOG_LEVEL,
    indexBackend: values.INDEX_BACKEND,
    databaseUrl: values.DATABASE_URL,
    role: values.ROLE,
    indexFollowMs: values.INDEX_FOLLOW_MS,
  };
}
