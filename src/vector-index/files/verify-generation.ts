/**
 * The cheap checks of a generation: a manifest for this embedder and every file whole. HNSWLib.save()
 * writes three files non-atomically and load() trusts args.json, so the manifest (written last)
 * records every file's size and is checked before anything is trusted.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Embedder } from '../../embeddings/embedder.ts';
import { parseManifest, type Manifest } from '../manifest.ts';
import { FILES, KEYWORD_FILE } from './generation-files.ts';

export interface VerifiedGeneration {
  directory: string;
  manifest: Manifest;
  /** The manifest text and each file's size and mtime: equal fingerprints mean an unchanged generation. */
  fingerprint: string;
}

export type Failure = { ok: false; reason: string };

/** Reads and checks the manifest and the files it lists, without loading anything big. */
export async function verifyGeneration(directory: string, embedder: Embedder): Promise<{ ok: true; generation: VerifiedGeneration } | Failure> {
  let manifestText: string;
  try {
    manifestText = await readFile(join(directory, 'manifest.json'), 'utf8');
  } catch {
    return { ok: false, reason: 'manifest.json is missing (an interrupted build?)' };
  }
  const parsed = parseManifest(manifestText);
  if (!parsed.ok) return parsed;
  const manifest = parsed.manifest;
  if (manifest.embedder !== embedder.id) {
    return { ok: false, reason: `manifest is for embedder "${manifest.embedder}", not "${embedder.id}"` };
  }
  const stamps: string[] = [];
  for (const name of FILES) {
    const expected = manifest.files[name];
    if (expected === undefined) return { ok: false, reason: `manifest does not list ${name}` };
    const actual = await stat(join(directory, name)).catch(() => undefined);
    if (actual === undefined) return { ok: false, reason: `${name} is missing` };
    if (actual.size !== expected.bytes) {
      return { ok: false, reason: `${name} has ${actual.size} bytes, manifest says ${expected.bytes} (truncated?)` };
    }
    stamps.push(`${name}:${actual.size}:${actual.mtimeMs}`);
  }
  const keyword = manifest.files[KEYWORD_FILE];
  if (keyword !== undefined) {
    const actual = await stat(join(directory, KEYWORD_FILE)).catch(() => undefined);
    if (actual === undefined) return { ok: false, reason: `${KEYWORD_FILE} is missing` };
    if (actual.size !== keyword.bytes) {
      return { ok: false, reason: `${KEYWORD_FILE} has ${actual.size} bytes, manifest says ${keyword.bytes} (truncated?)` };
    }
    stamps.push(`${KEYWORD_FILE}:${actual.size}:${actual.mtimeMs}`);
  }
  return { ok: true, generation: { directory, manifest, fingerprint: `${stamps.join(' ')}\n${manifestText}` } };
}
