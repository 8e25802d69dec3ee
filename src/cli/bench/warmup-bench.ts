/**
 * Warm models (issue 12): the server as users run it, against the stand-in Ollama with a model load
 * delay on each of the chat and embedding models. How long the warm-up takes after start, the first
 * answer once it is done, warm answers, and — for comparison — an answer after the stand-in forgot
 * its loaded models (what every first answer paid before the warm-up). Answers are whole (`done`).
 */
import { startFakeOllama } from '../../../test/support/fake-ollama.ts';
import { ask, pollReadiness, servingQuestions, startServer } from './bench-server.ts';
import { round } from './stats.ts';
import type { BenchWorkspace } from './workspace.ts';

export interface WarmUpFigures {
  chunks: number;
  /** The stand-in's model load delay (each of the chat and embedding models). */
  loadDelayMs: number;
  /** From spawning the server to `/readyz` saying ready, not building and `warming: false`. */
  warmUpSeconds: number;
  /** The first answer after the warm-up. */
  firstAnswerMs: number;
  /** Median of the next answers. */
  warmAnswerMs: number;
  /** firstAnswerMs - warmAnswerMs: the target is at most 1 s. */
  firstOverWarmMs: number;
  /** An answer right after the stand-in unloaded its models (no warm-up to help). */
  coldAnswerMs: number;
}

/** Answers timed after the first: their median is the warm answer. */
const WARM_ANSWERS = 5;

export async function runWarmUpBench(options: {
  workspace: BenchWorkspace;
  size: number;
  loadDelayMs: number;
  tokenDelayMs: number;
  log: (line: string) => void;
}): Promise<WarmUpFigures> {
  const { workspace, size, loadDelayMs, log } = options;
  const fake = await startFakeOllama({ latency: { coldLoadMs: loadDelayMs, tokenMs: options.tokenDelayMs } });
  fake.setChatScript('The notes say so [1].');
  // The first answer, the warm ones, the one after the models were unloaded.
  const questions = await servingQuestions(workspace, size, 1 + WARM_ANSWERS + 1);
  log(`warm-up: the server on the ${size}-chunk corpus with Ollama embeddings, a ${loadDelayMs} ms load per model`);
  const spawned = performance.now();
  // Its own index folder: the Ollama embedder's index is built at start, with the models loading.
  const server = await startServer(workspace, size, fake.url, { EMBEDDINGS: 'ollama', INDEX_DIR: `${workspace.indexDir(size)}-warmup` });
  try {
    await pollReadiness(server.url, (body) => body.ready === true && body.warming === false && body.building === false, 20, 600_000);
    const warmUpSeconds = round((performance.now() - spawned) / 1000, 2);
    const timed = async (question: string): Promise<number> => {
      const result = await ask(server.url, question);
      if (!result.ok) throw new Error(`warm-up bench: an answer failed: ${result.error ?? ''}`);
      return result.finished - result.sent;
    };
    const firstAnswerMs = await timed(questions[0] ?? '');
    const warm: number[] = [];
    for (const question of questions.slice(1, 1 + WARM_ANSWERS)) warm.push(await timed(question));
    warm.sort((a, b) => a - b);
    const warmAnswerMs = warm[Math.floor(warm.length / 2)] ?? Number.NaN;
    // As if Ollama restarted behind the server's back: both models must load again for the next answer.
    fake.setModels(['llama3.2', 'nomic-embed-text']);
    const coldAnswerMs = await timed(questions[1 + WARM_ANSWERS] ?? '');
    return {
      chunks: server.startup.chunks,
      loadDelayMs,
      warmUpSeconds,
      firstAnswerMs: round(firstAnswerMs, 1),
      warmAnswerMs: round(warmAnswerMs, 1),
      firstOverWarmMs: round(firstAnswerMs - warmAnswerMs, 1),
      coldAnswerMs: round(coldAnswerMs, 1),
    };
  } finally {
    await server.stop();
    await fake.close();
  }
}
