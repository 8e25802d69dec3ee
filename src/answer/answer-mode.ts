/**
 * Which answerer serves the next question (SPEC `LLM`): `auto` = Ollama when reachable and CHAT_MODEL is
 * installed, else extractive; `ollama` = always Ollama (failures become errors); `none` = extractive.
 * The tracker re-probes Ollama when asked (main.ts does so periodically) and logs one line per switch.
 */
import type { Config } from '../config.ts';
import type { AppError } from '../errors.ts';
import { hasModel, probeOllama, type OllamaProbe } from '../embeddings/ollama-probe.ts';
import { extractiveNotice, type AnswerModeState } from './answer-engine.ts';

export type ModeConfig = Pick<
  Config,
  'llm' | 'ollamaHost' | 'chatModel' | 'embedModel' | 'numCtx' | 'ollamaTimeoutMs' | 'ollamaConnectTimeoutMs'
>;

export interface OllamaState {
  url: string;
  reachable: boolean;
  version?: string;
  missingModels: string[];
  fix?: string;
  error?: string;
}

export interface ModeTracker {
  mode(): AnswerModeState;
  ollama(): OllamaState;
  /** Probes Ollama now; resolves with the (possibly changed) mode. */
  check(signal?: AbortSignal): Promise<AnswerModeState>;
  /** Ollama just failed an answer: with LLM=auto, answer extractively until the next check says otherwise. */
  markUnavailable(error: AppError): string | undefined;
}

export function createModeTracker(config: ModeConfig, log: (line: string) => void): ModeTracker {
  let probe: OllamaProbe | undefined;
  let lastDescription = '';
  const chat = {
    baseUrl: config.ollamaHost,
    model: config.chatModel,
    numCtx: config.numCtx,
    timeoutMs: config.ollamaTimeoutMs,
  };

  const ollama = (): OllamaState => {
    const missingModels =
      probe?.reachable === true
        ? [config.chatModel, config.embedModel].filter((model) => !hasModel(probe?.models ?? [], model))
        : [];
    const fix = !probe?.reachable
      ? 'ollama serve'
      : missingModels.length > 0
        ? missingModels.map((model) => `ollama pull ${model}`).join(' && ')
        : undefined;
    return {
      url: config.ollamaHost,
      reachable: probe?.reachable === true,
      ...(probe?.version === undefined ? {} : { version: probe.version }),
      missingModels,
      ...(fix === undefined ? {} : { fix }),
      ...(probe?.error === undefined ? {} : { error: probe.error }),
    };
  };

  const mode = (): AnswerModeState => {
    if (config.llm === 'none') {
      return { mode: 'extractive', notice: `${extractiveNotice(config.chatModel)} (LLM=none is set: unset it to use Ollama)` };
    }
    if (config.llm === 'ollama') return { mode: 'ollama', chat };
    if (probe?.reachable === true && hasModel(probe.models, config.chatModel)) return { mode: 'ollama', chat };
    const why =
      probe?.reachable === true
        ? `Ollama has no ${config.chatModel}: run ollama pull ${config.chatModel}`
        : `Ollama is not reachable at ${config.ollamaHost}`;
    return { mode: 'extractive', notice: `${extractiveNotice(config.chatModel)} (${why}.)` };
  };

  const describe = () => {
    const current = mode();
    return current.mode === 'ollama' ? `answers by Ollama ${current.chat.model}` : `answers are extractive (${ollama().reachable ? 'chat model missing' : 'Ollama unreachable'})`;
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
    ollama,
    async check(signal) {
      probe = await probeOllama({
        baseUrl: config.ollamaHost,
        timeoutMs: config.ollamaConnectTimeoutMs,
        ...(signal ? { signal } : {}),
      });
      logChange();
      return mode();
    },
    markUnavailable(error) {
      if (config.llm !== 'auto') return undefined;
      probe = { reachable: false, models: [], error: error.message };
      logChange();
      const current = mode();
      return current.mode === 'extractive' ? current.notice : undefined;
    },
  };
}
