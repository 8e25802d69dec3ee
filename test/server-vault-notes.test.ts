/**
 * Vault notes and PDFs through the composed server (`main()`): `/notes/<file>.pdf` serves the PDF and
 * `?page=N` that page's text, `?links` a note's wikilinks resolved, `/index/status` names the PDFs
 * that cannot be read and why, and `/ask` cites a PDF's page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startComposedServer, type ComposedServer } from './support/hardening-app.ts';
import { makePdf } from './support/make-pdf.ts';

const REPORT = makePdf({
  pages: [
    ['Annual report 2024', 'Revenue grew by twelve percent.'],
    ['Offices', 'The new office opens in Porto in June.', 'The Lyon office closes.'],
  ],
});

let server: ComposedServer;

beforeAll(async () => {
  server = await startComposedServer({
    notes: {
      'papers/Annual Report.pdf': REPORT,
      'papers/locked.pdf': makePdf({ pages: [['secret']], encrypted: true }),
      'papers/scan.pdf': makePdf({ pages: [['x']], drawingsOnly: true }),
      'papers/broken.pdf': '%PDF-1.7\nnot really\n',
      'People/Ada Quill.md': '# Ada Quill\n\nRuns the platform team.\n',
      'Meetings/Planning.md': '# Planning\n\nOwner: [[Ada Quill|Ada]], see ![[Annual Report.pdf]] and [[Nobody]].\n',
    },
  });
  await server.ready();
}, 60_000);
afterAll(async () => {
  await server?.close();
});

const get = (path: string) => fetch(new URL(path, server.url.replace('//0.0.0.0:', '//127.0.0.1:')));

describe('PDF notes on the server', () => {
  it('serves the PDF itself, byte for byte', async () => {
    const response = await get('/notes/papers/Annual%20Report.pdf');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/pdf');
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(REPORT);
  });

  it('serves one page\'s text with ?page=N, the lines its citations count', async () => {
    const response = await get('/notes/papers/Annual%20Report.pdf?page=2');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await response.text()).toBe('Offices\nThe new office opens in Porto in June.\nThe Lyon office closes.');
  });

  it.each([
    ['/notes/papers/Annual%20Report.pdf?page=3', 404, 'not_found'],
    ['/notes/papers/Annual%20Report.pdf?page=0', 400, 'invalid_request'],
    ['/notes/papers/Annual%20Report.pdf?page=two', 400, 'invalid_request'],
    ['/notes/papers/locked.pdf', 404, 'not_found'],
    ['/notes/papers/locked.pdf?page=1', 404, 'not_found'],
    ['/notes/papers/..%2f..%2fetc%2fpasswd.pdf', 404, 'not_found'],
  ])('%s -> %i', async (path, status, code) => {
    const response = await get(path);
    expect(response.status).toBe(status);
    expect(await response.json()).toMatchObject({ error: { code } });
  });

  it('lists encrypted, text-less and corrupt PDFs in /index/status as failed, with the reason', async () => {
    const status = (await (await get('/index/status')).json()) as { notes: Array<{ path: string; status: string; reason?: string; chunks: number }> };
    const byPath = new Map(status.notes.map((note) => [note.path, note]));
    expect(byPath.get('papers/locked.pdf')).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^encrypted/) });
    expect(byPath.get('papers/scan.pdf')).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^no text layer/) });
    expect(byPath.get('papers/broken.pdf')).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^not a readable PDF/) });
    expect(byPath.get('papers/Annual Report.pdf')).toMatchObject({ status: 'indexed', chunks: 2 });
    expect(byPath.get('Meetings/Planning.md')).toMatchObject({ status: 'indexed' });
  });

  it('cites a PDF source with its page and lines within the page', async () => {
    const response = await fetch(new URL('/ask', server.url.replace('//0.0.0.0:', '//127.0.0.1:')), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ question: 'Where does the new office open in June?' }),
    });
    const body = (await response.json()) as { sources: Array<{ note: string; page?: number; lines: number[] }>; answer: string };
    expect(body.sources[0]).toMatchObject({ note: 'papers/Annual Report.pdf', page: 2, lines: [1, 3] });
    expect(body.answer).toContain('Porto');
  });
});

describe('wikilinks of a note', () => {
  it('?links lists each link with its place, shown words and the note it opens', async () => {
    const response = await get('/notes/Meetings/Planning.md?links');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      note: 'Meetings/Planning.md',
      links: [
        { line: 3, start: 7, end: 24, shown: 'Ada', note: 'People/Ada Quill.md', embed: false },
        { line: 3, start: 30, end: 52, shown: 'Annual Report.pdf', note: 'papers/Annual Report.pdf', embed: true },
        { line: 3, start: 57, end: 67, shown: 'Nobody', note: null, embed: false },
      ],
    });
    expect((await get('/notes/Meetings/Planning.md')).headers.get('content-type')).toMatch(/^text\/plain/);
  });
});
