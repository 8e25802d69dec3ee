/**
 * A folder the app needs (NOTES_DIR, INDEX_DIR) that cannot be used, described in plain words with
 * the variable and the fix, for the log, `/readyz` and the page (issue 17: raw errno text such as
 * "ENOENT: no such file or directory, mkdir …" told users nothing).
 */
export class FolderProblem extends Error {
  override readonly name = 'FolderProblem';
  readonly variable: string;
  readonly folder: string;
  readonly fix: string;

  constructor(variable: string, folder: string, problem: string, fix: string, cause?: unknown) {
    super(`${variable} ${folder} ${problem}. ${fix}`, cause === undefined ? undefined : { cause });
    this.variable = variable;
    this.folder = folder;
    this.fix = fix;
  }
}

/** The errno code of a Node file-system error (`ENOENT`, `EROFS`, …), if it has one. */
export function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

const NOTES_FIX = 'Set NOTES_DIR to the folder that holds your notes (in Docker: the folder mounted at /notes).';

/** The plain-words description of an errno met while opening the notes folder. */
export function describeNotesFolderError(code: string | undefined, folder: string, cause?: unknown): FolderProblem {
  const problem = (text: string) => new FolderProblem('NOTES_DIR', folder, text, NOTES_FIX, cause);
  switch (code) {
    case 'ENOENT':
      return problem('does not exist');
    case 'EACCES':
    case 'EPERM':
      return problem('is not readable by this user');
    case 'ENOTDIR':
      return problem('is not a folder');
    case 'ELOOP':
      return problem('is a symbolic link that loops');
    default:
      return problem(`cannot be read (${code ?? (cause instanceof Error ? cause.message : String(cause))})`);
  }
}
