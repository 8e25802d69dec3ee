/** Writing a generation aside and switching CURRENT to it; removing generations nobody needs. */
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HNSWLib } from '@langchain/community/vectorstores/hnswlib';
import type { Manifest } from '../manifest.ts';
import { BUILDING_MARKER, FILES, fsyncPath, KEYWORD_FILE, readCurrent, writeFileAtomic } from './generation-files.ts';

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function writeGeneration(
  folder: string,
  store: HNSWLib,
  vectors: Float32Array,
  keyword: Uint8Array,
  manifestBase: Omit<Manifest, 'files'>,
  signal: AbortSignal | undefined,
  /** Runs once the files are written, before they are synced and listed in the manifest. */
  afterSave: (directory: string) => Promise<void>,
): Promise<{ directory: string; manifest: Manifest; fingerprint: string }> {
  await mkdir(folder, { recursive: true });
  const name = `gen-${Date.now().toString(36)}-${process.pid}`;
  const directory = join(folder, name);
  await mkdir(directory);
  await writeFile(join(directory, BUILDING_MARKER), String(process.pid));
  try {
    await store.save(directory);
    await writeFile(join(directory, 'vectors.bin'), new Uint8Array(vectors.buffer, vectors.byteOffset, vectors.byteLength));
    await writeFile(join(directory, KEYWORD_FILE), keyword);
    await afterSave(directory);
    const files: Manifest['files'] = {};
    const stamps: string[] = [];
    for (const file of [...FILES, KEYWORD_FILE]) {
      const path = join(directory, file);
      await fsyncPath(path);
      const { size, mtimeMs } = await stat(path);
      files[file] = { bytes: size };
      stamps.push(`${file}:${size}:${mtimeMs}`);
    }
    signal?.throwIfAborted();
    const manifest: Manifest = { ...manifestBase, files };
    const manifestText = JSON.stringify(manifest);
    await writeFileAtomic(join(directory, 'manifest.json'), manifestText);
    await fsyncPath(directory);
    // The switch: until this rename, readers keep loading the previous generation.
    await writeFileAtomic(join(folder, 'CURRENT'), `${name}\n`);
    await fsyncPath(folder);
    await rm(join(directory, BUILDING_MARKER), { force: true });
    return { directory, manifest, fingerprint: `${stamps.join(' ')}\n${manifestText}` };
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
}

/** Removes generations that are neither live nor still being written by a running process. */
export async function cleanOldGenerations(folder: string, keep: string): Promise<void> {
  const current = await readCurrent(folder);
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    if (!entry.isDirectory() || !entry.name.startsWith('gen-')) continue;
    const path = join(folder, entry.name);
    if (path === keep || entry.name === current) continue;
    const builder = await readFile(join(path, BUILDING_MARKER), 'utf8').catch(() => undefined);
    // A build killed before it wrote its pid leaves an empty marker; Number('') is 0, and
    // process.kill(0, 0) signals our own process group and succeeds: only a real pid can be alive.
    const pid = builder === undefined || !/^\d+$/.test(builder.trim()) ? 0 : Number(builder);
    if (pid > 0 && pid !== process.pid && isProcessAlive(pid)) continue;
    await rm(path, { recursive: true, force: true });
  }
  for (const entry of await readdir(folder)) {
    if (entry.endsWith('.tmp')) await rm(join(folder, entry), { force: true });
  }
}
