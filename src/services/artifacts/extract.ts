import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Header, Pax, type HeaderData } from 'tar';
import { StallingError, TransientError, isReconcileError } from '../../runtime/errors.ts';
import { DigestingStream } from './digest.ts';
import { isWithin, safeRelativeSegments } from './paths.ts';
import { TAR_BLOCK_SIZE, paddingFor } from './tar-header.ts';

/** fluxcd/pkg tar DefaultMaxUntarSize: 100 MiB of file content. */
export const DEFAULT_MAX_EXTRACT_BYTES = 100 * 1024 * 1024;
/** Files plus directories an archive may create. */
export const DEFAULT_MAX_EXTRACT_FILES = 100_000;

/** One PAX or GNU long-name record larger than this is refused (paths are far shorter). */
const MAX_META_ENTRY_BYTES = 1024 * 1024;
/** Decompressed bytes tolerated after the end-of-archive marker (tar pads to 10 KiB records). */
const MAX_TRAILING_BYTES = 1024 * 1024;

export interface ExtractLimits {
  /** Total bytes of file content; default 100 MiB. */
  maxBytes?: number;
  /** Files plus directories; default 100 000. */
  maxFiles?: number;
  /**
   * Leave symlink entries out instead of refusing the archive (what Flux does for OCI
   * layers). Hard links, devices and FIFOs are always refused.
   */
  skipSymlinks?: boolean;
  /** `sha256:<hex>` the compressed bytes must have; checked before returning. */
  expectedDigest?: string;
}

export interface ExtractResult {
  files: number;
  directories: number;
  /** Bytes of file content written. */
  bytes: number;
  /** `sha256:<hex>` of the compressed input. */
  digest: string;
  /** Symlink entries left out when `skipSymlinks` is set. */
  skippedSymlinks: string[];
}

/**
 * Extracts a `.tar.gz` into `destDir` (created if missing; it must be empty), accepting
 * only regular files and directories whose paths stay inside `destDir`. Anything else
 * (absolute or `..` paths, links, devices, duplicate paths, more than `maxFiles`
 * entries or `maxBytes` of content) refuses the whole archive: `destDir` is emptied and
 * a StallingError with reason `ArtifactFailed` says why. A truncated archive, a digest
 * mismatch or an I/O failure is a TransientError instead, since a retry may succeed.
 *
 * Archive modes, owners and times are not applied: files are written 0644 (0755 when
 * executable in the archive) and directories 0755, so the tree can always be removed.
 */
export async function extractTarGz(
  source: string | Readable,
  destDir: string,
  limits: ExtractLimits = {},
): Promise<ExtractResult> {
  const dest = await prepareDestination(destDir);
  const input = typeof source === 'string' ? createReadStream(source) : source;
  const digester = new DigestingStream();
  const gunzip = createGunzip();
  const decompressed = pipeline(input, digester, gunzip, () => {
    // Errors surface through the iteration of `decompressed` below.
  });
  try {
    const result = await extractEntries(decompressed, dest, limits);
    const digest = digester.digest();
    if (limits.expectedDigest !== undefined && digest !== limits.expectedDigest) {
      throw new TransientError(
        'ArtifactFailed',
        `artifact digest mismatch: expected ${limits.expectedDigest}, computed ${digest}`,
      );
    }
    return { ...result, digest };
  } catch (e: unknown) {
    decompressed.destroy();
    await emptyDirectory(dest);
    throw classifyExtractError(e);
  }
}

async function prepareDestination(destDir: string): Promise<string> {
  try {
    await fs.mkdir(destDir, { recursive: true, mode: 0o755 });
    const dest = await fs.realpath(destDir);
    const existing = await fs.readdir(dest);
    if (existing.length > 0) {
      throw new TransientError('ArtifactFailed', `extraction directory '${destDir}' is not empty`);
    }
    return dest;
  } catch (e: unknown) {
    if (isReconcileError(e)) throw e;
    throw new TransientError('ArtifactFailed', `cannot prepare extraction directory '${destDir}': ${(e as Error).message}`, { cause: e });
  }
}

async function emptyDirectory(dir: string): Promise<void> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  await Promise.all(names.map((name) => fs.rm(path.join(dir, name), { recursive: true, force: true })));
}

function classifyExtractError(e: unknown): Error {
  if (isReconcileError(e)) return e;
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'Z_DATA_ERROR' || err.code === 'Z_BUF_ERROR') {
    if (/unexpected end/i.test(err.message)) {
      return new TransientError('ArtifactFailed', `artifact archive is truncated: ${err.message}`, { cause: e });
    }
    return new StallingError('ArtifactFailed', `artifact is not a valid gzip archive: ${err.message}`, { cause: e });
  }
  return new TransientError('ArtifactFailed', `failed to extract artifact: ${err.message ?? String(e)}`, { cause: e });
}

function refuse(message: string): StallingError {
  return new StallingError('ArtifactFailed', `unsafe or invalid artifact archive: ${message}`);
}

/** Reads exact byte counts from a stream of chunks. */
class ChunkReader {
  readonly #iterator: AsyncIterator<Buffer>;
  #pending: Buffer = Buffer.alloc(0);
  #ended = false;

  constructor(stream: AsyncIterable<Buffer>) {
    this.#iterator = stream[Symbol.asyncIterator]();
  }

  /** Exactly `n` bytes; null at a clean end of input before any of them; throws if cut short. */
  async read(n: number): Promise<Buffer | null> {
    while (this.#pending.length < n && !this.#ended) await this.#fill();
    if (this.#pending.length === 0 && this.#ended) return null;
    if (this.#pending.length < n) throw new TransientError('ArtifactFailed', 'artifact archive is truncated');
    const out = this.#pending.subarray(0, n);
    this.#pending = this.#pending.subarray(n);
    return out;
  }

  /** Up to `n` bytes in chunks as they arrive; throws if the input ends first. */
  async *stream(n: number): AsyncGenerator<Buffer> {
    let remaining = n;
    while (remaining > 0) {
      if (this.#pending.length === 0) {
        if (this.#ended) throw new TransientError('ArtifactFailed', 'artifact archive is truncated');
        await this.#fill();
        continue;
      }
      const take = Math.min(remaining, this.#pending.length);
      const chunk = this.#pending.subarray(0, take);
      this.#pending = this.#pending.subarray(take);
      remaining -= take;
      yield chunk;
    }
  }

  async skip(n: number): Promise<void> {
    for await (const chunk of this.stream(n)) void chunk;
  }

  /** Consumes the rest of the input, failing if there is more than `max` bytes of it. */
  async drain(max: number): Promise<number> {
    let seen = this.#pending.length;
    this.#pending = Buffer.alloc(0);
    while (!this.#ended) {
      await this.#fill();
      seen += this.#pending.length;
      this.#pending = Buffer.alloc(0);
      if (seen > max) throw refuse(`more than ${max} bytes of data after the end of the archive`);
    }
    return seen;
  }

  async #fill(): Promise<void> {
    const next = await this.#iterator.next();
    if (next.done === true) {
      this.#ended = true;
      return;
    }
    this.#pending = this.#pending.length === 0 ? next.value : Buffer.concat([this.#pending, next.value]);
  }
}

function isZeroBlock(block: Buffer): boolean {
  for (const byte of block) if (byte !== 0) return false;
  return true;
}

async function extractEntries(
  stream: AsyncIterable<Buffer>,
  dest: string,
  limits: ExtractLimits,
): Promise<Omit<ExtractResult, 'digest'>> {
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_EXTRACT_BYTES;
  const maxFiles = limits.maxFiles ?? DEFAULT_MAX_EXTRACT_FILES;
  // Every header is either an entry (bounded by maxFiles) or metadata for one; a long
  // run of metadata headers without entries is an attack on the parser, not an archive.
  const maxHeaders = maxFiles * 4 + 64;
  const reader = new ChunkReader(stream);
  const result: Omit<ExtractResult, 'digest'> = { files: 0, directories: 0, bytes: 0, skippedSymlinks: [] };
  const writes = new WritePool(dest);
  let extended: HeaderData | undefined;
  let globalExtended: HeaderData | undefined;
  let headers = 0;
  let entries = 0;
  try {
    return await readEntries();
  } catch (e: unknown) {
    await writes.drain();
    throw e;
  }

  async function readEntries(): Promise<Omit<ExtractResult, 'digest'>> {
    for (;;) {
      const block = await reader.read(TAR_BLOCK_SIZE);
      if (block === null) break;
      if (isZeroBlock(block)) {
        const second = await reader.read(TAR_BLOCK_SIZE);
        if (second !== null && !isZeroBlock(second)) throw refuse('a lone zero block in the middle of the archive');
        await reader.drain(MAX_TRAILING_BYTES);
        break;
      }
      if (++headers > maxHeaders) throw refuse(`more than ${maxHeaders} headers`);

      const header = new Header(block, 0, extended, globalExtended);
      if (!header.cksumValid) throw refuse(`header checksum mismatch after ${entries} entries`);
      const size = header.size ?? 0;
      const type = header.type;
      if (!Number.isSafeInteger(size) || size < 0) throw refuse(`entry '${header.path ?? ''}' has an invalid size`);

      if (type === 'ExtendedHeader' || type === 'OldExtendedHeader' || type === 'GlobalExtendedHeader' ||
          type === 'NextFileHasLongPath' || type === 'OldGnuLongPath' || type === 'NextFileHasLongLinkpath') {
        if (size > MAX_META_ENTRY_BYTES) throw refuse(`a ${size}-byte metadata header`);
        const body = (await reader.read(size)) ?? Buffer.alloc(0);
        await reader.skip(paddingFor(size));
        const text = body.toString('utf8');
        if (type === 'GlobalExtendedHeader') {
          globalExtended = Pax.parse(text, globalExtended, true);
        } else if (type === 'ExtendedHeader' || type === 'OldExtendedHeader') {
          extended = Pax.parse(text, extended, false);
        } else {
          const value = text.replace(/\0.*$/s, '');
          extended = { ...extended, ...(type === 'NextFileHasLongLinkpath' ? { linkpath: value } : { path: value }) };
        }
        continue;
      }
      extended = undefined;

      const rawPath = header.path ?? '';
      const segments = safeRelativeSegments(rawPath);
      if (segments === undefined) throw refuse(`entry '${rawPath}' has a path that leaves the extraction directory`);
      const target = path.join(dest, ...segments);
      if (!isWithin(dest, target)) throw refuse(`entry '${rawPath}' has a path that leaves the extraction directory`);

      if (type === 'SymbolicLink' && limits.skipSymlinks === true) {
        result.skippedSymlinks.push(segments.join('/'));
        await reader.skip(size + paddingFor(size));
        continue;
      }
      if (type !== 'File' && type !== 'OldFile' && type !== 'ContiguousFile' && type !== 'Directory') {
        throw refuse(`entry '${rawPath}' is a ${describeType(type)}; only regular files and directories are allowed`);
      }
      if (++entries > maxFiles) throw refuse(`more than ${maxFiles} files and directories`);

      if (type === 'Directory') {
        if (segments.length > 0) await writes.directory(target, rawPath);
        result.directories++;
        continue;
      }
      if (segments.length === 0) throw refuse(`a file entry named '${rawPath}'`);
      if (result.bytes + size > maxBytes) {
        throw refuse(`content is larger than the limit of ${maxBytes} bytes (at entry '${rawPath}', ${size} bytes)`);
      }
      const mode = (header.mode ?? 0) & 0o111 ? 0o755 : 0o644;
      if (size <= SMALL_FILE_BYTES) {
        await writes.small(target, rawPath, mode, (await reader.read(size)) ?? Buffer.alloc(0));
      } else {
        await writes.settle();
        await writes.directory(path.dirname(target), path.posix.dirname(rawPath));
        await writeFile(target, rawPath, mode, reader.stream(size));
      }
      await reader.skip(paddingFor(size));
      result.bytes += size;
      result.files++;
    }
    await writes.settle();
    return result;
  }
}

/** Files up to this size are read whole and written while the archive is still being read. */
const SMALL_FILE_BYTES = 256 * 1024;
const WRITES_IN_FLIGHT = 16;

/**
 * Writes small files concurrently (the archive is read sequentially; the file system is
 * not the bottleneck one file at a time, its round trips are) and remembers the
 * directories it made. O_EXCL still refuses a duplicate or conflicting entry, whichever
 * write comes second; the first failure is thrown once every write has finished, so the
 * caller's cleanup never races a write.
 */
class WritePool {
  readonly #made = new Set<string>();
  readonly #inFlight = new Set<Promise<void>>();
  #failure: unknown;

  constructor(private readonly dest: string) {}

  async directory(target: string, rawPath: string): Promise<void> {
    if (target === this.dest || this.#made.has(target)) return;
    await makeDirectory(target, rawPath);
    for (let d = target; d !== this.dest && d.startsWith(this.dest); d = path.dirname(d)) this.#made.add(d);
  }

  async small(target: string, rawPath: string, mode: number, body: Buffer): Promise<void> {
    if (this.#failure !== undefined) await this.settle();
    await this.directory(path.dirname(target), path.posix.dirname(rawPath));
    while (this.#inFlight.size >= WRITES_IN_FLIGHT) await Promise.race(this.#inFlight);
    const p: Promise<void> = writeSmallFile(target, rawPath, mode, body)
      .catch((e: unknown) => {
        this.#failure ??= e;
      })
      .finally(() => this.#inFlight.delete(p));
    this.#inFlight.add(p);
  }

  /** Waits for every write, ignoring failures (before the caller cleans up after an error). */
  async drain(): Promise<void> {
    await Promise.allSettled(this.#inFlight);
  }

  /** Waits for every write; throws the first failure. */
  async settle(): Promise<void> {
    await Promise.all(this.#inFlight);
    if (this.#failure !== undefined) throw this.#failure;
  }
}

async function writeSmallFile(target: string, rawPath: string, mode: number, body: Buffer): Promise<void> {
  try {
    // O_EXCL: a duplicate entry cannot overwrite (or turn a directory into) a file, and
    // no symlink is followed at the last component
    await fs.writeFile(target, body, { mode, flag: fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW });
  } catch (e: unknown) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'EISDIR' || code === 'ENOTDIR' || code === 'ELOOP') {
      throw refuse(`entry '${rawPath}' appears twice or conflicts with another entry`);
    }
    throw e;
  }
}

function describeType(type: string): string {
  switch (type) {
    case 'SymbolicLink':
      return 'symlink';
    case 'Link':
      return 'hard link';
    case 'CharacterDevice':
    case 'BlockDevice':
      return 'device';
    case 'FIFO':
      return 'FIFO';
    default:
      return `'${type}' entry`;
  }
}

async function makeDirectory(target: string, rawPath: string): Promise<void> {
  try {
    await fs.mkdir(target, { recursive: true, mode: 0o755 });
  } catch (e: unknown) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') throw refuse(`directory '${rawPath}' conflicts with a file of the same path`);
    throw e;
  }
}

async function writeFile(target: string, rawPath: string, mode: number, content: AsyncIterable<Buffer>): Promise<void> {
  await makeDirectory(path.dirname(target), path.posix.dirname(rawPath));
  let handle: fs.FileHandle;
  try {
    // O_EXCL: a duplicate entry cannot overwrite (or turn a directory into) a file;
    // O_NOFOLLOW: belt and braces, no symlink can exist in a tree we wrote ourselves.
    handle = await fs.open(target, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, mode);
  } catch (e: unknown) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'EISDIR' || code === 'ENOTDIR' || code === 'ELOOP') {
      throw refuse(`entry '${rawPath}' appears twice or conflicts with another entry`);
    }
    throw e;
  }
  try {
    for await (const chunk of content) await handle.write(chunk);
  } finally {
    await handle.close();
  }
}
