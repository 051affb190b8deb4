/**
 * What every CLI command writes to and how it ends: injectable output streams (tests run
 * the CLI in-process), Flux's progress symbols on stderr, colour only on a terminal, and
 * one `✗ message` line plus a non-zero exit code for any error.
 */
import { styleText } from 'node:util';
import { Command, CommanderError } from 'commander';
import { isApiError } from '../../runtime/client/errors.ts';
import type { KubeClient } from '../../runtime/client/client.ts';

export interface CliWriter {
  write(chunk: string): unknown;
  isTTY?: boolean | undefined;
}

export interface CliIO {
  stdout: CliWriter;
  stderr: CliWriter;
  /** Environment variables (KUBECONFIG, FLUX_SYSTEM_NAMESPACE); the CLI reads no others. */
  env: Readonly<Record<string, string | undefined>>;
  /** Directory that relative defaults (the dev environment's `.flotilla/dev`) resolve against. */
  cwd: string;
  now(): Date;
  /** Set by a command that failed; runCli returns it. */
  exitCode: number | undefined;
}

export type CliIOOptions = Partial<Omit<CliIO, 'exitCode'>>;

export function cliIO(opts: CliIOOptions = {}): CliIO {
  return {
    stdout: opts.stdout ?? process.stdout,
    stderr: opts.stderr ?? process.stderr,
    env: opts.env ?? process.env,
    cwd: opts.cwd ?? process.cwd(),
    now: opts.now ?? (() => new Date()),
    exitCode: undefined,
  };
}

/** An error whose message is already worded for the user; `exitCode` defaults to 1. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

type Colour = 'green' | 'red' | 'yellow' | 'cyan' | 'gray';

/** Colours `text` when `w` is a terminal; styleText's own check would look at process.stdout instead. */
export function paint(w: CliWriter, colour: Colour, text: string): string {
  return w.isTTY === true ? styleText(colour, text, { validateStream: false }) : text;
}

/** Flux's progress lines (`► ✚ ◎ ✔ ⚠️ ✗`), written to stderr so stdout stays machine-readable. */
export class Progress {
  constructor(private readonly w: CliWriter) {}

  private line(symbol: string, colour: Colour, text: string): void {
    this.w.write(`${paint(this.w, colour, symbol)} ${text}\n`);
  }

  action(text: string): void {
    this.line('►', 'cyan', text);
  }
  generate(text: string): void {
    this.line('✚', 'cyan', text);
  }
  waiting(text: string): void {
    this.line('◎', 'yellow', text);
  }
  success(text: string): void {
    this.line('✔', 'green', text);
  }
  warning(text: string): void {
    this.line('⚠️', 'yellow', text);
  }
  failure(text: string): void {
    this.line('✗', 'red', text);
  }
}

export function errorMessage(e: unknown): string {
  if (isApiError(e)) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

export interface ActionContext {
  io: CliIO;
  cmd: Command;
  /** Positional arguments as commander parsed them. */
  args: unknown[];
  opts: Record<string, unknown>;
  progress: Progress;
  out(text: string): void;
  /** Registers a client to close when the action ends (keep-alive sockets hold the process). */
  track(client: KubeClient): KubeClient;
}

/**
 * Wraps a command body: returns its exit code through `io.exitCode`, turns any thrown
 * error into one `✗` line, and closes the clients it opened.
 */
export function action(io: CliIO, body: (ctx: ActionContext) => Promise<number | void>): (...a: unknown[]) => Promise<void> {
  return async (...a: unknown[]) => {
    const cmd = a[a.length - 1] as Command;
    const clients: KubeClient[] = [];
    const progress = new Progress(io.stderr);
    const ctx: ActionContext = {
      io,
      cmd,
      args: cmd.processedArgs,
      opts: cmd.opts(),
      progress,
      out: (text) => void io.stdout.write(`${text}\n`),
      track: (c) => {
        clients.push(c);
        return c;
      },
    };
    try {
      const code = await body(ctx);
      if (typeof code === 'number' && code !== 0) io.exitCode = code;
    } catch (e) {
      progress.failure(errorMessage(e).replace(/\s*\n\s*/g, ' '));
      io.exitCode = e instanceof CliError ? e.exitCode : 1;
    } finally {
      for (const c of clients) c.close();
    }
  };
}

/**
 * Parses argv with commander configured for in-process use: its output goes to the
 * injected writers, its errors become one `✗` line, and it never calls process.exit.
 */
export async function parseProgram(program: Command, argv: string[], io: CliIO): Promise<number | undefined> {
  const configure = (cmd: Command): void => {
    cmd.exitOverride();
    cmd.configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
      outputError: (s, write) => write(`${paint(io.stderr, 'red', '✗')} ${s.replace(/^error: /, '')}`),
    });
    for (const sub of cmd.commands) configure(sub);
  };
  configure(program);
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    throw e;
  }
  return io.exitCode;
}
