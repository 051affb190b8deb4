import { promises as fs, createWriteStream } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { StallingError, TransientError, isReconcileError } from '../../runtime/errors.ts';
import { DigestingStream } from './digest.ts';
import { parseIgnoreText, sourceIgnoreMatcher, type IgnoreMatcher } from './ignore.ts';
import { isWithin } from './paths.ts';
import { scanSourceTree, type TreeEntry } from './source-tree.ts';
import { encodeTarHeader, endOfArchive, MAX_TAR_ENTRY_SIZE, paddingFor } from './tar-header.ts';

/**
 * Modes written into artifacts, as Flux's source-controller writes them
 * (fluxcd/pkg artifact/storage): the archive's digest then depends on content and the
 * executable bit only, never on the checkout's umask.
 */
export const ARCHIVE_FILE_MODE = 0o600;
export const ARCHIVE_EXECUTABLE_MODE = 0o700;
export const ARCHIVE_DIRECTORY_MODE = 0o750;

/** Fixed so that the same tree always compresses to the same bytes (zlib's default level, as Go's gzip). */
export const ARCHIVE_GZIP_LEVEL = 6;

export interface BuildTarballOptions {
  /** `spec.ignore`: gitignore lines applied after the tree's `.sourceignore` files. */
  ignore?: string;
}

export interface BuildTarballResult {
  /** `sha256:<hex>` of the `.tar.gz` bytes. */
  digest: string;
  /** Size of the `.tar.gz` in bytes. */
  size: number;
  files: number;
  directories: number;
  /** In-root symlinks that were left out, as Flux leaves them out. */
  skippedSymlinks: string[];
}

/** At most this many escaping symlinks are named in the error message. */
const MAX_REPORTED_SYMLINKS = 10;

const READ_CHUNK_BYTES = 64 * 1024;

/**
 * Writes a deterministic `.tar.gz` of `dir` to `destFile` (which must not exist) and
 * returns its digest. The same tree gives the same bytes: entries in sorted order,
 * zero timestamps and ids, empty user and group names, fixed modes, and a gzip header
 * without name or time.
 *
 * Like Flux, only regular files and directories are archived. Symlinks are never
 * followed: one whose target resolves inside the root is left out (as Flux does), and
 * one that resolves outside it fails the build with a StallingError naming the path,
 * because a manifest that silently goes missing is harder to diagnose than an error.
 * `.git` is never archived; ignore rules follow Flux's sourceignore semantics.
 */
export async function buildTarball(
  dir: string,
  destFile: string,
  options: BuildTarballOptions = {},
): Promise<BuildTarballResult> {
  const tree = await scanSourceTree(dir);
  const matcher = sourceIgnoreMatcher([...tree.ignorePatterns, ...parseIgnoreText(options.ignore ?? '')]);
  const selection = await selectEntries(tree.root, tree.entries, matcher).catch((e: unknown) => {
    throw new TransientError('ArchiveOperationFailed', `failed to inspect the source: ${(e as Error).message}`, { cause: e });
  });
  if (selection.escapingSymlinks.length > 0) {
    const shown = selection.escapingSymlinks.slice(0, MAX_REPORTED_SYMLINKS);
    const more = selection.escapingSymlinks.length - shown.length;
    throw new StallingError(
      'ArtifactFailed',
      `the source contains symlinks that point outside it, which cannot be archived: ${shown.join(', ')}` +
        (more > 0 ? ` and ${more} more` : '') +
        '; replace them with the files they point to or add them to spec.ignore',
    );
  }

  const digester = new DigestingStream();
  try {
    await pipeline(
      Readable.from(tarChunks(tree.root, selection.archived)),
      createGzip({ level: ARCHIVE_GZIP_LEVEL }),
      digester,
      createWriteStream(destFile, { flags: 'wx', mode: 0o600, flush: true }),
    );
  } catch (e: unknown) {
    await fs.rm(destFile, { force: true });
    if (isReconcileError(e)) throw e;
    throw new TransientError('ArchiveOperationFailed', `failed to write the artifact archive: ${(e as Error).message}`, { cause: e });
  }
  return {
    digest: digester.digest(),
    size: digester.size,
    files: selection.archived.filter((e) => e.kind === 'file').length,
    directories: selection.archived.filter((e) => e.kind === 'directory').length,
    skippedSymlinks: selection.skippedSymlinks,
  };
}

interface Selection {
  archived: TreeEntry[];
  skippedSymlinks: string[];
  escapingSymlinks: string[];
}

async function selectEntries(root: string, entries: readonly TreeEntry[], matcher: IgnoreMatcher): Promise<Selection> {
  const selection: Selection = { archived: [], skippedSymlinks: [], escapingSymlinks: [] };
  for (const entry of entries) {
    const isDir = entry.kind === 'directory';
    if (matcher.ignoresSegments(entry.segments, isDir)) continue;
    if (entry.kind === 'file' || entry.kind === 'directory') {
      selection.archived.push(entry);
    } else if (entry.kind === 'symlink') {
      const target = await symlinkTarget(root, entry.rel);
      if (isWithin(root, target.resolved)) selection.skippedSymlinks.push(entry.rel);
      else selection.escapingSymlinks.push(`'${entry.rel}' -> '${target.link}'`);
    }
    // Sockets, FIFOs and devices are skipped without being opened, as Flux skips them.
  }
  return selection;
}

/**
 * Where a symlink leads. The kernel's answer (realpath) when the target exists, so that
 * chains and `dir/..` through other links are judged as the kernel would; the lexical
 * resolution when it dangles or loops, which is all that can be judged then.
 */
async function symlinkTarget(root: string, rel: string): Promise<{ link: string; resolved: string }> {
  const abs = path.join(root, ...rel.split('/'));
  const link = await fs.readlink(abs);
  try {
    return { link, resolved: await fs.realpath(abs) };
  } catch {
    return { link, resolved: path.resolve(path.dirname(abs), link) };
  }
}

async function* tarChunks(root: string, entries: readonly TreeEntry[]): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    if (entry.kind === 'directory') {
      yield encodeTarHeader({ path: entry.rel, type: 'directory', mode: ARCHIVE_DIRECTORY_MODE, size: 0 });
      continue;
    }
    yield* fileChunks(root, entry.rel);
  }
  yield endOfArchive();
}

async function* fileChunks(root: string, rel: string): AsyncGenerator<Buffer> {
  const abs = path.join(root, ...rel.split('/'));
  // O_NOFOLLOW: a file swapped for a symlink since the scan is refused, not followed.
  const handle = await fs.open(abs, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW).catch((e: unknown) => {
    throw new TransientError('ArchiveOperationFailed', `'${rel}' changed while it was being archived: ${(e as Error).message}`, { cause: e });
  });
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) {
      throw new TransientError('ArchiveOperationFailed', `'${rel}' changed while it was being archived: no longer a regular file`);
    }
    if (stat.size > MAX_TAR_ENTRY_SIZE) {
      throw new StallingError('ArtifactFailed', `'${rel}' is ${stat.size} bytes, larger than an artifact entry may be`);
    }
    const executable = (stat.mode & 0o111) !== 0;
    yield encodeTarHeader({
      path: rel,
      type: 'file',
      mode: executable ? ARCHIVE_EXECUTABLE_MODE : ARCHIVE_FILE_MODE,
      size: stat.size,
    });
    let remaining = stat.size;
    while (remaining > 0) {
      const buffer = Buffer.allocUnsafe(Math.min(READ_CHUNK_BYTES, remaining));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) {
        throw new TransientError('ArchiveOperationFailed', `'${rel}' shrank while it was being archived`);
      }
      remaining -= bytesRead;
      yield bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
    }
    const padding = paddingFor(stat.size);
    if (padding > 0) yield Buffer.alloc(padding);
  } finally {
    await handle.close();
  }
}
