/** The tests' PDF generator (shared with `npm run bench`): real PDFs made on the spot, no binary fixtures. */
export { makePdf, type PdfOptions } from '../../src/cli/bench/make-pdf.ts';
