/**
 * Helpers for the index tests: temp folders, a copy of the sample notes, a fingerprint of a
 * folder (to prove the notes folder is never written), an embedder that records what it embeds,
 * and a peek at the generation folders.
 */
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EmbedOptions, Embedder } from '../../src/embeddings/embedder.ts';
import { chunkMarkdown, type Chunk } from '../../src/notes/chunk-markdown.ts';
import { loadNotes } from '../../src/notes/load-notes.ts';
import { embedderFolder } from '../../src/vector-index/index-store.ts';
import { parseManifest, type Manifest } from '../../src/vector-index/manifest.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SAMPLE_NOTES_DIR = join(REPO_ROOT, 'notes');
export const SAMPLE_NOTE = 'dockercon-2023.md';

/** Temp folders under os.tmpdir(), removed by `cleanup()` (call it from afterAll/afterEach). */
export function createTempDirs(): { make(prefix?: string): Promise<string>; cleanup(): Promise<void> } {
  const made: string[] = [];
  return {
    async make(prefix = 'asknotes-index-') {
      const dir = await mkdtemp(join(tmpdir(), prefix));
      made.push(dir);
      return dir;
    },
    async cleanup() {
      await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
    },
  };
}

/** Copies the repo's `notes/` (the DockerCon sample) into `target`. */
export async function copySampleNotes(target: string): Promise<void> {
  await cp(SAMPLE_NOTES_DIR, target, { recursive: true });
}

/** A second, small note with words the sample never uses, so its chunks are easy to find (or miss). */
export const SECOND_NOTE = {
  path: 'ops/zebrafish-runbook.md',
  text: [
    '# Zebrafish Runbook',
    '',
    '## Paging',
    '',
    'When the zebrafish aquarium pager fires, acknowledge within five minutes and open the quokka dashboard.',
    'Escalate to the on-call marmoset if the water temperature alarm stays red for more than ten minutes.',
    'Never silence the pager from the lobby kiosk: it hides the alarm from everyone else on the rota.',
    '',
    '## Feeding schedule',
    '',
    '- Morning: flakes at 07:00, measured with the blue scoop.',
    '- Evening: brine shrimp at 19:00, thawed for ten minutes first.',
    '- Weekends: the automatic feeder, checked by whoever holds the pager.',
    '',
    '```bash',
    'aquarium-ctl feed --tank 3 --portion small',
    '```',
    '',
    '## Water changes',
    '',
    'Change a fifth of the water every Sunday. Match the temperature within one degree before pouring,',
    'and log the nitrate reading in the tank notebook so the trend stays visible across the months.',
    '',
  ].join('\n'),
} as const;

export async function writeNote(notesDir: string, path: string, text: string | Uint8Array): Promise<void> {
  const target = join(notesDir, path);
  await mkdir(dirname(target), { recursive: true });
  await writeFile(target, text);
}

/** sha256 over every file's relative path and bytes (and every folder's name), sorted. */
export async function hashDirectory(dir: string): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (folder: string): Promise<void> => {
    const entries = (await readdir(folder, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const entry of entries) {
      const path = join(folder, entry.name);
      const name = relative(dir, path).split(sep).join('/');
      if (entry.isDirectory()) {
        hash.update(`dir ${name}\n`);
        await walk(path);
      } else {
        hash.update(`file ${name}\n`);
        hash.update(await readFile(path));
      }
    }
  };
  await walk(dir);
  return hash.digest('hex');
}

/** What the index should hold for a notes folder, computed with the loader and chunker directly. */
export async function expectedChunks(notesDir: string): Promise<Chunk[]> {
  const { notes } = await loadNotes(notesDir);
  return notes.flatMap((note) => chunkMarkdown(note));
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Wraps an embedder and records every text it is asked to embed as a document. */
export function recordingEmbedder<T extends Embedder>(inner: T): { embedder: T; embedded: string[][] } {
  const embedded: string[][] = [];
  const embedder = Object.create(inner) as T;
  Object.defineProperty(embedder, 'embedDocuments', {
    value: (documents: string[], options?: EmbedOptions) => {
      embedded.push([...documents]);
      return inner.embedDocuments(documents, options);
    },
  });
  return { embedder, embedded };
}

/** A log sink that keeps its lines. */
export function collectLog(): { lines: string[]; log: (line: string) => void } {
  const lines: string[] = [];
  return { lines, log: (line) => lines.push(line) };
}

export function embedderDir(indexDir: string, embedderId: string): string {
  return join(indexDir, embedderFolder(embedderId));
}

/** The generation folders (`gen-*`) in an embedder's folder, sorted by name. */
export async function generationNames(indexDir: string, embedderId: string): Promise<string[]> {
  const entries = await readdir(embedderDir(indexDir, embedderId)).catch(() => [] as string[]);
  return entries.filter((name) => name.startsWith('gen-')).sort();
}

/** The folder CURRENT points at (undefined when there is no CURRENT file). */
export async function currentGeneration(indexDir: string, embedderId: string): Promise<string | undefined> {
  const folder = embedderDir(indexDir, embedderId);
  const name = await readFile(join(folder, 'CURRENT'), 'utf8').catch(() => undefined);
  return name === undefined ? undefined : join(folder, name.trim());
}

export async function readManifest(generationDir: string): Promise<Manifest> {
  const parsed = parseManifest(await readFile(join(generationDir, 'manifest.json'), 'utf8'));
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.manifest;
}

/** The part of a manifest that says which notes, at which content, as which chunks: what a build "is". */
export function manifestContent(manifest: Manifest): Record<string, { hash: string; chunkIds: string[] }> {
  return Object.fromEntries(
    Object.entries(manifest.notes)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([path, entry]) => [path, { hash: entry.hash, chunkIds: entry.chunkIds }]),
  );
}

/** `manifestContent` as a correct build of `notesDir` must write it, from the loader and chunker directly. */
export async function expectedManifestContent(notesDir: string): Promise<Record<string, { hash: string; chunkIds: string[] }>> {
  const { notes } = await loadNotes(notesDir);
  return Object.fromEntries(
    [...notes]
      .sort((a, b) => (a.path < b.path ? -1 : 1))
      .map((note) => [note.path, { hash: note.hash, chunkIds: chunkMarkdown(note).map((chunk) => chunk.id) }]),
  );
}
