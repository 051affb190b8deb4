/**
 * A child process with an argv array (never a shell), a deadline, an output cap and
 * cancellation. The child runs in its own process group so that a timeout also ends what
 * git started (git-remote-https, ssh, askpass helpers).
 */
import { spawn } from 'node:child_process';

export interface BoundedRunOptions {
  cwd?: string;
  env: Record<string, string>;
  timeoutMs: number;
  /** Cap for stdout; stderr keeps only its last 64 KiB. */
  maxOutputBytes: number;
  signal?: AbortSignal;
  input?: string;
}

export interface BoundedRunResult {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  timedOut: boolean;
  aborted: boolean;
  outputTooLarge: boolean;
  durationMs: number;
}

const STDERR_KEEP = 64 * 1024;

/** Runs `file` with `args`; resolves whatever the exit status (rejects only if it cannot start). */
export function runBounded(file: string, args: readonly string[], options: BoundedRunOptions): Promise<BoundedRunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      resolve({ stdout: '', stderr: '', exitCode: null, timedOut: false, aborted: true, outputTooLarge: false, durationMs: 0 });
      return;
    }
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
      shell: false,
      windowsHide: true,
    });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr = '';
    let timedOut = false;
    let aborted = false;
    let outputTooLarge = false;
    let settled = false;

    const killGroup = (): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, Math.max(1, options.timeoutMs));
    const onAbort = (): void => {
      aborted = true;
      killGroup();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });

    child.stdout.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > options.maxOutputBytes) {
        if (!outputTooLarge) {
          outputTooLarge = true;
          killGroup();
        }
        return;
      }
      stdout.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      if (stderr.length > STDERR_KEEP) stderr = stderr.slice(-STDERR_KEEP);
    });
    child.stdin.on('error', () => {
      // The child may exit without reading its input; its exit status tells what happened.
    });
    child.stdin.end(options.input ?? '');

    const finish = (exitCode: number | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      // Whatever the child left behind in its group (e.g. an ssh still connecting) goes too.
      if (exitCode !== 0) killGroup();
      resolve({
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr,
        exitCode,
        timedOut,
        aborted,
        outputTooLarge,
        durationMs: Date.now() - started,
      });
    };
    child.on('error', (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      reject(err);
    });
    child.on('close', (code) => finish(code));
  });
}
