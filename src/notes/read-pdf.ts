/**
 * Text of a PDF, page by page, with Mozilla's pdf.js (`pdfjs-dist`, the legacy build, which runs on
 * Node 20; 5.7 and later need Node 22).
 *
 * A page's text items become lines where pdf.js marks an end of line (`hasEOL`) or the baseline
 * moves; the same function makes the lines that are indexed and the lines `?page=N` serves, so a
 * citation's line numbers within its page always point at the same text.
 *
 * In Node, pdf.js parses on the calling thread (its "fake worker"), so every page ends with a turn
 * of the event loop: a 500-page PDF being indexed never holds up an answer for more than one page.
 * A PDF that cannot be read gives a reason instead of text: `encrypted`, `no text layer`, or why it
 * is not a PDF; one bad file never stops the others.
 */
import { getDocument, PasswordResponses, type PDFPageProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';

type TextContentItem = Awaited<ReturnType<PDFPageProxy['getTextContent']>>['items'][number];

export interface PdfText {
  /** The document's own title (its Info dictionary), when it has a non-empty one. */
  title?: string;
  /** One string per page (page 1 first): the page's lines joined with "\n". */
  pages: string[];
}

export interface ReadPdfOptions {
  signal?: AbortSignal;
  /** Called after each page (for tests and progress). */
  onPage?: (page: number, pages: number) => void;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A page's text items as lines: a break at each end of line or change of baseline. */
export function pageLines(items: readonly TextContentItem[]): string[] {
  const lines: string[] = [];
  let line = '';
  let baseline: number | undefined;
  for (const item of items) {
    if (!('str' in item)) continue;
    const y = item.transform[5];
    // Items on a new baseline start a new line even when pdf.js did not mark the end of the last one.
    if (baseline !== undefined && y !== undefined && Math.abs(y - baseline) > Math.max(1, item.height * 0.5) && line !== '') {
      lines.push(line);
      line = '';
    }
    line += item.str;
    baseline = y;
    if (item.hasEOL) {
      lines.push(line);
      line = '';
      baseline = undefined;
    }
  }
  if (line !== '') lines.push(line);
  const cleaned = lines.map((text) => text.replace(/\s+/g, ' ').trim());
  while (cleaned.length > 0 && cleaned[cleaned.length - 1] === '') cleaned.pop();
  while (cleaned.length > 0 && cleaned[0] === '') cleaned.shift();
  return cleaned;
}

/** Why pdf.js could not open a file, in words for `/index/status`. */
export function pdfFailureReason(error: unknown): string {
  const name = (error as { name?: unknown } | null)?.name;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  // pdf.js asks for a password (NEED_PASSWORD) when the empty user password does not open the file.
  if (name === 'PasswordException' || code === PasswordResponses.NEED_PASSWORD) {
    return 'encrypted: the PDF needs a password to open; skipped';
  }
  if (name === 'InvalidPDFException') return `not a readable PDF (corrupt or truncated: ${message}); skipped`;
  return `the PDF cannot be read (${message}); skipped`;
}

/** The text of every page, or the reason there is none. Never throws for a bad file; an abort rejects. */
export async function readPdf(bytes: Uint8Array, options: ReadPdfOptions = {}): Promise<PdfText | { reason: string }> {
  options.signal?.throwIfAborted();
  // pdf.js takes ownership of (detaches) the buffer it is given: hand it a copy.
  const task = getDocument({
    data: new Uint8Array(bytes),
    verbosity: 0,
    isEvalSupported: false,
    disableFontFace: true,
    useSystemFonts: false,
    stopAtErrors: false,
  });
  try {
    let document;
    try {
      document = await task.promise;
    } catch (error) {
      return { reason: pdfFailureReason(error) };
    }
    const pages: string[] = [];
    let anyText = false;
    for (let number = 1; number <= document.numPages; number += 1) {
      options.signal?.throwIfAborted();
      let lines: string[];
      try {
        const page = await document.getPage(number);
        lines = pageLines((await page.getTextContent()).items);
        page.cleanup();
      } catch (error) {
        return { reason: `page ${number} of the PDF cannot be read (${error instanceof Error ? error.message : String(error)}); skipped` };
      }
      if (lines.length > 0) anyText = true;
      pages.push(lines.join('\n'));
      options.onPage?.(number, document.numPages);
      await yieldToEventLoop();
    }
    if (!anyText) return { reason: 'no text layer (a scanned PDF? run OCR on it to make its text searchable); skipped' };
    const info = (await document.getMetadata().catch(() => undefined))?.info as { Title?: unknown } | undefined;
    const title = typeof info?.Title === 'string' ? info.Title.trim() : '';
    return title === '' ? { pages } : { title, pages };
  } finally {
    await task.destroy().catch(() => undefined);
  }
}
