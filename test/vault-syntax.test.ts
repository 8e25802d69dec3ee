import { describe, expect, it } from 'vitest';
import { displayLine, displayText, frontMatterAliases, parseWikiLinkBody, wikiLinks } from '../src/notes/vault-syntax.ts';
import { createLinkResolver, linkedNotes, resolveLinks } from '../src/notes/resolve-links.ts';

describe('wikilinks and their shown words', () => {
  it.each([
    ['Ada Quill', false, { target: 'Ada Quill', shown: 'Ada Quill' }],
    ['People/Ada Quill|Ada', false, { target: 'People/Ada Quill', shown: 'Ada' }],
    ['People/Ada Quill.md', false, { target: 'People/Ada Quill.md', shown: 'Ada Quill' }],
    ['Budget#Q3 numbers', false, { target: 'Budget', heading: 'Q3 numbers', shown: 'Budget > Q3 numbers' }],
    ['#Q3 numbers', false, { target: '', heading: 'Q3 numbers', shown: 'Q3 numbers' }],
    ['Budget#^block-1', false, { target: 'Budget', heading: '^block-1', shown: 'Budget' }],
    ['Budget#Q3|the Q3 table', false, { target: 'Budget', heading: 'Q3', shown: 'the Q3 table' }],
    ['Budget\\|table alias', false, { target: 'Budget', shown: 'table alias' }],
    ['diagram.png|300', true, { target: 'diagram.png', shown: 'diagram.png' }],
    ['diagram.png|The flow', true, { target: 'diagram.png', shown: 'The flow' }],
  ])('[[%s]] (embed %s)', (body, embed, expected) => {
    expect(parseWikiLinkBody(body, embed)).toEqual({ embed, ...expected });
  });

  it.each([
    ['Met [[People/Ada Quill|Ada]] about [[Budget]].', 'Met Ada about Budget.'],
    ['> [!warning] Budget freeze', '> Budget freeze'],
    ['> [!note]- Folded title with [[Plan]]', '> Folded title with Plan'],
    ['> > [!tip]+ Nested', '> > Nested'],
    ['> plain quote [!not a callout]', '> plain quote [!not a callout]'],
    ['![[Quarterly report.pdf]]', 'Quarterly report.pdf'],
    ['code `[[not a link]]` and [[Link]]', 'code `[[not a link]]` and Link'],
    ['[[]] stays', '[[]] stays'],
  ])('displayLine(%j)', (line, shown) => {
    expect(displayLine(line)).toBe(shown);
  });

  it('keeps every line (and so every line number) and leaves fenced code as written', () => {
    const text = ['# Plan', '> [!warning] Budget freeze', '> No new hires.', '```', '[[in code]]', '```', '![[Map.png]]', '', 'See [[People/Ada Quill|Ada]].'].join('\n');
    const shown = displayText(text);
    expect(shown.split('\n')).toEqual(['# Plan', '> Budget freeze', '> No new hires.', '```', '[[in code]]', '```', 'Map.png', '', 'See Ada.']);
  });

  it('finds links with their 0-based line and offsets, skipping code', () => {
    const text = 'intro\nSee [[People/Ada Quill|Ada]] and ![[chart.png]]\n```\n[[code]]\n```\n`[[inline]]` [[Last#Part]]';
    expect(wikiLinks(text)).toEqual([
      { line: 1, start: 4, end: 28, target: 'People/Ada Quill', shown: 'Ada', embed: false },
      { line: 1, start: 33, end: 47, target: 'chart.png', shown: 'chart.png', embed: true },
      { line: 5, start: 13, end: 26, target: 'Last', heading: 'Part', shown: 'Last > Part', embed: false },
    ]);
  });
});

describe('front matter aliases', () => {
  it.each([
    [{ aliases: ['AQ', 'Ada'] }, ['AQ', 'Ada']],
    [{ aliases: 'AQ, Ada' }, ['AQ', 'Ada']],
    [{ alias: 'AQ' }, ['AQ']],
    [{ aliases: [1984, '', null, 'AQ', 'AQ'] }, ['1984', 'AQ']],
    [{}, []],
  ])('%j', (data, aliases) => {
    expect(frontMatterAliases(data)).toEqual(aliases);
  });
});

describe('resolving link targets as Obsidian does', () => {
  const resolve = createLinkResolver(['People/Ada Quill.md', 'Projects/Budget.md', 'Archive/Budget.md', 'index.md', 'papers/Attention.pdf', 'a/b/c.md']);
  it.each([
    ['People/Ada Quill', 'index.md', 'People/Ada Quill.md'],
    ['people/ada quill.md', 'index.md', 'People/Ada Quill.md'],
    ['Ada Quill', 'index.md', 'People/Ada Quill.md'],
    ['ADA QUILL', 'index.md', 'People/Ada Quill.md'],
    ['Budget', 'index.md', undefined],
    ['Projects/Budget', 'index.md', 'Projects/Budget.md'],
    ['Attention.pdf', 'index.md', 'papers/Attention.pdf'],
    ['../c', 'a/b/d/x.md', 'a/b/c.md'],
    ['../Budget', 'Projects/drafts/x.md', 'Projects/Budget.md'],
    ['./c', 'a/b/x.md', 'a/b/c.md'],
    ['Nobody', 'index.md', undefined],
    ['', 'index.md', 'index.md'],
  ])('%j from %s', (target, from, expected) => {
    expect(resolve(target, from)).toBe(expected);
  });

  it('resolves the links of a chunk with 1-based file lines, and lists the notes a text links to', () => {
    const text = 'Talked to [[Ada Quill|Ada]].\n![[Attention.pdf]] and [[Budget]] and [[index]]';
    expect(resolveLinks(text, 10, 'index.md', resolve)).toEqual([
      { line: 10, start: 10, end: 27, shown: 'Ada', note: 'People/Ada Quill.md', embed: false },
      { line: 11, start: 0, end: 18, shown: 'Attention.pdf', note: 'papers/Attention.pdf', embed: true },
      { line: 11, start: 23, end: 33, shown: 'Budget', note: null, embed: false },
      { line: 11, start: 38, end: 47, shown: 'index', note: 'index.md', embed: false },
    ]);
    expect(linkedNotes(text, 'index.md', resolve)).toEqual(['People/Ada Quill.md', 'papers/Attention.pdf']);
  });
});
