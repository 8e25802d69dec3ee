/**
 * Makes sure INDEX_DIR exists and can be written before a build starts, and says in plain words
 * what is wrong when it cannot (issue 17): a read-only file system, a folder this user may not
 * write, a file where a folder should be, or a virtual file system such as /proc.
 *
 * Why not `mkdir(path, { recursive: true })`: on Linux pseudo file systems (/proc) a non-recursive
 * mkdir answers ENOENT even though the parent exists, and Node's recursive mkdir then retries the
 * parent for ever — the build never ends and never fails. The folders are created one level at a
 * time here, so every refusal surfaces at once.
 */
import { constants } from 'node:fs';
import { access, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { errorCode, FolderProblem } from '../notes/folder-problem.ts';

const INDEX_FIX = 'Set INDEX_DIR to a folder this user can write (in Docker: a named volume, not a read-only mount).';

/** The plain-words description of an errno met while creating or writing the index folder. */
export function describeIndexFolderError(code: string | undefined, folder: string, cause?: unknown): FolderProblem {
  const problem = (text: string) => new FolderProblem('INDEX_DIR', folder, text, INDEX_FIX, cause);
  switch (code) {
    case 'EROFS':
      return problem('is on a read-only file system');
    case 'EACCES':
    case 'EPERM':
      return problem('is not writable by this user');
    case 'ENOTDIR':
    case 'EEXIST':
      return problem('is not a folder (a file is in the way)');
    case 'ENOENT':
      // The parent exists (it was checked first), yet the folder cannot be made: /proc, /sys and the like.
      return problem('cannot be created: the file system there does not hold ordinary folders (such as /proc or /sys)');
    case 'ENOSPC':
    case 'EDQUOT':
      return problem('is on a full disk');
    default:
      return problem(`cannot be used (${code ?? (cause instanceof Error ? cause.message : String(cause))})`);
  }
}

/**
 * Creates the index folder (and its missing parents, one level at a time) and proves it can be
 * written by creating and removing a small file. Throws a FolderProblem; never hangs.
 */
export async function prepareIndexFolder(indexDir: string): Promise<void> {
  const folder = resolve(indexDir);
  const missing: string[] = [];
  let existing = folder;
  for (;;) {
    try {
      if (!(await stat(existing)).isDirectory()) throw describeIndexFolderError('ENOTDIR', folder);
      break;
    } catch (error) {
      if (error instanceof FolderProblem) throw error;
      const code = errorCode(error);
      if (code !== 'ENOENT') throw describeIndexFolderError(code, folder, error);
      const parent = dirname(existing);
      if (parent === existing) throw describeIndexFolderError(code, folder, error);
      missing.unshift(existing);
      existing = parent;
    }
  }
  for (const level of missing) {
    try {
      await mkdir(level);
    } catch (error) {
      const code = errorCode(error);
      // Another process (a second indexer, a test) may have made it meanwhile.
      if (code === 'EEXIST' && (await stat(level).then((found) => found.isDirectory(), () => false))) continue;
      throw describeIndexFolderError(code, folder, error);
    }
  }
  // access(W_OK) alone misses read-only mounts for root and some network shares: write for real.
  const probe = join(folder, `.asknotes-write-check-${process.pid}`);
  try {
    await access(folder, constants.W_OK);
    await writeFile(probe, '');
  } catch (error) {
    throw describeIndexFolderError(errorCode(error), folder, error);
  } finally {
    await rm(probe, { force: true }).catch(() => undefined);
  }
}
