/**
 * Test support for the CLI (used by the unit tests beside the commands and by
 * test/integration/cli.*.test.ts): run the CLI in-process with captured output, and find
 * Flux's golden files in ../shared when that checkout is present.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../config/paths.ts';
import { runCli } from '../program.ts';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export class Capture {
  text = '';
  constructor(readonly isTTY = false) {}
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

/** Runs `flotilla <args>` in this process; the exit code is 0 unless a command set one. */
export async function runFlotilla(args: string[], opts: { env?: Record<string, string | undefined>; cwd?: string; now?: () => Date } = {}): Promise<CliRun> {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await runCli(['node', 'flotilla', ...args], {
    stdout,
    stderr,
    // no ambient KUBECONFIG or FLUX_SYSTEM_NAMESPACE leaks into a test unless it passes one
    env: opts.env ?? {},
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    ...(opts.now ? { now: opts.now } : {}),
  });
  return { code: code ?? 0, stdout: stdout.text, stderr: stderr.text };
}

/** Flux's CLI testdata directory in ../shared, or undefined when that checkout is absent. */
export function fluxTestdataDir(): string | undefined {
  const dir = path.resolve(packageRoot(), '..', 'shared', 'fixtures', 'flux', 'flux2', 'cmd', 'flux', 'testdata');
  return existsSync(dir) ? dir : undefined;
}

export const NO_GOLDENS = 'Flux goldens not found in ../shared/fixtures/flux/flux2/cmd/flux/testdata';

/** A golden file's text with `{{ .key }}` placeholders filled in. */
export function readGolden(rel: string, vars: Record<string, string> = {}): string | undefined {
  const dir = fluxTestdataDir();
  if (!dir) return undefined;
  const text = readFileSync(path.join(dir, rel), 'utf8');
  return text.replace(/\{\{ \.(\w+) \}\}/g, (m, key: string) => vars[key] ?? m);
}
