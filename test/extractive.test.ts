/**
 * Extractive answers (pure): sentence splitting, candidate scoring and the composed answer on small
 * hand-made sources with hand-made term weights.
 */
import { describe, expect, it } from 'vitest';
import { queryTerms, type QueryTerms } from '../src/answer/evidence.ts';
import { composeExtractiveAnswer, scoreCandidates, splitSentences, type ExtractSource } from '../src/answer/extractive.ts';

/** Query terms with IDF-like weights from a table (terms as the analyzer writes them), default 1. */
function ask(question: string, weights: Record<string, number> = {}): QueryTerms {
  return queryTerms(question, (term) => weights[term] ?? 1);
}

/** Top-level bullets of an answer with their [n] marker. */
function bullets(answer: string): string[] {
  return answer.split('\n').filter((line) => line.startsWith('- '));
}

function markers(answer: string): number[] {
  return [...answer.matchAll(/\[(\d+)\]/g)].map((match) => Number(match[1]));
}

const COMPOSE_TIPS = [
  '- `depends_on > condition`',
  '  - ```',
  '    depends_on:',
  '      db:',
  '        condition: service_healthy',
  '    ```',
  '    - waits for service to start and be healthy before starting other services',
  '    - default is `service_started`',
  '- `depends_on > required`',
  '  - can fail api service if database service was not defined',
].join('\n');

describe('splitSentences', () => {
  it.each([
    ['', ['']],
    ['One short line. With two sentences.', ['One short line. With two sentences.']],
    ['x'.repeat(240), ['x'.repeat(240)]],
  ])('a line of at most 240 characters stays whole: %j', (text, expected) => {
    expect(splitSentences(text)).toEqual(expected);
  });

  it('a long line is split at sentence ends, keeping every word', () => {
    const sentences = [
      'Docker Scout analyses images for vulnerabilities and policy violations in every layer of the build.',
      'It compares them with the base image and recommends upgrades that remove the most critical issues first.',
      '`docker scout quickview` prints a summary, and the dashboard tracks the trend over many weeks of work.',
    ];
    const parts = splitSentences(sentences.join(' '));
    expect(parts).toEqual(sentences);
  });

  it('does not split inside a version number or after a lower-case word', () => {
    const text = `${'Compose v2.22 adds watch, e.g. for syncing files into running containers without a rebuild; '.repeat(3)}end.`;
    expect(text.length).toBeGreaterThan(240);
    expect(splitSentences(text)).toEqual([text]);
  });
});

describe('scoreCandidates', () => {
  const query = ask('What is the default depends_on condition?', { default: 3, depends_on: 2 });
  const candidates = scoreCandidates(query, [{ n: 1, text: COMPOSE_TIPS }]);

  it('scores are sorted best first and every candidate names its source', () => {
    const scores = candidates.map((candidate) => candidate.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(candidates.every((candidate) => candidate.n === 1 && candidate.text.trim() !== '')).toBe(true);
  });

  it('list markers are removed and fence lines are never candidates', () => {
    for (const candidate of candidates) {
      expect(candidate.text).not.toMatch(/^\s*[-*+]\s/);
      expect(candidate.text).not.toMatch(/^`{3}|^~{3}/);
    }
  });

  it('lines after a code block inside a list item are still read (the fence closes)', () => {
    const texts = candidates.map((candidate) => candidate.text);
    expect(texts).toContain('default is `service_started`');
    expect(texts).toContain('can fail api service if database service was not defined');
  });

  it('a nested item knows its list parent, skipping the code block between them', () => {
    const item = candidates.find((candidate) => candidate.text === 'default is `service_started`');
    expect(item?.parent).toBe('`depends_on > condition`');
  });

  it('the line that answers outscores its parent, which only names the topic', () => {
    const [best] = candidates;
    expect(best?.text).toBe('default is `service_started`');
  });

  it('an earlier source wins a tie (the rank prior only breaks ties)', () => {
    const tied = scoreCandidates(ask('zebra river'), [
      { n: 1, text: 'the zebra and the river' },
      { n: 2, text: 'the river and the zebra' },
    ]);
    expect(tied.map((candidate) => candidate.n)).toEqual([1, 2]);
    expect(tied[0]!.score).toBeGreaterThan(tied[1]!.score);
  });

  it('a better line from a lower-ranked source beats a weak line from the first source', () => {
    const ranked = scoreCandidates(ask('zebra river grazing'), [
      { n: 1, text: 'the river is wide' },
      { n: 2, text: 'a zebra was grazing by the river' },
    ]);
    expect(ranked[0]?.n).toBe(2);
  });

  it("a line inherits the question words of its source's context (note title, path, heading) that it lacks", () => {
    // The question names the tool; only the note's title does, not the line that answers.
    const question = ask('git bisect automate the search with a test script');
    const sources: ExtractSource[] = [
      { n: 1, text: '- Automate the process using a test script:\n\n`git bisect run path/to/script`', context: 'git bisect\ncommon git-bisect' },
      { n: 2, text: '- Automate the search of a test script folder', context: 'find\ncommon find' },
    ];
    expect(scoreCandidates(question, sources)[0]?.n).toBe(1);
    // Without its context the answering line scores lower: the tool's name was the note's.
    const plain = scoreCandidates(question, sources.map(({ n, text }) => ({ n, text })));
    expect(plain[0]!.score).toBeLessThan(scoreCandidates(question, sources)[0]!.score);
  });

  it("a line of a clearly better-retrieved source outweighs an equal line of a weak one", () => {
    const question = ask('zebra river');
    const sources: ExtractSource[] = [
      { n: 1, text: 'the zebra and the river', score: 0.3 },
      { n: 2, text: 'the river and the zebra', score: 0.9 },
    ];
    expect(scoreCandidates(question, sources)[0]?.n).toBe(2);
    // Equal retrieval scores: the rank prior alone decides, as before.
    expect(scoreCandidates(question, sources.map((source) => ({ ...source, score: 0.5 })))[0]?.n).toBe(1);
  });

  it('headings are shown without their # marks', () => {
    const [best] = scoreCandidates(ask('zebra'), [{ n: 3, text: '## Zebra facts\n\nnothing here' }]);
    expect(best?.text).toBe('Zebra facts');
  });
});

describe('composeExtractiveAnswer', () => {
  it.each<{ name: string; question: string; weights?: Record<string, number>; sources: ExtractSource[]; line: string; n: number }>([
    {
      name: 'the default depends_on condition',
      question: 'What is the default depends_on condition?',
      weights: { default: 3, depends_on: 2 },
      sources: [{ n: 1, text: COMPOSE_TIPS }],
      line: 'default is `service_started`',
      n: 1,
    },
    {
      name: 'the answer in the second source',
      question: 'Which course platform did Docker partner with?',
      weights: { cours: 3, partner: 3, platform: 2 },
      sources: [
        { n: 1, text: '- Docker Desktop 4.24\n  - new Builds view\n  - Compose watch is GA' },
        { n: 2, text: '- Learning\n  - New partnership between Docker and Udemy\n    - course platform with accredited content' },
      ],
      line: 'New partnership between Docker and Udemy',
      n: 2,
    },
    {
      name: 'one sentence out of a long paragraph',
      question: 'How long is the GitHub Actions cache size limit?',
      weights: { github: 2, action: 2, cach: 2, size: 3, limit: 3 },
      sources: [
        {
          n: 1,
          text:
            'BuildKit supports several cache backends, among them registry, local, inline and S3 for teams that share builds. ' +
            'The gha backend stores layers in the GitHub Actions cache, which has a size limit of 10GB per repository. ' +
            'Older entries are evicted first when the limit is reached, so keep the cache small and scoped to one branch.',
        },
      ],
      line: 'size limit of 10GB',
      n: 1,
    },
  ])('$name: the line that answers is shown with its [n] marker', ({ question, weights, sources, line, n }) => {
    const { answer, cited } = composeExtractiveAnswer(ask(question, weights), sources);
    const shown = bullets(answer).find((bullet) => bullet.includes(line));
    expect(shown, answer).toBeDefined();
    expect(shown).toContain(`[${n}]`);
    expect(cited).toContain(n);
  });

  it('a short list item is shown with its parent, so it reads on its own', () => {
    const { answer } = composeExtractiveAnswer(ask('What is the default depends_on condition?', { default: 3, depends_on: 2 }), [
      { n: 1, text: COMPOSE_TIPS },
    ]);
    const shown = bullets(answer).find((bullet) => bullet.includes('default is `service_started`'));
    expect(shown).toContain('depends_on > condition');
  });

  it('a long paragraph sentence is shown without its neighbours', () => {
    const long =
      'BuildKit supports several cache backends, among them registry, local, inline and S3 for teams that share builds. ' +
      'The gha backend stores layers in the GitHub Actions cache, which has a size limit of 10GB per repository. ' +
      'Older entries are evicted first when the limit is reached, so keep the cache small and scoped to one branch.';
    const { answer } = composeExtractiveAnswer(ask('GitHub Actions cache size limit', { size: 3, limit: 3 }), [{ n: 1, text: long }]);
    expect(bullets(answer)[0]).toContain('size limit of 10GB');
    expect(bullets(answer)[0]).not.toContain('BuildKit supports');
  });

  it('stays short: three picks at most (the best with its two neighbours: five bullets), every marker cited, cited sorted and unique', () => {
    const sources: ExtractSource[] = [1, 2, 3, 4].map((n) => ({
      n,
      text: Array.from({ length: 6 }, (_, line) => `- zebra river fact ${n}.${line}: zebras drink from the river`).join('\n'),
    }));
    const { answer, cited } = composeExtractiveAnswer(ask('zebra river'), sources);
    expect(bullets(answer).length).toBeGreaterThan(0);
    expect(bullets(answer).length).toBeLessThanOrEqual(5);
    expect(answer.length).toBeLessThanOrEqual(700);
    for (const bullet of bullets(answer)) expect(bullet).toMatch(/\[\d+\]/);
    expect(cited).toEqual([...new Set(markers(answer))].sort((a, b) => a - b));
  });

  it('the same line found in two sources is shown once', () => {
    const text = '- compose watch syncs files into running containers';
    const { answer } = composeExtractiveAnswer(ask('compose watch sync files'), [
      { n: 1, text },
      { n: 2, text },
    ]);
    expect(bullets(answer).filter((bullet) => bullet.includes('compose watch syncs files'))).toHaveLength(1);
  });

  it('shows a line\'s sub-items past its code block, each cited, and no extra line that only repeats words on screen', () => {
    const { answer } = composeExtractiveAnswer(ask('default depends_on condition'), [{ n: 1, text: COMPOSE_TIPS }]);
    expect(answer).toContain('  - default is `service_started` [1]');
    // `depends_on:` (a line of the code block) adds no word the answer does not already show.
    expect(answer).not.toMatch(/`depends_on:`/);
  });

  it('no word of the question in any source: the first line of the best source, cited', () => {
    const { answer, cited } = composeExtractiveAnswer(ask('zebra'), [
      { n: 1, text: '\n- Compose watch syncs files\n- more' },
      { n: 2, text: 'other' },
    ]);
    expect(answer).toBe('- Compose watch syncs files [1]');
    expect(cited).toEqual([1]);
  });

  it('no sources: an empty answer citing nothing', () => {
    expect(composeExtractiveAnswer(ask('zebra'), [])).toEqual({ answer: '', cited: [] });
  });
});

describe('a line that introduces what follows it', () => {
  const TLDR_PAGE = [
    '# systemctl enable',
    '',
    '> Enable units to start at boot.',
    '',
    '- Enable a service to run on boot and start it now:',
    '',
    '`systemctl enable --now {{unit}}`',
    '',
    '- Show whether a service is enabled:',
    '',
    '`systemctl is-enabled {{unit}}`',
  ].join('\n');

  it('tldr layout: the description line brings the command under it, not the neighbouring items', () => {
    const { answer } = composeExtractiveAnswer(ask('How do I make a service run on boot and start it right now?'), [{ n: 1, text: TLDR_PAGE }]);
    const [first] = answer.split('\n- ');
    expect(first).toContain('Enable a service to run on boot and start it now');
    expect(first).toContain('`systemctl enable --now {{unit}}` [1]');
    expect(first).not.toContain('is-enabled');
  });

  it('a sentence before a code block brings the block’s first lines', () => {
    const text = ['Use the variable in your template:', '', '```yaml', 'filepath: ${FOAM_CURRENT_DIR}/note.md', 'title: x', 'more: y', '```'].join('\n');
    const { answer } = composeExtractiveAnswer(ask('Which variable goes in the template?'), [{ n: 2, text }]);
    expect(answer).toContain('`filepath: ${FOAM_CURRENT_DIR}/note.md` [2]');
    expect(answer).not.toContain('more: y');
  });

  it.each([
    ['no colon: nothing is introduced', ['- Enable a service at boot', '', '`systemctl enable {{unit}}`']],
    ['the next line is another item', ['- Enable a service at boot:', '- Disable it:']],
    ['the next line is a heading', ['Enable a service at boot:', '', '## Disabling']],
  ])('%s', (_name, lines) => {
    const [best] = scoreCandidates(ask('enable service boot'), [{ n: 1, text: lines.join('\n') }]);
    expect(best?.follows).toEqual([]);
  });
});
