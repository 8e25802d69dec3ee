import { describe, expect, it } from 'vitest';
import { chunkNote, titleWords } from '../src/notes/chunk-note.ts';
import { parseNote, type Note } from '../src/notes/load-notes.ts';

function note(path: string, text: string): Note {
  const parsed = parseNote(path, new TextEncoder().encode(text));
  if ('reason' in parsed) throw new Error(parsed.reason);
  return parsed;
}

const VAULT_NOTE = [
  '---', // 1
  'aliases: [Q3 plan, Budget plan]', // 2
  'tags: [finance]', // 3
  '---', // 4
  '# Quarterly plan', // 5
  '', // 6
  'Owner: [[People/Ada Quill|Ada]], reviewed by [[Bo Chen]].', // 7
  '', // 8
  '![[Budget sheet.pdf]]', // 9
  '', // 10
  '## Risks with [[Vendors#Contracts|contracts]]', // 11
  '', // 12
  '> [!warning] Budget freeze', // 13
  '> No new hires until [[Finance/Review]] signs off.', // 14
  '', // 15
  '```md', // 16
  'Literal [[not a link]] in code', // 17
  '```', // 18
].join('\n');

describe('chunkNote: Markdown with vault syntax', () => {
  const vault = note('plans/quarterly.md', VAULT_NOTE);
  const chunks = chunkNote(vault, { targetChars: 200, minChars: 20, maxChars: 300 });

  it('reads aliases from the front matter and puts them beside the title', () => {
    expect(vault.aliases).toEqual(['Q3 plan', 'Budget plan']);
    expect(titleWords(vault)).toBe('Quarterly plan (Q3 plan, Budget plan)');
    for (const chunk of chunks) expect(chunk.embedText.split('\n')[0]).toBe('Quarterly plan (Q3 plan, Budget plan)');
  });

  it('keeps the note\'s own lines, with exact line ranges, and embeds the shown words', () => {
    expect(chunks.map((chunk) => ({ lines: chunk.lines, heading: chunk.heading }))).toEqual([
      { lines: [5, 9], heading: '' },
      { lines: [11, 18], heading: 'Risks with contracts' },
    ]);
    const lines = VAULT_NOTE.split('\n');
    for (const chunk of chunks) expect(chunk.text).toBe(lines.slice(chunk.lines[0] - 1, chunk.lines[1]).join('\n'));
    const [first, second] = chunks;
    expect(first?.embedText).toContain('Owner: Ada, reviewed by Bo Chen.');
    expect(first?.embedText).toContain('\nBudget sheet.pdf');
    expect(first?.embedText).not.toContain('[[');
    expect(second?.embedText).toContain('Risks with contracts');
    expect(second?.embedText).toContain('> Budget freeze\n> No new hires until Review signs off.');
    expect(second?.embedText).not.toContain('[!warning]');
    // Code stays code.
    expect(second?.embedText).toContain('Literal [[not a link]] in code');
  });

  it('leaves notes without vault syntax exactly as the Markdown chunker makes them', () => {
    const plain = note('plain.md', '# Plain\n\nNothing special here, just [a link](https://example.org).\n');
    const [chunk] = chunkNote(plain);
    expect(chunk?.embedText).toBe('Plain\n\n# Plain\n\nNothing special here, just [a link](https://example.org).');
  });
});

describe('chunkNote: PDF pages', () => {
  const pdf = {
    path: 'papers/report.pdf',
    title: 'Annual report',
    text: '',
    pages: ['Annual report 2024\nRevenue grew by 12 percent.', '', 'Annual report 2024\nHeadcount stayed flat at 40.\nOffices: Lyon and Porto.'],
  };
  const chunks = chunkNote(pdf);

  it('chunks within pages: each chunk has its page and lines within that page', () => {
    expect(chunks.map((chunk) => ({ page: chunk.page, lines: chunk.lines, text: chunk.text }))).toEqual([
      { page: 1, lines: [1, 2], text: 'Annual report 2024\nRevenue grew by 12 percent.' },
      { page: 3, lines: [1, 3], text: 'Annual report 2024\nHeadcount stayed flat at 40.\nOffices: Lyon and Porto.' },
    ]);
  });

  it('gives the same text on two pages two ids', () => {
    const twice = chunkNote({ ...pdf, pages: ['Same words', 'Same words'] });
    expect(twice).toHaveLength(2);
    expect(new Set(twice.map((chunk) => chunk.id)).size).toBe(2);
  });
});
