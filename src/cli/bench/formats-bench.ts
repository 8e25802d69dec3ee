/**
 * `npm run bench -- --only formats`: index time for other kinds of notes folders (issue 16) — one
 * 200-page PDF made on the spot (about 40 lines of text a page), and the real Foam (wikilink vault)
 * and tldr corpora from `../shared/corpora` when they are there. Each is a full build with the
 * built-in embedder in a child process, as `npm run index -- --rebuild` runs it.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runJsonScript } from './child.ts';
import type { IndexWorkerRequest, IndexWorkerResult } from './index-worker.ts';
import { makePdf } from './make-pdf.ts';
import { INDEX_WORKER, type BenchWorkspace } from './workspace.ts';

export interface FormatBuild {
  corpus: string;
  notes: number;
  chunks: number;
  seconds: number;
  cpuSeconds: number;
  peakRssMb: number;
  /** Seconds reading the notes (for the PDF: parsing it with pdf.js). */
  readSeconds: number;
}

export interface FormatFigures {
  pdfPages: number;
  builds: FormatBuild[];
  /** Corpora that were not found (no ../shared beside the repository). */
  skipped: string[];
}

export const SHARED_CORPORA = fileURLToPath(new URL('../../../../shared/corpora/', import.meta.url));

const WORDS = 'index page note answer search vector chunk budget office report plan team storage model question source line citation folder meeting'.split(' ');

/** A page of text: seeded words in sentences, about 40 lines of up to 90 characters. */
function pageLines(page: number, random: () => number): string[] {
  const lines = [`Chapter ${Math.ceil(page / 10)}, page ${page}`];
  for (let line = 0; line < 40; line += 1) {
    const words: string[] = [];
    while (words.join(' ').length < 80) words.push(WORDS[Math.floor(random() * WORDS.length)]!);
    lines.push(`${words.join(' ')}.`);
  }
  return lines;
}

function seededRandom(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

async function build(corpus: string, notesDir: string, indexDir: string): Promise<FormatBuild> {
  const request: IndexWorkerRequest = { notesDir, indexDir, rebuild: true };
  const result = await runJsonScript<IndexWorkerResult>(INDEX_WORKER, [JSON.stringify(request)]);
  return {
    corpus,
    notes: result.notes,
    chunks: result.chunks,
    seconds: result.seconds,
    cpuSeconds: result.cpuSeconds,
    peakRssMb: result.peakRssBytes / 1024 ** 2,
    readSeconds: result.phases['read'] ?? 0,
  };
}

export async function runFormatsBench(options: {
  workspace: BenchWorkspace;
  pdfPages: number;
  /** Real corpora to index, by name: folder (default: foam-docs and tldr from ../shared/corpora). */
  corpora?: Record<string, string>;
  log: (line: string) => void;
}): Promise<FormatFigures> {
  const root = join(options.workspace.root, 'formats');
  const pdfNotes = join(root, 'pdf', 'notes');
  await mkdir(pdfNotes, { recursive: true });
  const random = seededRandom(options.workspace.seed);
  const pages = Array.from({ length: options.pdfPages }, (_, index) => pageLines(index + 1, random));
  await writeFile(join(pdfNotes, 'book.pdf'), makePdf({ pages }));
  const builds: FormatBuild[] = [];
  options.log(`formats: indexing a ${options.pdfPages}-page PDF`);
  builds.push(await build(`${options.pdfPages}-page PDF`, pdfNotes, join(root, 'pdf', 'index')));
  const corpora = options.corpora ?? { 'Foam docs (wikilinks)': join(SHARED_CORPORA, 'foam-docs'), tldr: join(SHARED_CORPORA, 'tldr') };
  const skipped: string[] = [];
  for (const [name, folder] of Object.entries(corpora)) {
    if (!existsSync(folder)) {
      skipped.push(name);
      continue;
    }
    options.log(`formats: indexing ${name} (${folder})`);
    builds.push(await build(name, folder, join(root, name.replace(/\W+/g, '-'), 'index')));
  }
  return { pdfPages: options.pdfPages, builds, skipped };
}
