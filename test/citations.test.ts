/**
 * Citation markers in the forms local models write them (issue 12): normalised to `[n]`, numbers
 * naming no source dropped, code left alone, and the streaming form adding up to the whole.
 */
import { describe, expect, it } from 'vitest';
import { CitationStream, normaliseCitations, settledLength } from '../src/answer/citations.ts';

const SOURCES = [1, 2, 3, 4];

describe('normaliseCitations', () => {
  it.each<[string, string, string, number[]]>([
    ['[n]', 'The default is service_started [1].', 'The default is service_started [1].', [1]],
    ['[1, 2]', 'Both say so [1, 2].', 'Both say so [1][2].', [1, 2]],
    ['[1,2] without space', 'Both [2,1].', 'Both [2][1].', [2, 1]],
    ['[1][2]', 'Both say so [1][2].', 'Both say so [1][2].', [1, 2]],
    ['[1-3]', 'All three [1-3].', 'All three [1][2][3].', [1, 2, 3]],
    ['[1–3] en dash', 'All three [1–3].', 'All three [1][2][3].', [1, 2, 3]],
    ['[^1] footnote', 'Watch syncs files[^1].', 'Watch syncs files[1].', [1]],
    ['footnote definitions dropped', 'Watch syncs files [^2].\n\n[^2]: Source 2, dockercon-2023.md\n', 'Watch syncs files [2].\n\n', [2]],
    ['【1】', 'Scout is GA【1】.', 'Scout is GA[1].', [1]],
    ['【2†L3-L9】', 'Scout is GA 【2†L3-L9】.', 'Scout is GA [2].', [2]],
    ['Source 1', 'According to Source 1, watch syncs files.', 'According to [1], watch syncs files.', [1]],
    ['(Source 1)', 'Watch syncs files (Source 1).', 'Watch syncs files [1].', [1]],
    ['(Sources 1 and 3)', 'It does (Sources 1 and 3).', 'It does [1][3].', [1, 3]],
    ['(see source 2)', 'It does (see source 2).', 'It does [2].', [2]],
    ['source #1', 'As source #4 says, yes.', 'As [4] says, yes.', [4]],
    ['Sources 1, 2 and 4', 'Sources 1, 2 and 4 agree.', '[1][2][4] agree.', [1, 2, 4]],
    ['[Source 1, Source 2]', 'Yes [Source 1, Source 2].', 'Yes [1][2].', [1, 2]],
    ['[source: 3]', 'Yes [source: 3].', 'Yes [3].', [3]],
    ['(1) after a claim', 'Watch syncs files (1).', 'Watch syncs files [1].', [1]],
    ['(1, 2) at line end', 'Watch syncs files (1, 2)\nNext.', 'Watch syncs files [1][2]\nNext.', [1, 2]],
    ['(1) enumeration mid-sentence stays', 'You can (1) pin versions, (2) cache layers.', 'You can (1) pin versions, (2) cache layers.', []],
    ['(1) list markers stay', '(1) pin versions\n(2) cache layers', '(1) pin versions\n(2) cache layers', []],
    ['f(1) stays', 'Then f(1) = 2.', 'Then f(1) = 2.', []],
    ['(2023) is not a source', 'It shipped in 2023 (2023).', 'It shipped in 2023 (2023).', []],
    ['[9] dropped', 'A claim [9].', 'A claim.', []],
    ['[0] dropped, [1, 9] keeps 1', 'Zero [0] and one [1, 9].', 'Zero and one [1].', [1]],
    ['【7】 dropped', 'A claim 【7】.', 'A claim.', []],
    ['(Source 9) dropped', 'A claim (Source 9).', 'A claim.', []],
    ['Source 9 stays as words', 'Source 9 says so.', 'Source 9 says so.', []],
    ['a link is not a citation', 'See [1](https://example.com).', 'See [1](https://example.com).', []],
    ['(1) right after a code span', 'It is `service_started` (1).', 'It is `service_started` [1].', [1]],
    ['inline code untouched', 'Use `arr[1]` here [2].', 'Use `arr[1]` here [2].', [2]],
    ['fenced code untouched', '```js\nconst x = a[1];\n```\nSo [1].', '```js\nconst x = a[1];\n```\nSo [1].', [1]],
    ['repeats counted once, order of first use', 'B [2]. A [1]. B again [2].', 'B [2]. A [1]. B again [2].', [2, 1]],
    ['a wide range is not expanded', 'Everything [1-99].', 'Everything.', []],
    ['nothing to cite', 'No citations at all.', 'No citations at all.', []],
    ['empty', '', '', []],
  ])('%s', (_form, answer, text, cited) => {
    expect(normaliseCitations(answer, SOURCES)).toEqual({ text, cited });
  });

  it('with no sources every bracketed number is dropped and nothing is cited', () => {
    expect(normaliseCitations('Yes [1]. Also Source 2.', [])).toEqual({ text: 'Yes. Also Source 2.', cited: [] });
  });
});

describe('CitationStream', () => {
  const answers = [
    'According to Source 1, watch syncs files (Source 2). Both agree [1, 2]; not [9].',
    'Use `arr[1]` and then (1).\n```\nx [2]\n```\nDone [^3]【4】 and (3, 4)\n[^3]: Source 3\n',
    'Sources 1 and 3 say so, and source #2 too. You can (1) pin, (2) cache.',
  ];
  it.each(answers)('every split point adds up to the normalised whole: %j', (answer) => {
    const whole = normaliseCitations(answer, SOURCES);
    for (let cut = 0; cut <= answer.length; cut++) {
      const stream = new CitationStream(SOURCES);
      const pieces = [stream.push(answer.slice(0, cut)), stream.push(answer.slice(cut))];
      const end = stream.end();
      expect(end).toEqual(whole);
      expect(stream.sent).toBe(whole.text);
      expect(whole.text.startsWith(pieces.join(''))).toBe(true);
    }
  });

  it.each(answers)('one character at a time adds up too: %j', (answer) => {
    const stream = new CitationStream(SOURCES);
    let sent = '';
    for (const char of answer) sent += stream.push(char);
    const whole = normaliseCitations(answer, SOURCES);
    expect(whole.text.startsWith(sent)).toBe(true);
    stream.end();
    expect(stream.sent).toBe(whole.text);
  });

  it.each<[string, string]>([
    ['Watch syncs [', 'Watch syncs'],
    ['Watch syncs [1]', 'Watch syncs'],
    ['Watch syncs [1] and', 'Watch syncs [1] and'],
    ['As Sou', 'As'],
    ['As Source 1 and', 'As'],
    ['Use `arr[1', 'Use'],
    ['``', ''],
    ['trailing spaces   ', 'trailing spaces'],
  ])('holds back what may still become a citation: %j', (raw, settled) => {
    expect(raw.slice(0, settledLength(raw))).toBe(settled);
  });
});
