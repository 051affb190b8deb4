import { accessSync, constants } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Where the `kubectl` binary (with its embedded kustomize) comes from. The environment is
 * read in exactly one function so that src/config can own it; everything else takes the
 * path as a parameter.
 */

/** The install location used by the project's tool script. */
export function cachedKubectlPath(homeDir: string = os.homedir()): string {
  return path.join(homeDir, '.cache', 'flotilla', 'tools', 'kubectl', 'kubectl');
}

/** The one environment read: FLOTILLA_KUBECTL. Config should call this and pass the result down. */
export function kubectlFromEnvironment(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env['FLOTILLA_KUBECTL'];
  return value !== undefined && value !== '' ? value : undefined;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Resolves the kubectl to run: an explicit path (from config, e.g. FLOTILLA_KUBECTL), else
 * the cached install, else `kubectl` from PATH.
 */
export function kubectlPath(explicit?: string, homeDir?: string): string {
  if (explicit !== undefined && explicit !== '') return explicit;
  const cached = cachedKubectlPath(homeDir);
  return isExecutable(cached) ? cached : 'kubectl';
}
