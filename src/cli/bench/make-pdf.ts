/**
 * A small PDF writer for the tests and the bench (test/support/make-pdf.ts re-exports it): real PDF 1.4 files (catalog, page tree, one content stream per page,
 * the standard Helvetica font, a correct xref table), so the PDF reader is tested on bytes that
 * pdf.js parses exactly as it parses a file from disk. No binary fixtures from outside.
 */

export interface PdfOptions {
  /** One entry per page: the page's lines of text, top to bottom (printable ASCII). */
  pages: string[][];
  /**
   * Adds a Standard security handler (RC4, revision 2) whose user password is not empty, so that
   * opening the file needs a password, as with a PDF saved "with a password to open".
   */
  encrypted?: boolean;
  /** Pages drawn as shapes only (a scanned page has an image and no text): no text at all. */
  drawingsOnly?: boolean;
}

function escapePdfString(text: string): string {
  return text.replace(/[\\()]/g, (character) => `\\${character}`);
}

function pageContent(lines: string[], drawingsOnly: boolean): string {
  if (drawingsOnly) return '0.5 g 72 500 200 200 re f 0 g 100 100 m 400 400 l S';
  const operations = ['BT', '/F1 11 Tf', '14 TL', '72 760 Td'];
  lines.forEach((line, index) => {
    if (index > 0) operations.push('T*');
    operations.push(`(${escapePdfString(line)}) Tj`);
  });
  operations.push('ET');
  return operations.join('\n');
}

/** The bytes of a PDF with the given pages. */
export function makePdf(options: PdfOptions): Uint8Array {
  const objects: string[] = [];
  const add = (body: string): number => {
    objects.push(body);
    return objects.length;
  };
  const catalog = add('');
  const pageTree = add('');
  const font = add('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>');
  const pageIds: number[] = [];
  for (const lines of options.pages) {
    const content = pageContent(lines, options.drawingsOnly ?? false);
    const stream = add(`<< /Length ${Buffer.byteLength(content, 'latin1')} >>\nstream\n${content}\nendstream`);
    pageIds.push(
      add(
        `<< /Type /Page /Parent ${pageTree} 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 ${font} 0 R >> >> /Contents ${stream} 0 R >>`,
      ),
    );
  }
  objects[catalog - 1] = `<< /Type /Catalog /Pages ${pageTree} 0 R >>`;
  objects[pageTree - 1] = `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pageIds.length} >>`;
  const encrypt = options.encrypted
    ? add(`<< /Filter /Standard /V 1 /R 2 /Length 40 /P -44 /O <${'4f'.repeat(32)}> /U <${'55'.repeat(32)}> >>`)
    : undefined;

  let body = '%PDF-1.4\n%\xe2\xe3\xcf\xd3\n';
  const offsets: number[] = [];
  objects.forEach((object, index) => {
    offsets.push(Buffer.byteLength(body, 'latin1'));
    body += `${index + 1} 0 obj\n${object}\nendobj\n`;
  });
  const xref = Buffer.byteLength(body, 'latin1');
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) body += `${String(offset).padStart(10, '0')} 00000 n \n`;
  const id = '0123456789abcdef0123456789abcdef';
  body += `trailer\n<< /Size ${objects.length + 1} /Root ${catalog} 0 R /ID [<${id}> <${id}>]${encrypt === undefined ? '' : ` /Encrypt ${encrypt} 0 R`} >>\nstartxref\n${xref}\n%%EOF\n`;
  return new Uint8Array(Buffer.from(body, 'latin1'));
}
