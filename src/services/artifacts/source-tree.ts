import { promises as fs } from 'node:fs';
import path from 'node:path';
import { StallingError, TransientError } from '../../runtime/errors.ts';
import { parseIgnoreText, SOURCE_IGNORE_FILE, type IgnorePattern } from './ignore.ts';

export type TreeEntryKind = 'directory' | 'file' | 'symlink' | 'other';

export interface TreeEntry {
  /** `/`-separated path relative to the root. */
  readonly rel: string;
  readonly segments: readonly string[];
  readonly kind: TreeEntryKind;
}

export interface SourceTree {
  /** The real path of the root (symlinks in the root's own path resolved). */
  readonly root: string;
  /** Every entry below the root except `.git`, depth-first, names sorted in each directory. */
  readonly entries: readonly TreeEntry[];
  /** Patterns from `.sourceignore` files, outer directories first, each scoped to its directory. */
  readonly ignorePatterns: readonly IgnorePattern[];
}

/** A `.sourceignore` larger than this is refused rather than read into memory. */
export const MAX_SOURCE_IGNORE_FILE_BYTES = 1024 * 1024;

/**
 * Lists a source directory without following symlinks, and collects the
 * `.sourceignore` files in it the way Flux does (a directory's own file before its
 * subdirectories'). `.git` is never entered. Only regular `.sourceignore` files are read:
 * a symlink named `.sourceignore` is not opened (it could point at `/dev/zero`).
 */
export async function scanSourceTree(dir: string): Promise<SourceTree> {
  let root: string;
  try {
    root = await fs.realpath(dir);
    if (!(await fs.stat(root)).isDirectory()) throw new Error('not a directory');
  } catch (e: unknown) {
    throw new TransientError('ArchiveOperationFailed', `invalid source directory '${dir}': ${(e as Error).message}`, { cause: e });
  }
  const entries: TreeEntry[] = [];
  const ignorePatterns: IgnorePattern[] = [];

  const walk = async (absDir: string, segments: readonly string[]): Promise<void> => {
    const dirents = await fs.readdir(absDir, { withFileTypes: true });
    dirents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const ignoreFile = dirents.find((d) => d.name === SOURCE_IGNORE_FILE && d.isFile());
    if (ignoreFile !== undefined) {
      ignorePatterns.push(...(await readIgnoreFile(path.join(absDir, SOURCE_IGNORE_FILE), segments)));
    }
    for (const d of dirents) {
      if (d.name === '.git') continue;
      const childSegments = [...segments, d.name];
      const rel = childSegments.join('/');
      if (d.isDirectory()) {
        entries.push({ rel, segments: childSegments, kind: 'directory' });
        await walk(path.join(absDir, d.name), childSegments);
      } else if (d.isFile()) {
        entries.push({ rel, segments: childSegments, kind: 'file' });
      } else if (d.isSymbolicLink()) {
        entries.push({ rel, segments: childSegments, kind: 'symlink' });
      } else {
        entries.push({ rel, segments: childSegments, kind: 'other' });
      }
    }
  };

  try {
    await walk(root, []);
  } catch (e: unknown) {
    if (e instanceof StallingError) throw e;
    throw new TransientError('ArchiveOperationFailed', `failed to read source directory: ${(e as Error).message}`, { cause: e });
  }
  return { root, entries, ignorePatterns };
}

/** The `.sourceignore` patterns of a directory tree, as Flux loads them. */
export async function loadSourceIgnorePatterns(dir: string): Promise<IgnorePattern[]> {
  return [...(await scanSourceTree(dir)).ignorePatterns];
}

async function readIgnoreFile(file: string, domain: readonly string[]): Promise<IgnorePattern[]> {
  const display = [...domain, SOURCE_IGNORE_FILE].join('/');
  const handle = await fs.open(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return [];
    if (stat.size > MAX_SOURCE_IGNORE_FILE_BYTES) {
      throw new StallingError(
        'SourceIgnoreError',
        `${display} is ${stat.size} bytes, more than the ${MAX_SOURCE_IGNORE_FILE_BYTES} bytes allowed for an ignore file`,
      );
    }
    return parseIgnoreText(await handle.readFile('utf8'), domain);
  } finally {
    await handle.close();
  }
}
