/**
 * The quality gate: the shared question sets (../shared/eval, beside the repository as in CI) and
 * our own held-out sets (test/fixtures) on their corpora, through `npm run eval`'s own code
 * (built-in embedder, extractive answers, k=4, hybrid). Each must stay within one question of what
 * the current code reaches (the README's Quality tables), so a regression in ranking, abstention or
 * extractive answers fails CI. Each corpus is indexed once, into a temporary folder. The sets over
 * ../shared/corpora are skipped only when ../shared is absent (ASKNOTES_SHARED_DIR names another copy).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runEvalMethods } from '../src/cli/eval-command.ts';
import { closedPortUrl } from './support/fake-ollama.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const shared = process.env['ASKNOTES_SHARED_DIR'] ?? resolve(root, '../shared');
const fixtures = resolve(root, 'test/fixtures');

interface Reached {
  'hit@1': number;
  'hit@3': number;
  answer: number;
  abstain: number;
  false_abstain: number;
}

interface GateSet {
  name: string;
  /** The corpus, and every question set over it (indexed once). */
  notes: string;
  sets: { questions: string; reached: Reached }[];
}

/** What the current code reaches (hybrid, k=4): the README's Quality tables. */
const CORPORA: GateSet[] = [
  {
    name: 'DockerCon',
    notes: resolve(root, 'notes'),
    sets: [
      { questions: join(fixtures, 'eval-questions.jsonl'), reached: { 'hit@1': 0.875, 'hit@3': 0.969, answer: 0.906, abstain: 1, false_abstain: 0.031 } },
      { questions: join(fixtures, 'eval-more-questions.jsonl'), reached: { 'hit@1': 0.778, 'hit@3': 1, answer: 0.926, abstain: 1, false_abstain: 0 } },
    ],
  },
  {
    name: 'Foam docs',
    notes: join(shared, 'corpora/foam-docs'),
    sets: [
      { questions: join(shared, 'eval/foam-questions.jsonl'), reached: { 'hit@1': 0.5, 'hit@3': 0.7, answer: 0.575, abstain: 0.875, false_abstain: 0.05 } },
      { questions: join(fixtures, 'eval-own-foam-questions.jsonl'), reached: { 'hit@1': 0.467, 'hit@3': 0.667, answer: 0.567, abstain: 0.667, false_abstain: 0 } },
    ],
  },
  {
    name: 'tldr pages',
    notes: join(shared, 'corpora/tldr'),
    sets: [
      { questions: join(shared, 'eval/tldr-questions.jsonl'), reached: { 'hit@1': 0.25, 'hit@3': 0.3, answer: 0.175, abstain: 0.75, false_abstain: 0.15 } },
      { questions: join(fixtures, 'eval-own-tldr-questions.jsonl'), reached: { 'hit@1': 0.308, 'hit@3': 0.462, answer: 0.269, abstain: 0.75, false_abstain: 0 } },
    ],
  },
];

describe('quality gate (hybrid, built-in embedder, extractive answers, k=4)', () => {
  let indexes: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    indexes = await mkdtemp(join(tmpdir(), 'asknotes-quality-'));
    env = { LLM: 'none', EMBEDDINGS: 'local', OLLAMA_HOST: await closedPortUrl() };
  });
  afterAll(async () => {
    if (indexes !== undefined) await rm(indexes, { recursive: true, force: true });
  });

  for (const corpus of CORPORA) {
    it.skipIf(!existsSync(corpus.notes))(`${corpus.name}: every set stays within one question of what it reaches`, async () => {
      for (const { questions, reached } of corpus.sets) {
        const [run] = await runEvalMethods({
          file: questions,
          notes: corpus.notes,
          env: { ...env, INDEX_DIR: join(indexes, corpus.name.replace(/\W+/g, '-')) },
          methods: ['hybrid'],
          k: 4,
        });
        const metrics = run!.metrics;
        // One question's worth of slack on each rate (rounding of the table included).
        const answerable = 1 / metrics.answerable + 0.001;
        const unanswerable = 1 / Math.max(1, metrics.unanswerable) + 0.001;
        const label = `${questions}: ${JSON.stringify(metrics)}`;
        expect(metrics['hit@1'], label).toBeGreaterThanOrEqual(reached['hit@1'] - answerable);
        expect(metrics['hit@3'], label).toBeGreaterThanOrEqual(reached['hit@3'] - answerable);
        expect(metrics.answer, label).toBeGreaterThanOrEqual(reached.answer - answerable);
        expect(metrics.abstain, label).toBeGreaterThanOrEqual(reached.abstain - unanswerable);
        expect(metrics.false_abstain, label).toBeLessThanOrEqual(reached.false_abstain + answerable);
      }
    }, 300_000);
  }
});
