import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { StallingError } from '../../runtime/errors.ts';
import { BUILD_FAILED_REASON, findKustomizationFile } from './generate.ts';

/**
 * kustomize runs with LoadRestrictionsNone (as Flux sets it, so overlays may use `../base`),
 * which would let a kustomization read any file on the machine. Flux confines it with a
 * filesystem rooted at the artifact; we run the real binary, so we walk every
 * kustomization the build reaches first and refuse any local reference that leaves the
 * artifact root (symlinks included), and remote references under --no-remote-bases.
 */

export interface ReferenceScanOptions {
  readonly noRemoteBases: boolean;
}

export interface ReferenceScan {
  /** Remote resources/components met (allowed only when noRemoteBases is false). */
  readonly remote: readonly string[];
  /** Kustomization files visited, relative to the root. */
  readonly kustomizations: readonly string[];
}

/** kustomize's idea of a remote target (its repospec prefixes, or any URL with a host). */
export function isRemoteReference(ref: string): boolean {
  const lower = ref.toLowerCase();
  if (['git::', 'gh:', 'ssh://', 'https://', 'http://', 'git@', 'github.com:', 'github.com/'].some((p) => lower.startsWith(p))) return true;
  return /^[a-z][a-z0-9+.-]*:\/\/[^/]/.test(lower) && !lower.startsWith('file://');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : []);

/** Entries that may hold a path or inline YAML: a path is a single line. */
const isInline = (s: string): boolean => s.includes('\n');

export async function scanReferences(root: string, dir: string, options: ReferenceScanOptions): Promise<ReferenceScan> {
  const realRoot = await realpath(root);
  const rootAbs = path.resolve(root);
  const remote: string[] = [];
  const kustomizations: string[] = [];
  const visited = new Set<string>();
  const rel = (p: string): string => path.relative(realRoot, p) || '.';

  const contained = async (from: string, ref: string, field: string, kfile: string): Promise<string | undefined> => {
    const cleaned = ref.replace(/^file:\/\//, '');
    const abs = path.resolve(from, cleaned);
    const mapped = abs === rootAbs || abs.startsWith(rootAbs + path.sep) ? realRoot + abs.slice(rootAbs.length) : abs;
    const escapes = (p: string): boolean => p !== realRoot && !p.startsWith(realRoot + path.sep);
    const refuse = (): StallingError =>
      new StallingError(BUILD_FAILED_REASON, `${field} entry '${ref}' in ${rel(kfile)} points outside the source artifact, which is not allowed`);
    if (escapes(mapped)) throw refuse();
    let real: string;
    try {
      real = await realpath(mapped);
    } catch {
      return undefined; // missing: kustomize reports it
    }
    if (escapes(real)) throw refuse();
    return real;
  };

  const visit = async (kdir: string): Promise<void> => {
    if (visited.has(kdir)) return;
    visited.add(kdir);
    const kfile = await findKustomizationFile(kdir);
    if (!kfile) return;
    kustomizations.push(rel(kfile));
    let kus: unknown;
    try {
      kus = parse(await readFile(kfile, 'utf8'));
    } catch {
      return; // kustomize reports the syntax error
    }
    if (!isRecord(kus)) return;

    const checkFile = async (ref: string, field: string): Promise<void> => {
      if (ref === '' || isInline(ref)) return;
      if (isRemoteReference(ref)) {
        throw new StallingError(BUILD_FAILED_REASON, `${field} entry '${ref}' in ${rel(kfile)} is remote, which is not supported there`);
      }
      await contained(kdir, ref, field, kfile);
    };
    const checkTarget = async (ref: string, field: string): Promise<void> => {
      if (isRemoteReference(ref)) {
        if (options.noRemoteBases) {
          throw new StallingError(
            BUILD_FAILED_REASON,
            `remote bases are disabled on this controller (--no-remote-bases): ${field} entry '${ref}' in ${rel(kfile)}`,
          );
        }
        remote.push(ref);
        return;
      }
      const real = await contained(kdir, ref, field, kfile);
      if (real === undefined) return;
      const st = await stat(real).catch(() => undefined);
      if (st?.isDirectory()) await visit(real);
    };

    for (const field of ['resources', 'bases', 'components']) {
      for (const ref of strings(kus[field])) await checkTarget(ref, field);
    }
    for (const field of ['crds', 'configurations']) {
      for (const ref of strings(kus[field])) await checkFile(ref, field);
    }
    for (const ref of strings(kus['patchesStrategicMerge'])) await checkFile(ref, 'patchesStrategicMerge');
    for (const field of ['generators', 'transformers', 'validators']) {
      for (const ref of strings(kus[field])) {
        if (isInline(ref)) continue;
        await checkTarget(ref, field);
      }
    }
    for (const field of ['patches', 'patchesJson6902', 'replacements']) {
      for (const entry of Array.isArray(kus[field]) ? kus[field] : []) {
        if (isRecord(entry) && typeof entry['path'] === 'string') await checkFile(entry['path'], field);
      }
    }
    for (const field of ['configMapGenerator', 'secretGenerator']) {
      for (const gen of Array.isArray(kus[field]) ? kus[field] : []) {
        if (!isRecord(gen)) continue;
        for (const src of strings(gen['files'])) {
          const eq = src.indexOf('=');
          await checkFile(eq >= 0 ? src.slice(eq + 1) : src, field);
        }
        for (const env of [...strings(gen['envs']), ...strings(gen['env'])]) await checkFile(env, field);
      }
    }
    const openapi = kus['openapi'];
    if (isRecord(openapi) && typeof openapi['path'] === 'string') await checkFile(openapi['path'], 'openapi');
    const helmGlobals = kus['helmGlobals'];
    if (isRecord(helmGlobals) && typeof helmGlobals['chartHome'] === 'string') await checkFile(helmGlobals['chartHome'], 'helmGlobals');
  };

  const start = await realpath(dir).catch(() => path.resolve(dir));
  if (start !== realRoot && !start.startsWith(realRoot + path.sep)) {
    throw new StallingError(BUILD_FAILED_REASON, `the build directory is outside the source artifact`);
  }
  await visit(start);
  return { remote, kustomizations };
}
