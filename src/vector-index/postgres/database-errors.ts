/**
 * A database that cannot be reached, said plainly: at start-up and in /readyz as "the database at
 * host:port/db is unreachable" (never its password), and to a question asked meanwhile as
 * `503 index_not_ready`, not as an internal error.
 */
import { AppError } from '../../errors.ts';

/** Driver and server codes of a connection that failed or was lost (57P03: the server is starting or stopping). */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'EPIPE', '57P01', '57P03']);

export function isUnreachable(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return (
    (typeof code === 'string' && UNREACHABLE.has(code)) ||
    /timeout exceeded when trying to connect|Connection terminated|Client has encountered a connection error/i.test(message)
  );
}

/** `isUnreachable` of the error or of any error in its `cause` chain (an explained error keeps the driver's as its cause). */
export function isDatabaseUnreachable(error: unknown): boolean {
  for (let at: unknown = error, depth = 0; at !== undefined && at !== null && depth < 5; at = (at as { cause?: unknown }).cause, depth++) {
    if (isUnreachable(at)) return true;
  }
  return false;
}

/** Says which database could not be reached (never its password), keeping the driver's error as the cause. */
export function explainDatabaseError(error: unknown, databaseUrl: string): unknown {
  if (!isUnreachable(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  let where = 'DATABASE_URL';
  try {
    const url = new URL(databaseUrl);
    where = `${url.hostname}:${url.port || '5432'}${url.pathname}`;
  } catch {
    // The config validated the URL; keep the generic name otherwise.
  }
  return new Error(`the database at ${where} is unreachable: ${message}`, { cause: error });
}

/** For a search: a lost database is a 503 the client may retry; anything else stays as it is. */
export function searchError(error: unknown): unknown {
  if (!isUnreachable(error)) return error;
  return new AppError('index_not_ready', 'The index database cannot be reached right now; try again in a moment (see GET /readyz).', { cause: error });
}
