/**
 * Which answerer serves the next question (SPEC `LLM`): `auto` = the model server when reachable and
 * serving CHAT_MODEL, else extractive; `ollama` = always the model server (failures become errors);
 * `none` = extractive. The model server is Ollama, or an OpenAI-compatible one with
 * LLM_PROVIDER=openai. The tracker re-probes it when asked (main.ts does so periodically) and logs
 * one line per switch.
 */
import type { Config } from '../config.ts';
import { AppError, modelNotFound } from '../errors.ts';
import { hasModel, probeOllama, type OllamaProbe } from '../embeddings/ollama-probe.ts';
import { probeOpenAI, servesModel } from '../embeddings/openai-probe.ts';
import { extractiveNotice, type AnswerModeState } from './answer-engine.ts';
import type { ModelChat } from './chat-stream.ts';

export type ModeConfig = Pick<
  Config,
  | 'llm'
  | 'ollamaHost'
  | 'chatModel'
  | 'embedModel'
  | 'numCtx'
  | 'ollamaTimeoutMs'
  | 'ollamaConnectTimeoutMs'
  | 'ollamaKeepAlive'
  | 'llmProvider'
  | 'openaiBaseUrl'
  | 'openaiEmbedBaseUrl'
  | 'openaiApiKey'
>;

/** The model server as /readyz reports it. */
export interface ModelServerState {
  provider: 'ollama' | 'openai';
  url: string;
  reachable: boolean;
  version?: string;
  missingModels: string[];
  fix?: string;
  error?: string;
}

export interface ModeTracker {
  mode(): AnswerModeState;
  server(): ModelServerState;
  /**
   * The mode for an answer that asks for a chat model of its own (`/ask` `model`, issue 15): that
   * model on the model server when it serves it; `model_not_found` (naming the fix) when the server is
   * there without it, after one fresh look (it may have just been pulled); with the server away, what
   * `mode()` says (extractive with its notice; LLM=ollama|openai tries and fails as `llm_unavailable`).
   */
  modeFor(model: string, signal?: AbortSignal): Promise<AnswerModeState>;
  /** Probes the model server now; resolves with the (possibly changed) mode. */
  check(signal?: AbortSignal): Promise<AnswerModeState>;
  /** The model server just failed an answer: with LLM=auto, answer extractively until the next check says otherwise. */
  markUnavailable(error: AppError): string | undefined;
}

/** How each provider is probed, matched and explained; the rest of the tracker is the same for both. */
interface ProviderWords {
  url: string;
  chat: ModelChat;
  probe(signal?: AbortSignal): Promise<OllamaProbe>;
  serves(models: readonly string[], name: string): boolean;
  /** The fix when the server is not reachable, and when it lacks models. */
  startFix: string;
  serveFix(models: string[]): string;
  /** "Ollama" / "the OpenAI-compatible server at <url>". */
  name: string;
  /** How to get a written answer, for the extractive notice. */
  chatFix: string;
}

function providerWords(config: ModeConfig): ProviderWords {
  const chatBase = { model: config.chatModel, numCtx: config.numCtx, timeoutMs: config.ollamaTimeoutMs };
  if (config.llmProvider === 'openai') {
    const url = config.openaiBaseUrl ?? '';
    return {
      url,
      chat: { mode: 'openai', chat: { baseUrl: url, apiKey: config.openaiApiKey, ...chatBase } },
      probe: (signal) =>
        probeOpenAI({ baseUrl: url, apiKey: config.openaiApiKey, timeoutMs: config.ollamaConnectTimeoutMs, ...(signal ? { signal } : {}) }),
      serves: servesModel,
      startFix: `start the OpenAI-compatible server at ${url}`,
      serveFix: (models) => `serve ${models.join(' and ')} at ${url} (vLLM: vllm serve ${models[0] ?? ''})`,
      name: `the OpenAI-compatible server at ${url}`,
      chatFix: `start the OpenAI-compatible server at ${url} with ${config.chatModel}`,
    };
  }
  return {
    url: config.ollamaHost,
    chat: { mode: 'ollama', chat: { baseUrl: config.ollamaHost, ...chatBase, keepAlive: config.ollamaKeepAlive } },
    probe: (signal) =>
      probeOllama({ baseUrl: config.ollamaHost, timeoutMs: config.ollamaConnectTimeoutMs, ...(signal ? { signal } : {}) }),
    serves: hasModel,
    startFix: 'ollama serve',
    serveFix: (models) => models.map((model) => `ollama pull ${model}`).join(' && '),
    name: 'Ollama',
    chatFix: `start Ollama and run: ollama pull ${config.chatModel}`,
  };
}

/** A missing model is looked for again at most this often (a client could ask for one per request). */
const RECHECK_MISSING_MS = 2_000;

export function createModeTracker(config: ModeConfig, log: (line: string) => void): ModeTracker {
  let probe: OllamaProbe | undefined;
  let probedAt = 0;
  let lastDescription = '';
  const words = providerWords(config);

  // The embedding model is looked for on this server only when embeddings go to it too.
  const neededModels =
    config.llmProvider === 'openai' && config.openaiEmbedBaseUrl !== config.openaiBaseUrl
      ? [config.chatModel]
      : [config.chatModel, config.embedModel];

  const server = (): ModelServerState => {
    const missingModels = probe?.reachable === true ? neededModels.filter((model) => !words.serves(probe?.models ?? [], model)) : [];
    const fix = !probe?.reachable ? words.startFix : missingModels.length > 0 ? words.serveFix(missingModels) : undefined;
    return {
      provider: config.llmProvider,
      url: words.url,
      reachable: probe?.reachable === true,
      ...(probe?.version === undefined ? {} : { version: probe.version }),
      missingModels,
      ...(fix === undefined ? {} : { fix }),
      ...(probe?.error === undefined ? {} : { error: probe.error }),
    };
  };

  const notice = (why: string) => `${extractiveNotice(config.chatModel, words.chatFix)} (${why})`;

  const mode = (): AnswerModeState => {
    if (config.llm === 'none') return { mode: 'extractive', notice: notice(`LLM=none is set: unset it to use ${words.name}`) };
    // LLM=ollama or LLM=openai (config makes it match LLM_PROVIDER): always the server, failures are errors.
    if (config.llm !== 'auto') return words.chat;
    if (probe?.reachable === true && words.serves(probe.models, config.chatModel)) return words.chat;
    const why =
      probe?.reachable === true
        ? `${words.name} has no ${config.chatModel}: ${config.llmProvider === 'ollama' ? 'run ' : ''}${words.serveFix([config.chatModel])}.`
        : `${words.name} is not reachable${config.llmProvider === 'ollama' ? ` at ${config.ollamaHost}` : ''}.`;
    return { mode: 'extractive', notice: notice(why) };
  };

  const check = async (signal?: AbortSignal): Promise<AnswerModeState> => {
    probe = await words.probe(signal);
    probedAt = Date.now();
    logChange();
    return mode();
  };

  const modeFor = async (model: string, signal?: AbortSignal): Promise<AnswerModeState> => {
    if (config.llm === 'none') return mode();
    const asked: AnswerModeState =
      words.chat.mode === 'openai' ? { mode: 'openai', chat: { ...words.chat.chat, model } } : { mode: 'ollama', chat: { ...words.chat.chat, model } };
    if (probe?.reachable === true && !words.serves(probe.models, model) && Date.now() - probedAt >= RECHECK_MISSING_MS) {
      await check(signal);
    }
    if (probe?.reachable !== true) return config.llm === 'auto' ? mode() : asked;
    if (!words.serves(probe.models, model)) {
      throw config.llmProvider === 'ollama'
        ? modelNotFound(model)
        : new AppError('model_not_found', `${words.name} does not serve "${model}": ${words.serveFix([model])}`);
    }
    return asked;
  };

  const describe = () => {
    const current = mode();
    return current.mode !== 'extractive'
      ? `answers by ${words.name} ${current.chat.model}`
      : `answers are extractive (${server().reachable ? 'chat model missing' : `${words.name} unreachable`})`;
  };

  const logChange = () => {
    const description = describe();
    if (description !== lastDescription) {
      log(description);
      lastDescription = description;
    }
  };

  return {
    mode,
    server,
    modeFor,
    check,
    markUnavailable(error) {
      if (config.llm !== 'auto') return undefined;
      probe = { reachable: false, models: [], error: error.message };
      logChange();
      const current = mode();
      return current.mode === 'extractive' ? current.notice : undefined;
    },
  };
}
