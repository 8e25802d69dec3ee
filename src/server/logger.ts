/**
 * A deliberately tiny logger: one JSON object per line, so logs stay greppable and machine-readable
 * without a dependency. Callers pass a short message and structured fields; they must never pass
 * API tokens, and never note text or question text at `info` (see issue 8: request logs are read
 * by people who should not see the notes).
 */
export type LogLevel = 'silent' | 'error' | 'warn' | 'info' | 'debug';

export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
}

const SEVERITY: Record<Exclude<LogLevel, 'silent'>, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface LoggerOptions {
  level: LogLevel;
  /** Where finished lines go (one call per line, newline included); defaults to stdout. */
  write?: (line: string) => void;
  /** Clock for the `time` field; injectable so tests can compare whole lines. */
  now?: () => Date;
}

export function createLogger(options: LoggerOptions): Logger {
  const write = options.write ?? ((line: string) => void process.stdout.write(line));
  const now = options.now ?? (() => new Date());
  const threshold = options.level === 'silent' ? -1 : SEVERITY[options.level];
  const emit = (level: Exclude<LogLevel, 'silent'>, message: string, fields?: LogFields): void => {
    if (SEVERITY[level] > threshold) return;
    const line: Record<string, unknown> = { time: now().toISOString(), level, msg: message };
    // A field called `msg`, `level` or `time` must not overwrite the real ones.
    for (const [key, value] of Object.entries(fields ?? {})) if (!(key in line)) line[key] = value;
    // JSON.stringify escapes control characters, so a hostile path cannot forge extra log lines.
    write(`${JSON.stringify(line)}\n`);
  };
  return {
    error: (message, fields) => emit('error', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    info: (message, fields) => emit('info', message, fields),
    debug: (message, fields) => emit('debug', message, fields),
  };
}

/** For tests and tools that want no output. */
export const silentLogger: Logger = createLogger({ level: 'silent' });
