import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CHUNKER_VERSION,
  chunkMarkdown,
  splitFrontMatter,
  splitLongLine,
  type Chunk,
  type ChunkOptions,
  type MarkdownNote,
} from '../src/notes/chunk-markdown.ts';
import { parseNote, type Note } from '../src/notes/load-notes.ts';

const SAMPLE_TEXT = readFileSync(new URL('../notes/dockercon-2023.md', import.meta.url), 'utf8');
const sample: MarkdownNote = { path: 'dockercon-2023.md', title: 'DockerCon 2023', text: SAMPLE_TEXT };

function fixture(path: string): Note {
  const note = parseNote(path, readFileSync(new URL(`fixtures/notes/${path}`, import.meta.url)));
  if ('reason' in note) throw new Error(note.reason);
  return note;
}

function note(text: string, title = 'Note', path = 'note.md'): MarkdownNote {
  return { path, title, text };
}

/** The file's lines, computed independently of the chunker: BOM dropped, split at LF or CRLF. */
function fileLines(text: string): string[] {
  return text.replace(/^\uFEFF/, '').split(/\r?\n/);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const FENCE_LINE = /^[ \t>]*(?:(?:[-*+]|\d+[.)])[ \t]+)*(```|~~~)/m;

/** The invariants every chunking must keep, for any note. */
function expectValidChunks(source: MarkdownNote, chunks: Chunk[], options: ChunkOptions = {}): void {
  const lines = fileLines(source.text);
  const bodyStart = splitFrontMatter(source.text).lineCount + 1;
  const maxChars = options.maxChars ?? 1200;
  const covered = new Set<number>();
  let previousStart = 0;
  for (const chunk of chunks) {
    const [start, end] = chunk.lines;
    expect(start).toBeGreaterThanOrEqual(bodyStart); // never front matter
    expect(end).toBeGreaterThanOrEqual(start);
    expect(end).toBeLessThanOrEqual(lines.length);
    expect(start).toBeGreaterThanOrEqual(previousStart);
    previousStart = start;
    const exact = lines.slice(start - 1, end).join('\n');
    if (chunk.slice === undefined) {
      expect(chunk.text).toBe(exact);
      expect(lines[start - 1]?.trim()).not.toBe('');
      expect(lines[end - 1]?.trim()).not.toBe('');
    } else {
      // Only a single over-long line is cut; its parts are exact substrings of that line.
      expect(start).toBe(end);
      expect(exact.length).toBeGreaterThan(maxChars);
      expect(chunk.text).toBe(exact.slice(chunk.slice[0], chunk.slice[1]));
    }
    expect(chunk.text.trim()).not.toBe('');
    expect(chunk.text).not.toContain('\r');
    expect(chunk.text).not.toMatch(LONE_SURROGATE);
    if (chunk.text.length > maxChars) expect(chunk.text).toMatch(FENCE_LINE); // only a fence may be longer
    expect(chunk.note).toBe(source.path);
    expect(chunk.id).toMatch(/^[0-9a-f]{20}$/);
    expect(chunk.embedText.startsWith(`${source.title}\n`)).toBe(true);
    // Title and heading, the text, then (for a later chunk of a section) its one-line opening.
    const textAt = chunk.embedText.indexOf(`\n\n${chunk.text}`);
    expect(textAt).toBeGreaterThan(0);
    expect(chunk.embedText.slice(textAt + 2 + chunk.text.length)).toMatch(/^(?:\n\n[^\n]{1,120})?$/);
    for (let line = start; line <= end; line += 1) covered.add(line);
  }
  expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(chunks.length);
  // Nothing the author wrote is lost: every non-blank body line is in some chunk.
  lines.forEach((line, index) => {
    if (index + 1 >= bodyStart && line.trim() !== '') expect(covered.has(index + 1), `line ${index + 1}`).toBe(true);
  });
}

/** The 1-based line ranges of the fences in a note (opening and closing line). */
function fenceRanges(text: string): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  let open: { line: number; marker: string } | undefined;
  fileLines(text).forEach((line, index) => {
    const rest = line.replace(/^[ \t>]*(?:(?:[-*+]|\d+[.)])[ \t]+)*/, '');
    const match = /^(`{3,}|~{3,})/.exec(rest);
    if (open === undefined && match?.[1] !== undefined) {
      open = { line: index + 1, marker: match[1] };
    } else if (open !== undefined && line.trim().startsWith(open.marker) && /^[`~]+$/.test(line.trim())) {
      ranges.push([open.line, index + 1]);
      open = undefined;
    }
  });
  return ranges;
}

function expectFencesWhole(text: string, chunks: Chunk[]): void {
  const fences = fenceRanges(text);
  expect(fences.length).toBeGreaterThan(0);
  for (const [open, close] of fences) {
    for (const { lines: [start, end] } of chunks) {
      // A chunk either contains the whole fence or none of it.
      const overlaps = start <= close && end >= open;
      if (overlaps) expect([start <= open, end >= close], `fence ${open}-${close} vs ${start}-${end}`).toEqual([true, true]);
    }
  }
}

describe('chunkMarkdown: heading paths', () => {
  it.each([
    {
      name: 'sections under the title heading (title left out of paths)',
      text: '# Note\n\n## Alpha\n\nalpha body\n\n## Beta\n\nbeta body\n',
      options: { minChars: 0, shortNoteChars: 0 },
      expected: [
        { heading: 'Alpha', lines: [1, 5] },
        { heading: 'Beta', lines: [7, 9] },
      ],
    },
    {
      name: 'bare parent headings join the first section below them',
      text: '## Day 1\n### Talk\n#### depends_on\nbody\n',
      options: {},
      expected: [{ heading: 'Day 1 > Talk > depends_on', lines: [1, 4] }],
    },
    {
      name: 'headings inside list items, as in the sample note',
      text: '### Keynote\n\n- intro\n\n- #### Docker Scout\n  - analysis\n- #### Next-Gen Build\n  - faster\n',
      options: { minChars: 0, shortNoteChars: 0 },
      expected: [
        { heading: 'Keynote', lines: [1, 3] },
        { heading: 'Keynote > Docker Scout', lines: [5, 6] },
        { heading: 'Keynote > Next-Gen Build', lines: [7, 8] },
      ],
    },
    {
      name: 'text before any heading has an empty path; a second level-1 heading is kept',
      text: 'preamble text\n\n# Note\n\nbody\n\n# Appendix\n\nmore\n',
      options: { minChars: 0, shortNoteChars: 0 },
      expected: [
        { heading: '', lines: [1, 1] },
        { heading: '', lines: [3, 5] },
        { heading: 'Appendix', lines: [7, 9] },
      ],
    },
    {
      name: 'closing #s, inline code and links are not part of the path',
      text: '## `depends_on` ##\n\nbody\n\n## See [the docs](https://example.com)\n\nmore\n',
      options: { minChars: 0, shortNoteChars: 0 },
      expected: [
        { heading: 'depends_on', lines: [1, 3] },
        { heading: 'See the docs', lines: [5, 7] },
      ],
    },
    {
      name: 'tiny sibling sections merge into one chunk named after their parent',
      text: '## Workshop\n### Getting Started\n- link one\n### Web Dev\n- link two\n## Day 1\n### Keynote\nbody\n',
      options: { shortNoteChars: 0 },
      expected: [
        { heading: 'Workshop', lines: [1, 5] },
        { heading: 'Day 1 > Keynote', lines: [6, 8] },
      ],
    },
    {
      name: 'tiny sections never merge across parents',
      text: '## A\n### A1\nsmall a\n## B\nsmall b\n',
      options: { shortNoteChars: 0 },
      expected: [
        { heading: 'A > A1', lines: [1, 3] },
        { heading: 'B', lines: [4, 5] },
      ],
    },
    {
      name: 'setext headings (=== and ---), but not a thematic break or a list followed by ---',
      text: 'Guide\n=====\n\nintro\n\nPart Two\n--------\n\nbody\n\n---\n\n- item\n---\n',
      options: { minChars: 0, shortNoteChars: 0 },
      expected: [
        { heading: 'Guide', lines: [1, 4] },
        { heading: 'Guide > Part Two', lines: [6, 14] },
      ],
    },
    {
      name: '# inside fences is not a heading',
      text: '## Real\n\n```bash\n# comment\n## also a comment\n```\n\n~~~\n# tilde fence\n~~~\n',
      options: { minChars: 0, shortNoteChars: 0 },
      expected: [{ heading: 'Real', lines: [1, 10] }],
    },
  ])('$name', ({ text, options, expected }) => {
    const source = note(text);
    const chunks = chunkMarkdown(source, options);
    expect(chunks.map((chunk) => ({ heading: chunk.heading, lines: chunk.lines }))).toEqual(expected);
    expectValidChunks(source, chunks, options);
  });

  it('names the list items a continuation chunk sits inside', () => {
    const children = Array.from(
      { length: 30 },
      (_, index) => `  - child item ${index} with enough words to make the parent item long`,
    );
    const source = note(['## Section', '', '- **Parent** topic:', ...children, '- Next topic', '  - detail'].join('\n'));
    const chunks = chunkMarkdown(source);
    expectValidChunks(source, chunks);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks[0]?.heading).toBe('Section');
    const continuation = chunks.find((chunk) => chunk.text.startsWith('  - child'));
    expect(continuation?.heading).toBe('Section > Parent topic');
  });
});

describe('chunkMarkdown: a short note is one chunk', () => {
  /** One paragraph of `count` distinct words (about 8 characters each). */
  const paragraph = (word: string, count: number): string =>
    `${Array.from({ length: count }, (_, index) => `${word}${index}`).join(' ')}.`;
  // Two sections of ~400 characters each: neither is tiny, so grouping alone keeps them apart.
  const twoSections = `# Note\n\n## Alpha\n\n${paragraph('alpha', 50)}\n\n## Beta\n\n${paragraph('beta', 50)}\n`;
  const longer = `${twoSections}\n## Gamma\n\n${paragraph('gamma', 50)}\n`;

  it.each([
    {
      name: 'two sections that fit the target together are one chunk, named by their common path',
      text: twoSections,
      options: {},
      expected: [{ heading: '', lines: [1, 9] }],
    },
    {
      name: 'the common parent of the sections names the one chunk',
      text: `## Setup\n\n### Alpha\n\n${paragraph('alpha', 50)}\n\n### Beta\n\n${paragraph('beta', 50)}\n`,
      options: {},
      expected: [{ heading: 'Setup', lines: [1, 9] }],
    },
    {
      name: 'front matter does not count: the body alone fits',
      text: `---\ntags: [${paragraph('tag', 60).replace(/ /g, ', ').replace('.', '')}]\n---\n${twoSections}`,
      options: {},
      expected: [{ heading: '', lines: [4, 12] }],
    },
    {
      name: 'a note longer than the target is still split at its headings',
      text: longer,
      options: {},
      expected: [
        { heading: 'Alpha', lines: [1, 5] },
        { heading: 'Beta', lines: [7, 9] },
        { heading: 'Gamma', lines: [11, 13] },
      ],
    },
    {
      name: 'shortNoteChars follows targetChars by default',
      text: twoSections,
      options: { targetChars: 600 },
      expected: [
        { heading: 'Alpha', lines: [1, 5] },
        { heading: 'Beta', lines: [7, 9] },
      ],
    },
    {
      name: 'shortNoteChars: 0 turns the rule off',
      text: twoSections,
      options: { shortNoteChars: 0 },
      expected: [
        { heading: 'Alpha', lines: [1, 5] },
        { heading: 'Beta', lines: [7, 9] },
      ],
    },
  ])('$name', ({ text, options, expected }) => {
    const source = note(text);
    const chunks = chunkMarkdown(source, options);
    expect(chunks.map((chunk) => ({ heading: chunk.heading, lines: chunk.lines }))).toEqual(expected);
    expectValidChunks(source, chunks, options);
  });

  it('the one chunk of a short note is its whole body, embedded under the title alone', () => {
    const [chunk, ...rest] = chunkMarkdown(note(twoSections));
    expect(rest).toEqual([]);
    expect(chunk?.text).toBe(twoSections.trimEnd());
    expect(chunk?.embedText).toBe(`Note\n\n${twoSections.trimEnd()}`);
  });
});

describe('chunkMarkdown: fences', () => {
  const longFence = ['```js', ...Array.from({ length: 60 }, (_, index) => `const value${index} = compute(${index}); // line`), '```'];
  const filler = Array.from({ length: 12 }, (_, index) => `- point ${index} about the code that follows and precedes it`);

  it.each([
    { name: 'a fence longer than maxChars stays whole', text: ['## Code', '', ...filler, '', ...longFence, '', ...filler].join('\n') },
    {
      name: 'fences inside list items (the sample note style)',
      text: ['## Tips', '', ...filler, '- tip:', '  - ```', ...longFence.slice(1, 20).map((line) => `    ${line}`), '    ```', ...filler].join('\n'),
    },
    {
      name: 'a four-backtick fence containing a ``` fence and a # line',
      text: ['## Nested', '', ...filler, '````md', '```', 'inner', '```', '# not a heading', '````', ...filler, ...filler].join('\n'),
    },
    { name: 'tilde fences with info strings', text: ['## T', ...filler, '~~~~ yaml title="x"', ...longFence.slice(1, 30), '~~~~', ...filler].join('\n') },
  ])('$name', ({ text }) => {
    const source = note(text);
    const chunks = chunkMarkdown(source);
    expectValidChunks(source, chunks);
    expectFencesWhole(text, chunks);
    expect(chunks.every((chunk) => !chunk.heading.includes('not a heading'))).toBe(true);
  });

  it('lets an unclosed fence be split like text, but still hides headings in it', () => {
    const text = ['## Start', '', '```', ...Array.from({ length: 80 }, (_, index) => `# line ${index} of an unclosed fence`)].join('\n');
    const chunks = chunkMarkdown(note(text));
    expectValidChunks(note(text), chunks);
    expect(chunks.length).toBeGreaterThan(1);
    expect(new Set(chunks.map((chunk) => chunk.heading))).toEqual(new Set(['Start']));
  });
});

describe('chunkMarkdown: front matter, line endings, empty notes', () => {
  it.each([
    { name: 'front matter is skipped', text: '---\ntitle: X\ntags: [a]\n---\n\nbody line\n', lines: [6, 6], body: 'body line' },
    { name: 'empty front matter is skipped', text: '---\n---\nbody line\n', lines: [3, 3], body: 'body line' },
    {
      name: 'malformed front matter is kept as text',
      text: '---\ntitle: [oops\n---\nbody line\n',
      lines: [1, 4],
      body: '---\ntitle: [oops\n---\nbody line',
    },
    { name: 'an unclosed --- is a thematic break, not front matter', text: '---\nbody line\n', lines: [1, 2], body: '---\nbody line' },
  ])('$name', ({ text, lines, body }) => {
    const chunks = chunkMarkdown(note(text));
    expect(chunks.map((chunk) => [chunk.lines, chunk.text])).toEqual([[lines, body]]);
  });

  it.each([
    { name: 'empty', text: '' },
    { name: 'blank lines only', text: '\n\n   \n\t\n' },
    { name: 'front matter only', text: '---\ntitle: Only metadata\n---\n' },
  ])('$name note gives no chunks', ({ text }) => {
    expect(chunkMarkdown(note(text))).toEqual([]);
  });

  it('handles CRLF line endings and a BOM (through the loader)', () => {
    const bytes = Buffer.from('\uFEFF---\r\ntitle: T\r\n---\r\n# T\r\n\r\n## A\r\n\r\nline one\r\nline two\r\n', 'utf8');
    const loaded = parseNote('crlf.md', bytes);
    if ('reason' in loaded) throw new Error(loaded.reason);
    expect(loaded.text.startsWith('---\r\n')).toBe(true); // BOM gone, CRLF kept in Note.text
    const chunks = chunkMarkdown(loaded);
    expect(chunks.map((chunk) => ({ lines: chunk.lines, heading: chunk.heading, text: chunk.text }))).toEqual([
      { lines: [4, 9], heading: 'A', text: '# T\n\n## A\n\nline one\nline two' },
    ]);
    expectValidChunks(loaded, chunks);
  });
});

describe('chunkMarkdown: long content', () => {
  const sentences = Array.from(
    { length: 80 },
    (_, index) => `Sentence number ${index} talks about containers, images and registries.`,
  );

  it('splits one enormous single-line paragraph at sentence boundaries, with one sentence of overlap', () => {
    const line = sentences.join(' ');
    const source = note(`## Wall of text\n\n${line}\n`);
    const chunks = chunkMarkdown(source);
    expectValidChunks(source, chunks);
    const parts = chunks.filter((chunk) => chunk.slice !== undefined);
    expect(parts.length).toBeGreaterThan(3);
    for (const part of parts) {
      expect(part.lines).toEqual([3, 3]);
      expect(part.text.length).toBeLessThanOrEqual(900);
      expect(part.text).toMatch(/^Sentence number \d+ .*registries\.$/);
      expect(part.heading).toBe('Wall of text');
    }
    for (let index = 1; index < parts.length; index += 1) {
      const previous = parts[index - 1]?.slice ?? [0, 0];
      const current = parts[index]?.slice ?? [0, 0];
      expect(current[0]).toBeLessThan(previous[1]); // overlap
      expect(current[1]).toBeGreaterThan(previous[1]); // progress
    }
    expect(parts[0]?.slice?.[0]).toBe(0);
    expect(parts[parts.length - 1]?.slice?.[1]).toBe(line.length);
  });

  it.each([
    { name: 'no white space at all', line: 'x'.repeat(3000) },
    { name: 'emoji only (surrogate pairs)', line: '😀'.repeat(1500) },
    { name: 'ZWJ emoji sequences', line: '👩‍👩‍👧‍👦'.repeat(300) },
    { name: 'CJK without punctuation', line: '東京大阪京都'.repeat(400) },
  ])('cuts a line with no sentence breaks between graphemes: $name', ({ line }) => {
    const pieces = splitLongLine(line);
    expect(pieces.length).toBeGreaterThan(1);
    // Without sentences there is no overlap: the pieces tile the line exactly.
    expect(pieces.map(([start, end]) => line.slice(start, end)).join('')).toBe(line);
    for (const [start, end] of pieces) {
      expect(end - start).toBeLessThanOrEqual(900);
      expect(line.slice(start, end)).not.toMatch(LONE_SURROGATE);
    }
    const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
    const boundaries = new Set([...segmenter.segment(line)].map((grapheme) => grapheme.index));
    for (const [start] of pieces) expect(boundaries.has(start)).toBe(true);
  });

  it('handles a multi-megabyte single line (a linear cut, bounded by the test timeout)', () => {
    const line = 'Word and more words. '.repeat(50_000); // 1 MB, one line
    const chunks = chunkMarkdown(note(line));
    expect(chunks.length).toBeGreaterThan(1000);
    let covered = 0;
    for (const chunk of chunks) {
      const [start, end] = chunk.slice ?? [0, 0];
      expect(chunk.text).toBe(line.slice(start, end));
      expect(start).toBeLessThanOrEqual(covered + 1); // no gaps (overlap allowed)
      covered = Math.max(covered, end);
    }
    expect(covered).toBe(line.trimEnd().length);
  });

  it('cuts CJK text at 。 sentence ends', () => {
    const line = '東京は日本の首都です。'.repeat(300);
    const source = note(line);
    const chunks = chunkMarkdown(source);
    expectValidChunks(source, chunks);
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) expect(chunk.text.endsWith('。')).toBe(true);
  });

  it('splits a long multi-line paragraph at line ends, repeating one line', () => {
    const source = note(`## Paragraph\n\n${sentences.join('\n')}\n`);
    const chunks = chunkMarkdown(source);
    expectValidChunks(source, chunks);
    expect(chunks.length).toBeGreaterThan(3);
    for (let index = 1; index < chunks.length; index += 1) {
      expect(chunks[index]?.lines[0]).toBe(chunks[index - 1]?.lines[1]);
    }
    for (const chunk of chunks) expect(chunk.slice).toBeUndefined();
  });

  it('splits a long list at top-level items before nested ones', () => {
    const items = Array.from({ length: 12 }, (_, index) => [
      `- Topic ${index}`,
      `  - first detail of topic ${index}, written out at some length`,
      `  - second detail of topic ${index}, also written out at length`,
    ]).flat();
    const source = note(`## List\n\n${items.join('\n')}\n`);
    const chunks = chunkMarkdown(source);
    expectValidChunks(source, chunks);
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks.slice(1)) expect(chunk.text).toMatch(/^- Topic \d+$/m);
    for (const chunk of chunks.slice(1)) expect(chunk.text.startsWith('- Topic')).toBe(true);
  });
});

describe('chunkMarkdown: unicode', () => {
  it('keeps emoji and CJK intact and exact', () => {
    const source = fixture('nested/unicode.md');
    expect(source.title).toBe('旅行メモ 🧳');
    const chunks = chunkMarkdown(source, { minChars: 0, shortNoteChars: 0 });
    expectValidChunks(source, chunks, { minChars: 0, shortNoteChars: 0 });
    expect(chunks.map((chunk) => chunk.heading)).toEqual(['東京 🗼', 'Emoji']);
    expect(chunks[1]?.text).toContain('👩‍👩‍👧‍👦 family sequence');
    expect(chunks[0]?.embedText).toBe(`旅行メモ 🧳\n東京 🗼\n\n${chunks[0]?.text ?? ''}`);
  });
});

describe('chunkMarkdown: ids and embedText', () => {
  it('gives stable ids that depend on path and text, distinct for repeated text', () => {
    const text = '## Same\n\nrepeated body\n\n## Same\n\nrepeated body\n';
    const first = chunkMarkdown(note(text), { minChars: 0, shortNoteChars: 0 });
    const again = chunkMarkdown(note(text), { minChars: 0, shortNoteChars: 0 });
    const elsewhere = chunkMarkdown(note(text, 'Note', 'other.md'), { minChars: 0, shortNoteChars: 0 });
    expect(first).toHaveLength(2);
    expect(first[0]?.text).toBe(first[1]?.text);
    expect(first[0]?.id).not.toBe(first[1]?.id);
    expect(again.map((chunk) => chunk.id)).toEqual(first.map((chunk) => chunk.id));
    expect(elsewhere[0]?.id).not.toBe(first[0]?.id);
    // Adding a copy later does not change the id of the original.
    const single = chunkMarkdown(note('## Same\n\nrepeated body\n'), { minChars: 0, shortNoteChars: 0 });
    expect(single[0]?.id).toBe(first[0]?.id);
  });

  it('embeds title, heading path and text', () => {
    const [withHeading] = chunkMarkdown(note('## Day 1\n### Tips\nuse depends_on\n', 'DockerCon 2023'));
    expect(withHeading?.embedText).toBe('DockerCon 2023\nDay 1 > Tips\n\n## Day 1\n### Tips\nuse depends_on');
    const [withoutHeading] = chunkMarkdown(note('just text\n', 'Scratch'));
    expect(withoutHeading?.embedText).toBe('Scratch\n\njust text');
  });

  it("a section's later chunks also embed its opening line; the chunk that shows it does not repeat it", () => {
    const body = Array.from({ length: 12 }, (_, n) => `- detail ${n}: ${'words about the talk '.repeat(6)}`).join('\n');
    const chunks = chunkMarkdown(note(`## Day 1\n\n- UI testing with Docker Selenium\n${body}\n- Started 9 years ago\n`, 'DockerCon 2023'));
    expect(chunks.length).toBeGreaterThan(1);
    const [first, ...later] = chunks;
    expect(first?.text).toContain('UI testing with Docker Selenium');
    expect(first?.embedText.endsWith(first.text)).toBe(true);
    for (const chunk of later) {
      expect(chunk.text).not.toContain('Selenium');
      expect(chunk.embedText).toBe(`DockerCon 2023\nDay 1\n\n${chunk.text}\n\nUI testing with Docker Selenium`);
    }
  });

  it.each([
    ['code', '```\nsetup --all\n```'],
    ['a long paragraph', `This talk ${'went on and on about many things '.repeat(6)}.`],
  ])('carries no opening line when the section opens with %s', (_name, opening) => {
    const body = Array.from({ length: 12 }, (_, n) => `- detail ${n}: ${'words about the talk '.repeat(6)}`).join('\n');
    const chunks = chunkMarkdown(note(`## Day 1\n\n${opening}\n\n${body}\n`, 'Notes'));
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) expect(chunk.embedText.endsWith(`\n\n${chunk.text}`)).toBe(true);
  });

  it('exports an integer CHUNKER_VERSION for the index manifest', () => {
    expect(Number.isInteger(CHUNKER_VERSION)).toBe(true);
    expect(CHUNKER_VERSION).toBeGreaterThan(0);
  });
});

describe('chunkMarkdown: property over real notes', () => {
  const generated = note(
    Array.from({ length: 40 }, (_, index) =>
      index % 7 === 0
        ? `${'#'.repeat((index % 4) + 2)} Heading ${index}`
        : index % 5 === 0
          ? '```\n# code ' + index + '\n```'
          : `- item ${index} ${'word '.repeat(index * 3)}\n  - nested ${index}. ${'more text. '.repeat(index)}`,
    ).join('\n\n'),
  );

  it.each([
    { name: 'the sample note', source: sample },
    { name: 'guide.md (front matter, fences, setext)', source: fixture('guide.md') as MarkdownNote },
    { name: 'nested/unicode.md', source: fixture('nested/unicode.md') as MarkdownNote },
    { name: 'nested/plain.txt', source: fixture('nested/plain.txt') as MarkdownNote },
    { name: 'a generated note', source: generated },
    { name: 'the sample note with CRLF', source: { ...sample, text: SAMPLE_TEXT.replace(/\n/g, '\r\n') } },
  ])('every chunk of $name is exactly its lines', ({ source }) => {
    for (const options of [{}, { targetChars: 300, maxChars: 500, minChars: 100 }]) {
      const chunks = chunkMarkdown(source, options);
      expect(chunks.length).toBeGreaterThan(0);
      expectValidChunks(source, chunks, options);
    }
  });

  it('reads the guide fixture as the loader gives it', () => {
    const guide = fixture('guide.md');
    expect(guide.title).toBe('Field Guide');
    const chunks = chunkMarkdown(guide, { minChars: 0, shortNoteChars: 0 });
    expectFencesWhole(guide.text, chunks);
    expect(chunks[0]?.lines[0]).toBe(6); // after the 4 front-matter lines and a blank
    const headings = chunks.map((chunk) => chunk.heading);
    expect(headings).toContain('Setup > Prerequisites');
    expect(headings).toContain('Fences');
    expect(headings).toContain('Setext Heading');
    expect(headings).toContain('Setext Heading > Second Setext');
    expect(headings).toContain('Setext Heading > Closing'); // the setext `===` heading is level 1
    expect(headings.some((heading) => heading.includes('not a heading'))).toBe(false);
  });
});

describe('chunkMarkdown: the sample note', () => {
  const chunks = chunkMarkdown(sample);

  it('makes focused chunks: average well under 1,200 characters, none over 1,200', () => {
    const lengths = chunks.map((chunk) => chunk.text.length);
    const average = lengths.reduce((sum, length) => sum + length, 0) / lengths.length;
    expect(chunks.length).toBeGreaterThan(30);
    expect(average).toBeLessThan(900);
    expect(average).toBeGreaterThan(400);
    expect(Math.max(...lengths)).toBeLessThanOrEqual(1200);
  });

  it.each([
    { evidence: 'keep base image up-to date', heading: 'Day 1 > Keynote 1: Accelerating Secure App Development > Docker Scout' },
    { evidence: 'shared cache among team', heading: 'Day 1 > Keynote 1: Accelerating Secure App Development > Next-Gen Build' },
    { evidence: 'default is `service_started`', heading: 'Day 1 > 15 Tips and Tricks to Improve Your Compose Experience' },
    { evidence: 'HEAD request on manifest layers', heading: 'Day 1 > Container Images: Interactive Deep Dive' },
    { evidence: 'size limit of 10GB', heading: 'Day 1 > Streamlining CI/CD with Modern Container Builds' },
    { evidence: 'ollama run llama2', heading: 'Day 2 > AI Anytime, Anywhere: Getting started with LLMs on your Laptop Now!' },
  ])('puts "$evidence" whole into a chunk under "$heading"', ({ evidence, heading }) => {
    const holder = chunks.find((chunk) => chunk.text.includes(evidence));
    expect(holder?.heading.startsWith(heading)).toBe(true);
    expect(holder?.embedText.startsWith(`DockerCon 2023\n${heading}`)).toBe(true);
  });

  it('never splits the sample note inside a fence', () => {
    expectFencesWhole(SAMPLE_TEXT, chunks);
  });
});
