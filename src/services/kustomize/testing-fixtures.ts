import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { kubectlFromEnvironment, kubectlPath } from './tools.ts';

/** Helpers for this folder's tests: temp trees and the real kubectl. */

export async function withTree<T>(files: Readonly<Record<string, string>>, fn: (root: string) => Promise<T>): Promise<T> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'kustomize-test-'));
  try {
    await writeTree(root, files);
    return await fn(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

export async function writeTree(root: string, files: Readonly<Record<string, string>>): Promise<void> {
  for (const [rel, text] of Object.entries(files)) {
    const file = path.join(root, rel);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, text);
  }
}

/** The kubectl the tests use, or undefined (with the reason) when none runs here. */
export function testKubectl(): { path: string } | { skip: string } {
  const candidate = kubectlPath(kubectlFromEnvironment());
  try {
    const out = execFileSync(candidate, ['version', '--client'], { encoding: 'utf8', timeout: 20_000 });
    if (!/Kustomize Version: v5\./.test(out)) return { skip: `${candidate} does not embed kustomize v5` };
    return { path: candidate };
  } catch {
    return { skip: `kubectl not found (looked for ${candidate}); run the tools install script` };
  }
}
