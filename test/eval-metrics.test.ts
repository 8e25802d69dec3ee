/**
 * Question-set scoring as ../shared/eval/README.md defines it (pure, tables), and one small run of
 * `runEval` through the real answer function.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  defaultQuestionSet,
  evalIndexDir,
  formatComparison,
  formatMetrics,
  parseMethods,
  runEval,
  runEvalCommand,
  runEvalMethods,
} from '../src/cli/eval-command.ts';
import {
  containsAnswer,
  firstRelevantRank,
  normaliseForEval,
  parseQuestionSet,
  scoreOutcomes,
  type EvalOutcome,
} from '../src/cli/eval-metrics.ts';
import { buildNotesIndex, type NotesIndex } from './support/answer-fixtures.ts';
import { closedPortUrl } from './support/fake-ollama.ts';

describe('normaliseForEval', () => {
  it.each([
    ['Default is `service_started`', 'default is servicestarted'],
    ['**Bold**  and *italic*', 'bold and italic'],
    ['## A heading', 'a heading'],
    ['> a quote\n> over lines', 'a quote over lines'],
    ['"double quotes" go, \'single\' stay', "double quotes go, 'single' stay"],
    ['  tabs\tand\n\nnewlines  ', 'tabs and newlines'],
    ['--dry-run, v2.22 & 10GB!', '--dry-run, v2.22 & 10gb!'],
    ['', ''],
  ])('%j -> %j', (text, normalised) => {
    expect(normaliseForEval(text)).toBe(normalised);
  });
});

describe('firstRelevantRank', () => {
  it.each<{ name: string; evidence: string[]; sources: string[]; rank: number }>([
    { name: 'no sources', evidence: ['x'], sources: [], rank: 0 },
    { name: 'no source is relevant', evidence: ['shared cache'], sources: ['a', 'b'], rank: 0 },
    { name: 'first source', evidence: ['shared cache'], sources: ['uses a shared cache among team', 'b'], rank: 1 },
    { name: 'third source', evidence: ['shared cache'], sources: ['a', 'b', 'shared cache'], rank: 3 },
    { name: 'the earliest relevant source counts', evidence: ['cache'], sources: ['a', 'cache 1', 'cache 2'], rank: 2 },
    { name: 'any evidence string', evidence: ['nope', 'udemy'], sources: ['a', 'partnership between Docker and Udemy'], rank: 2 },
    {
      name: 'Markdown and case are normalised on both sides',
      evidence: ['default is `service_started`'],
      sources: ['    - **Default** is service_started'],
      rank: 1,
    },
    {
      name: 'white space runs and line breaks are collapsed',
      evidence: ['size limit of 10gb'],
      sources: ['a size\n  limit of   10GB here'],
      rank: 1,
    },
  ])('$name -> $rank', ({ evidence, sources, rank }) => {
    expect(firstRelevantRank({ evidence }, sources.map((text) => ({ note: 'a.md', text })))).toBe(rank);
  });

  it.each<{ name: string; note: string | undefined; sources: [string, string][]; rank: number }>([
    { name: 'without a note, any note counts', note: undefined, sources: [['x.md', 'the needle'], ['a.md', 'needle']], rank: 1 },
    { name: 'the evidence from another note does not count', note: 'a.md', sources: [['x.md', 'the needle'], ['a.md', 'needle']], rank: 2 },
    { name: 'the note without the evidence does not count', note: 'a.md', sources: [['a.md', 'hay'], ['x.md', 'needle']], rank: 0 },
    { name: 'paths compare exactly', note: 'dir/a.md', sources: [['a.md', 'needle'], ['dir/a.md', 'needle']], rank: 2 },
  ])('with a note: $name -> $rank', ({ note, sources, rank }) => {
    const found = firstRelevantRank({ evidence: ['needle'], note }, sources.map(([source, text]) => ({ note: source, text })));
    expect(found).toBe(rank);
  });
});

describe('containsAnswer', () => {
  it.each<[string[], string, boolean]>([
    [['service_started'], '- default is `service_started` [1]', true],
    [['10gb'], 'The limit is 10 GB [2]', false],
    [['udemy', 'coursera'], 'A partnership with **Udemy** [1]', true],
    [['dry-run'], 'Use `docker compose up --dry-run` [3]', true],
    [['anything'], '', false],
  ])('%j in %j -> %s', (expected, answer, contains) => {
    expect(containsAnswer(expected, answer)).toBe(contains);
  });
});

describe('scoreOutcomes', () => {
  const answerable = (id: string, sources: string[], answer: string, isAnswerable = true): EvalOutcome => ({
    question: { id, question: `question ${id}`, evidence: ['needle'], answer: ['forty two'] },
    sources: sources.map((text) => ({ note: 'a.md', text })),
    answer,
    answerable: isAnswerable,
  });
  const unanswerable = (id: string, isAnswerable: boolean): EvalOutcome => ({
    question: { id, question: `question ${id}`, unanswerable: true },
    sources: [{ note: 'a.md', text: 'whatever' }],
    answer: isAnswerable ? 'made up' : 'Your notes do not cover this.',
    answerable: isAnswerable,
  });

  const outcomes: EvalOutcome[] = [
    answerable('a1', ['needle here', 'x', 'y', 'z'], 'It is forty two [1]'),
    answerable('a2', ['x', 'needle', 'y', 'z'], 'Forty  Two [2]'),
    answerable('a3', ['x', 'y', 'z', 'a needle'], 'no idea [1]'),
    answerable('a4', ['x', 'y', 'z', 'w'], 'forty two, but abstained', false),
    unanswerable('u1', false),
    unanswerable('u2', true),
  ];
  const { metrics, missed } = scoreOutcomes(outcomes);

  it.each([
    ['questions', 6],
    ['answerable', 4],
    ['unanswerable', 2],
    ['hit@1', 1 / 4],
    ['hit@3', 2 / 4],
    ['hit@k', 3 / 4],
    ['MRR', (1 + 1 / 2 + 1 / 4) / 4],
    // An abstained answer never counts as containing the answer, even if its text does.
    ['answer', 2 / 4],
    ['abstain', 1 / 2],
    ['false_abstain', 1 / 4],
  ] as const)('%s = %f', (name, value) => {
    expect(metrics[name]).toBeCloseTo(value, 12);
  });

  it('mean source length is over the answerable questions only', () => {
    const chars = outcomes.slice(0, 4).flatMap((outcome) => outcome.sources).map((source) => source.text.length);
    expect(metrics.mean_source_chars).toBeCloseTo(chars.reduce((sum, length) => sum + length, 0) / chars.length, 12);
  });

  it('lists every miss with the reason', () => {
    expect(missed).toEqual([
      { id: 'a2', why: 'first relevant source at rank 2' },
      { id: 'a3', why: 'first relevant source at rank 4; answer lacks the expected text' },
      { id: 'a4', why: 'no relevant source; abstained' },
      { id: 'u2', why: 'answered an unanswerable question' },
    ]);
  });

  it('a miss from the named note is told apart as "right note, wrong chunk"', () => {
    const withNote = (id: string, notes: string[]): EvalOutcome => ({
      question: { id, question: `question ${id}`, note: 'a.md', evidence: ['needle'], answer: ['x'] },
      sources: notes.map((note) => ({ note, text: 'hay' })),
      answer: 'x',
      answerable: true,
    });
    const scored = scoreOutcomes([withNote('w1', ['b.md', 'a.md']), withNote('w2', ['b.md', 'c.md'])]);
    expect(scored.metrics.wrong_chunk).toBe(0.5);
    expect(scored.missed).toEqual([
      { id: 'w1', why: 'right note, wrong chunk' },
      { id: 'w2', why: 'no relevant source' },
    ]);
  });

  it('an empty set scores zeros, not NaN', () => {
    const empty = scoreOutcomes([]).metrics;
    for (const value of Object.values(empty)) expect(value).toBe(0);
  });

  it('formatMetrics prints every metric the README names', () => {
    const text = formatMetrics(metrics, 4);
    for (const name of ['hit@1', 'hit@3', 'hit@k', 'MRR', 'answer', 'abstain', 'false_abstain', 'wrong_chunk']) expect(text).toContain(name);
    expect(text).toContain('k=4');
    expect(text).toContain('0.250');
  });
});

describe('parseQuestionSet', () => {
  it('reads both kinds of line and skips blank lines', () => {
    const questions = parseQuestionSet(
      [
        '{"id": "k1", "question": "Q?", "evidence": ["e"], "answer": ["a"]}',
        '',
        '{"id": "u1", "question": "Nope?", "unanswerable": true}',
        '   ',
      ].join('\n'),
    );
    expect(questions).toEqual([
      { id: 'k1', question: 'Q?', evidence: ['e'], answer: ['a'] },
      { id: 'u1', question: 'Nope?', unanswerable: true },
    ]);
  });

  it.each([
    ['{"id": "k1", "question": "Q?"}', /line 2/],
    ['{"id": "k1", "question": "Q?", "evidence": [], "answer": ["a"]}', /line 2/],
    ['{"id": "k1", "question": "", "unanswerable": true}', /line 2/],
  ])('an invalid line is reported with its number: %s', (line, message) => {
    expect(() => parseQuestionSet(`{"id": "ok", "question": "Q?", "unanswerable": true}\n${line}`)).toThrow(message);
  });

  it('the bundled question set (and the shared one, when present) parse', async () => {
    const bundled = parseQuestionSet(await readFile(new URL('./fixtures/eval-questions.jsonl', import.meta.url), 'utf8'));
    expect(bundled.length).toBeGreaterThan(10);
    expect(bundled.some((question) => 'unanswerable' in question)).toBe(true);
    expect(existsSync(defaultQuestionSet())).toBe(true);
    expect(parseQuestionSet(await readFile(defaultQuestionSet(), 'utf8')).length).toBeGreaterThan(10);
  });
});

describe('runEval through the answer function', () => {
  let notes: NotesIndex;
  beforeAll(async () => {
    notes = await buildNotesIndex();
  });
  afterAll(async () => {
    await notes?.cleanup();
  });

  it('scores a small question set with extractive answers', async () => {
    const file = join(notes.directory, 'questions.jsonl');
    await writeFile(
      file,
      [
        { id: 'q1', question: 'What is the default depends_on condition in compose?', evidence: ['default is service_started'], answer: ['service_started'] },
        { id: 'q2', question: 'What is the capital of France?', unanswerable: true },
      ]
        .map((line) => JSON.stringify(line))
        .join('\n'),
    );
    const env = {
      NOTES_DIR: notes.notesDir,
      INDEX_DIR: notes.indexDir,
      LLM: 'none',
      EMBEDDINGS: 'local',
      OLLAMA_HOST: await closedPortUrl(),
    };
    const result = await runEval({ file, env, k: 3 });
    expect(result.k).toBe(3);
    expect(result.outcomes.map((outcome) => outcome.sources.length)).toEqual([3, 3]);
    expect(result.metrics).toMatchObject({ questions: 2, answerable: 1, unanswerable: 1, 'hit@k': 1, answer: 1, abstain: 1, false_abstain: 0 });
    expect(result.missed.filter((miss) => miss.why !== 'first relevant source at rank 2')).toEqual([]);
  });

  it('--notes runs the set on that folder, with a note named per question, once per method over one index', async () => {
    const file = join(notes.directory, 'noted.jsonl');
    const question = 'What is the default depends_on condition in compose?';
    await writeFile(
      file,
      [
        { id: 'right', question, note: 'dockercon-2023.md', evidence: ['default is service_started'], answer: ['service_started'] },
        { id: 'wrong', question, note: 'elsewhere.md', evidence: ['default is service_started'], answer: ['service_started'] },
      ]
        .map((line) => JSON.stringify(line))
        .join('\n'),
    );
    // NOTES_DIR points nowhere: only --notes can make this work.
    const env = { NOTES_DIR: '/nonexistent/asknotes', INDEX_DIR: notes.indexDir, LLM: 'none', EMBEDDINGS: 'local', OLLAMA_HOST: await closedPortUrl() };
    const runs = await runEvalMethods({ file, env, notes: notes.notesDir, methods: ['hybrid', 'keyword'], k: 4 });
    expect(runs.map((run) => run.method)).toEqual(['hybrid', 'keyword']);
    for (const run of runs) {
      expect(run.outcomes[0]?.sources.every((source) => source.note === 'dockercon-2023.md')).toBe(true);
      // The same sources, but the second question names another note: nothing is relevant.
      expect(run.metrics['hit@k']).toBe(0.5);
      expect(run.missed.map((miss) => miss.id)).toContain('wrong');
    }
  });
});

describe('eval options', () => {
  it.each<[string, string[] | undefined]>([
    ['hybrid', ['hybrid']],
    ['all', ['hybrid', 'vector', 'keyword']],
    ['keyword,hybrid', ['keyword', 'hybrid']],
    ['vector, vector', ['vector']],
    ['bm25', undefined],
    ['hybrid,', undefined],
  ])('--method %j -> %j', (value, methods) => {
    expect(parseMethods(value)).toEqual(methods);
  });

  it('a notes folder named by --notes gets an index folder of its own, stable per folder', () => {
    const foam = evalIndexDir('/data/corpora/foam-docs');
    expect(foam).toMatch(/index[\\/]eval[\\/]foam-docs-[0-9a-f]{8}$/);
    expect(evalIndexDir('/data/corpora/foam-docs/')).toBe(foam);
    expect(evalIndexDir('/elsewhere/foam-docs')).not.toBe(foam);
  });

  it('formatComparison prints one row per method', () => {
    const metrics = scoreOutcomes([]).metrics;
    const text = formatComparison([
      { method: 'hybrid', metrics: { ...metrics, 'hit@1': 0.5 } },
      { method: 'keyword', metrics },
    ]);
    const lines = text.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^method\s+hit@1\s+hit@3/);
    expect(lines[1]).toMatch(/^hybrid\s+0\.500\s/);
    expect(lines[2]).toMatch(/^keyword\s+0\.000\s/);
  });
});

describe('runEvalCommand arguments', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it.each([
    [['--k', 'abc'], /--k must be/],
    [['--k', '0'], /--k must be/],
    [['--k', '2.5'], /--k must be/],
    [['--method', 'bm25'], /--method must be/],
  ])('%j exits with 2 before running anything', async (argv, message) => {
    let written = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written += chunk.toString();
      return true;
    });
    // A bad NOTES_DIR proves nothing was opened: the arguments are rejected first.
    expect(await runEvalCommand(argv, { NOTES_DIR: '/nonexistent/asknotes', LLM: 'none', EMBEDDINGS: 'local' })).toBe(2);
    expect(written).toMatch(message);
  });
});
