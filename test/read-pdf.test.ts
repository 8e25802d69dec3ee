import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNotes } from '../src/notes/load-notes.ts';
import { readPdf } from '../src/notes/read-pdf.ts';
import { makePdf } from './support/make-pdf.ts';

describe('readPdf', () => {
  it('gives each page its lines, in order, pages 1-based by position', async () => {
    const bytes = makePdf({ pages: [['Quarterly report', 'Revenue grew (a lot).'], ['Second page, one line'], []] });
    expect(await readPdf(bytes)).toEqual({ pages: ['Quarterly report\nRevenue grew (a lot).', 'Second page, one line', ''] });
  });

  it.each([
    ['encrypted', makePdf({ pages: [['secret']], encrypted: true }), /^encrypted/],
    ['text-less (scanned)', makePdf({ pages: [['x'], ['y']], drawingsOnly: true }), /^no text layer/],
    ['truncated', makePdf({ pages: [['a', 'b']] }).slice(0, 200), /^not a readable PDF/],
    ['not a PDF at all', new TextEncoder().encode('just text, not a PDF'), /^not a readable PDF/],
  ])('explains a %s PDF instead of throwing', async (_what, bytes, reason) => {
    const result = await readPdf(bytes);
    expect('reason' in result ? result.reason : 'read').toMatch(reason);
  });

  it('turns the event loop between pages, so a 500-page PDF does not hold up other work', async () => {
    const pages = Array.from({ length: 500 }, (_, page) => [`Page ${page + 1} heading`, `Body text of page ${page + 1}.`]);
    const bytes = makePdf({ pages });
    let ticks = 0;
    let parsing = true;
    const tick = (): void => {
      ticks += 1;
      if (parsing) setImmediate(tick);
    };
    setImmediate(tick);
    const pageAtTick: number[] = [];
    const result = await readPdf(bytes, { onPage: (page) => pageAtTick.push(ticks) });
    parsing = false;
    expect('pages' in result && result.pages.length).toBe(500);
    expect('pages' in result && result.pages[499]).toBe('Page 500 heading\nBody text of page 500.');
    // Other callbacks ran between pages all along, not only before or after the whole file.
    expect(ticks).toBeGreaterThanOrEqual(499);
    expect(pageAtTick[499]! - pageAtTick[0]!).toBeGreaterThanOrEqual(498);
  });
});

describe('loadNotes with PDFs', () => {
  let folder: string;
  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'asknotes-pdf-'));
    await writeFile(join(folder, 'a.md'), '# A\n\nA note.\n');
    await writeFile(join(folder, 'good.PDF'), makePdf({ pages: [['Good first page'], ['Good second page']] }));
    await writeFile(join(folder, 'locked.pdf'), makePdf({ pages: [['secret']], encrypted: true }));
    await writeFile(join(folder, 'scan.pdf'), makePdf({ pages: [['x']], drawingsOnly: true }));
    await writeFile(join(folder, 'broken.pdf'), new TextEncoder().encode('%PDF-1.4\nthis is not really a PDF\n'));
  });
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('reads good PDFs page by page and reports each bad one with its reason, never stopping the rest', async () => {
    const loaded = await loadNotes(folder);
    expect(loaded.notes.map((note) => note.path)).toEqual(['a.md', 'good.PDF']);
    const good = loaded.notes[1];
    expect(good?.title).toBe('good');
    expect(good?.pages).toEqual(['Good first page', 'Good second page']);
    expect(loaded.failures.map((failure) => [failure.path, failure.reason.split(/[:( ]/)[0]])).toEqual([
      ['broken.pdf', 'not'],
      ['locked.pdf', 'encrypted'],
      ['scan.pdf', 'no'],
    ]);
    expect(loaded.failures.find((failure) => failure.path === 'scan.pdf')?.reason).toMatch(/^no text layer/);
  });
});
