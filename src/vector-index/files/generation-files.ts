/**
 * The on-disk layout of the files backend: one folder per embedder under INDEX_DIR, holding generations.
 *
 *   INDEX_DIR/<embedder folder>/
 *     CURRENT             name of the live generation (replaced atomically with rename)
 *     gen-<time>-<pid>/   hnswlib.index, args.json, docstore.json (HNSWLib.save), vectors.bin,
 *                         keyword.bin (the keyword index's postings), manifest.json
 *
 * A build writes a new generation aside and only then points CURRENT at it, so a crash at any moment
 * leaves the previous generation loadable. This module names the files and reads CURRENT; writing is
 * `write-generation.ts`, checking `verify-generation.ts`.
 */
import { open, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Embedder } from '../../embeddings/embedder.ts';
import { embedderFolder } from '../indexed-chunk.ts';

export const FILES = ['hnswlib.index', 'args.json', 'docstore.json', 'vectors.bin'] as const;
/**
 * The keyword index's postings (`KeywordIndex.serialize`): optional, since generations written
 * before it existed lack it (their keyword index is built when they are loaded).
 */
export const KEYWORD_FILE = 'keyword.bin';
export const BUILDING_MARKER = 'BUILDING';

/** The folder of an embedder's generations. */
export function embedderDirectory(indexDir: string, embedder: Embedder): string {
  return join(indexDir, embedderFolder(embedder.id));
}

export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes a small file so that readers see the old or the new content, never a mix. */
export async function writeFileAtomic(path: string, content: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, content);
  await fsyncPath(temporary);
  await rename(temporary, path);
}

/** The generation CURRENT names, or undefined when it is missing or names none. */
export async function readCurrent(folder: string): Promise<string | undefined> {
  try {
    const name = (await readFile(join(folder, 'CURRENT'), 'utf8')).trim();
    return /^gen-[\w-]+$/.test(name) ? name : undefined;
  } catch {
    return undefined;
  }
}

export function rejectGeneration(log: ((line: string) => void) | undefined, directory: string, reason: string): undefined {
  log?.(`index ${directory} cannot be used (${reason}); rebuilding it`);
  return undefined;
}

/** The folder of the live generation, or undefined (a CURRENT that names none is logged). */
export async function currentDirectory(indexDir: string, embedder: Embedder, log: ((line: string) => void) | undefined): Promise<string | undefined> {
  const folder = embedderDirectory(indexDir, embedder);
  const current = await readCurrent(folder);
  if (current !== undefined) return join(folder, current);
  // No CURRENT is a fresh folder; a CURRENT that names no generation is damage, and worth a line.
  const raw = await readFile(join(folder, 'CURRENT'), 'utf8').catch(() => undefined);
  if (raw !== undefined) return rejectGeneration(log, folder, `CURRENT does not name a generation: ${JSON.stringify(raw.slice(0, 40))}`);
  return undefined;
}
