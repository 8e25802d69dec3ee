/**
 * The benchmark's notes: the seeded synthetic corpus of the index tests (realistic headings, lists,
 * code fences, a Zipf vocabulary), sized by chunk count, and a deterministic "user edits 1% of the
 * notes" step for the incremental run.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chunkMarkdown } from '../../notes/chunk-markdown.ts';
import { generateCorpus, type GeneratedCorpus } from '../../../test/support/synthetic-corpus.ts';

export type { GeneratedCorpus };

export async function prepareCorpus(dir: string, targetChunks: number, seed: number): Promise<GeneratedCorpus> {
  return generateCorpus({ seed, targetChunks, dir });
}

export interface EditResult {
  /** Notes changed. */
  notes: number;
  files: string[];
  /** Chunks of the edited notes whose embedded text is new: what an incremental run must embed. */
  changedChunks: number;
}

/**
 * Edits `share` of the notes (evenly spread, at least one) the way a person does: one sentence
 * appended to a paragraph in the middle of the note, on the same line, so only the chunk(s) holding
 * that paragraph change and every other chunk keeps its text and line numbers.
 */
export async function editNotes(corpus: GeneratedCorpus, share: number, round: number): Promise<EditResult> {
  const count = Math.max(1, Math.round(corpus.files.length * share));
  const step = corpus.files.length / count;
  const edited: string[] = [];
  let changedChunks = 0;
  for (let position = 0; position < count; position += 1) {
    const file = corpus.files[Math.floor(position * step)];
    if (file === undefined) continue;
    const path = join(corpus.dir, file);
    const before = await readFile(path, 'utf8');
    const lines = before.split('\n');
    const target = middleParagraphLine(lines);
    if (target === undefined) continue;
    lines[target] = `${lines[target] ?? ''} Revised in benchmark round ${round}: rollout checklist ${position}.`;
    const after = lines.join('\n');
    await writeFile(path, after);
    edited.push(file);
    // The title is part of every embedded text alike, so any title gives the same difference.
    const old = new Set(chunkMarkdown({ path: file, title: '', text: before }).map((chunk) => chunk.embedText));
    changedChunks += chunkMarkdown({ path: file, title: '', text: after }).filter((chunk) => !old.has(chunk.embedText)).length;
  }
  return { notes: edited.length, files: edited, changedChunks };
}

/** The paragraph line (prose, outside fences, not a heading or list item) closest to the middle. */
function middleParagraphLine(lines: readonly string[]): number | undefined {
  const candidates: number[] = [];
  let fenced = false;
  lines.forEach((line, index) => {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      return;
    }
    if (!fenced && /^[A-Z][^\n]*[.?]$/.test(line) && !/^---/.test(line)) candidates.push(index);
  });
  return candidates[Math.floor(candidates.length / 2)];
}
