/**
 * A TypeScript child process whose stdout is read line by line, for the crash tests: they wait for
 * a line (a build's progress, the server's log), SIGKILL the child, then inspect what it left.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface LineChild<Line> {
  child: ChildProcess;
  /** Every stdout line so far, parsed. */
  lines: Line[];
  /** performance.now() when each line arrived. */
  times: number[];
  stderr(): string;
  /** Settles on 'close', not 'exit': only then has every stdout line been read. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running(): boolean;
  /** Resolves with the first line that matches; rejects if the child exits first. */
  waitFor(match: (line: Line) => boolean, what: string): Promise<Line>;
}

/** Starts `node --import tsx <script>` in `cwd`, adding it to `children` until it exits. */
export function spawnLineChild<Line>(
  script: string,
  cwd: string,
  parse: (line: string) => Line,
  children: Set<ChildProcess>,
): LineChild<Line> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  const lines: Line[] = [];
  const times: number[] = [];
  let stderr = '';
  let exitedAlready = false;
  const listeners = new Set<() => void>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(parse(line));
    times.push(performance.now());
    for (const listener of listeners) listener();
  });
  child.stderr!.on('data', (data: Buffer) => (stderr += data.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => {
      exitedAlready = true;
      children.delete(child);
      for (const listener of listeners) listener();
      resolve({ code, signal });
    }),
  );
  return {
    child,
    lines,
    times,
    stderr: () => stderr,
    exited,
    running: () => !exitedAlready,
    waitFor: (match, what) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const line = lines.find(match);
          if (line !== undefined) {
            listeners.delete(check);
            resolve(line);
          } else if (exitedAlready) {
            listeners.delete(check);
            reject(new Error(`${script} exited before ${what}: ${stderr}`));
          }
        };
        listeners.add(check);
        check();
      }),
  };
}
