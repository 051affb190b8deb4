import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TransientError, WaitingError, isReconcileError } from '../../runtime/errors.ts';
import { DigestingStream, digestFile, digestHex } from './digest.ts';
import { extractTarGz, type ExtractLimits, type ExtractResult } from './extract.ts';
import { isWithin } from './paths.ts';
import { buildTarball } from './tarball.ts';

/** `status.artifact` as Flux's source API defines it. */
export interface Artifact {
  /** Source revision, e.g. `main@sha1:<40 hex>`. */
  revision: string;
  /** `sha256:<hex>` of the stored file. */
  digest: string;
  /** Storage-relative path: `<kind>/<namespace>/<name>/<file>`. */
  path: string;
  /** `<advertised base URL>/<path>`. */
  url: string;
  /** Bytes of the stored file. */
  size: number;
  /** RFC 3339, second precision, as Kubernetes serialises metav1.Time. */
  lastUpdateTime: string;
}

/** The object an artifact belongs to. `kind` is the API kind; it is stored lower-cased, as Flux does. */
export interface ArtifactOwner {
  kind: string;
  namespace: string;
  name: string;
}

export interface PutDirectoryRequest extends ArtifactOwner {
  revision: string;
  sourceDir: string;
  /** `spec.ignore`. */
  ignore?: string;
}

export interface PutFileRequest extends ArtifactOwner {
  revision: string;
  /** A file to store as it is, e.g. a packaged Helm chart or an OCI layer blob. */
  sourceFile: string;
  /** File name extension in storage; default `.tar.gz`. */
  extension?: string;
}

export interface ArtifactRetention {
  /** Artifacts kept per object, the current one included (Flux `--artifact-retention-records`). */
  history?: number;
  /**
   * Artifacts older than this are removed even within `history`, except kept paths
   * (Flux `--artifact-retention-ttl`, whose default is DEFAULT_ARTIFACT_RETENTION_TTL_MS).
   * Unset: age alone never removes an artifact.
   */
  ttlMs?: number;
}

export interface ArtifactStoreOptions {
  storagePath: string;
  /** e.g. `http://source-controller.flux-system.svc.cluster.local.`; a trailing `/` is dropped. */
  advertisedBaseUrl: string;
  retention?: ArtifactRetention;
  /** For tests. */
  now?: () => Date;
}

/** Flux `--artifact-retention-records` default. */
export const DEFAULT_ARTIFACT_RETENTION_RECORDS = 2;
/** Flux `--artifact-retention-ttl` default (1 minute). */
export const DEFAULT_ARTIFACT_RETENTION_TTL_MS = 60_000;

const DEFAULT_EXTENSION = '.tar.gz';
const TEMP_PREFIX = '.tmp-';
/** Temp files of a put that crashed are removed by GC once this old. */
const STALE_TEMP_MS = 60 * 60 * 1000;

const KIND_PATTERN = /^[a-z][a-z0-9]*$/;
/** Kubernetes namespace and object names: DNS labels and subdomains. */
const OBJECT_NAME_PATTERN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const EXTENSION_PATTERN = /^(\.[a-z0-9]+)+$/;
const FILE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:+-]*$/;

/**
 * Content-addressed artifact storage with Flux's layout: one directory per object,
 * `<kind>/<namespace>/<name>/`, holding `<sha256 hex><extension>` files. Storing the
 * same bytes again is a no-op; writes go to a temp file in the same directory and
 * are renamed into place, so a reader never sees a partial artifact.
 */
export class ArtifactStore {
  readonly storagePath: string;
  readonly advertisedBaseUrl: string;
  readonly history: number;
  readonly ttlMs: number | undefined;
  readonly #now: () => Date;

  constructor(options: ArtifactStoreOptions) {
    this.storagePath = path.resolve(options.storagePath);
    this.advertisedBaseUrl = options.advertisedBaseUrl.replace(/\/+$/, '');
    const history = options.retention?.history ?? DEFAULT_ARTIFACT_RETENTION_RECORDS;
    if (!Number.isInteger(history) || history < 1) throw new RangeError(`artifact retention history must be at least 1, got ${history}`);
    this.history = history;
    this.ttlMs = options.retention?.ttlMs;
    this.#now = options.now ?? (() => new Date());
  }

  /** Archives `sourceDir` (see buildTarball) and stores it. */
  async put(request: PutDirectoryRequest): Promise<Artifact> {
    const dir = await this.#ensureObjectDir(request);
    const temp = path.join(dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}${DEFAULT_EXTENSION}`);
    try {
      const built = await buildTarball(request.sourceDir, temp, request.ignore !== undefined ? { ignore: request.ignore } : {});
      return await this.#commit(request, temp, built.digest, built.size, DEFAULT_EXTENSION);
    } catch (e: unknown) {
      if (isReconcileError(e)) throw e;
      throw new TransientError('ArchiveOperationFailed', `failed to archive the source: ${(e as Error).message}`, { cause: e });
    } finally {
      await fs.rm(temp, { force: true });
    }
  }

  /** Stores a file as it is. */
  async putFile(request: PutFileRequest): Promise<Artifact> {
    const extension = request.extension ?? DEFAULT_EXTENSION;
    if (!EXTENSION_PATTERN.test(extension)) throw new RangeError(`invalid artifact file extension '${extension}'`);
    const dir = await this.#ensureObjectDir(request);
    const temp = path.join(dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}${extension}`);
    try {
      const digester = new DigestingStream();
      await pipeline(createReadStream(request.sourceFile), digester, createWriteStream(temp, { flags: 'wx', mode: 0o600, flush: true }));
      return await this.#commit(request, temp, digester.digest(), digester.size, extension);
    } catch (e: unknown) {
      if (isReconcileError(e)) throw e;
      throw new TransientError('ArchiveOperationFailed', `failed to store artifact file: ${(e as Error).message}`, { cause: e });
    } finally {
      await fs.rm(temp, { force: true });
    }
  }

  /** The absolute path of a stored artifact; refuses paths that are not of the storage layout. */
  localPath(artifactPath: string): string {
    const segments = artifactPath.split('/');
    if (segments.length !== 4 || !segments.every(isSafeSegment)) {
      throw new RangeError(`'${artifactPath}' is not an artifact path of the form <kind>/<namespace>/<name>/<file>`);
    }
    const local = path.join(this.storagePath, ...segments);
    if (!isWithin(this.storagePath, local)) throw new RangeError(`'${artifactPath}' is outside the artifact storage`);
    return local;
  }

  /** Whether the artifact's file is in storage. */
  async has(artifact: Pick<Artifact, 'path'>): Promise<boolean> {
    try {
      return (await fs.lstat(this.localPath(artifact.path))).isFile();
    } catch {
      return false;
    }
  }

  /** Whether the stored file still has the artifact's digest (and size). */
  async verify(artifact: Pick<Artifact, 'path' | 'digest'> & { size?: number }): Promise<boolean> {
    if (!(await this.has(artifact))) return false;
    const actual = await digestFile(this.localPath(artifact.path));
    return actual.digest === artifact.digest && (artifact.size === undefined || actual.size === artifact.size);
  }

  /**
   * Removes the object's superseded artifacts: every file but `keepPaths` (storage-relative,
   * normally the current artifact) and the newest others up to `history` files in all,
   * and, with a TTL, any file but `keepPaths` older than it. Returns the removed paths.
   */
  async gc(kind: string, namespace: string, name: string, keepPaths: readonly string[] = []): Promise<string[]> {
    const dir = this.#objectDir({ kind, namespace, name });
    const relDir = path.relative(this.storagePath, dir).split(path.sep).join('/');
    let names: string[];
    try {
      names = await fs.readdir(dir);
    } catch (e: unknown) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new TransientError('GarbageCollectionFailed', `cannot list artifacts of ${relDir}: ${(e as Error).message}`, { cause: e });
    }
    const now = this.#now().getTime();
    const keep = new Set(keepPaths);
    const candidates: Array<{ name: string; mtimeMs: number }> = [];
    const removed: string[] = [];
    let kept = 0;
    for (const fileName of names) {
      const stat = await fs.lstat(path.join(dir, fileName)).catch(() => undefined);
      if (stat === undefined || !stat.isFile()) continue;
      if (fileName.startsWith(TEMP_PREFIX)) {
        if (now - stat.mtimeMs > STALE_TEMP_MS) {
          await fs.rm(path.join(dir, fileName), { force: true });
          removed.push(`${relDir}/${fileName}`);
        }
        continue;
      }
      if (keep.has(`${relDir}/${fileName}`)) kept++;
      else candidates.push({ name: fileName, mtimeMs: stat.mtimeMs });
    }
    candidates.sort((a, b) => b.mtimeMs - a.mtimeMs || (a.name < b.name ? -1 : 1));
    let slots = Math.max(this.history - kept, 0);
    for (const candidate of candidates) {
      const expired = this.ttlMs !== undefined && now - candidate.mtimeMs > this.ttlMs;
      if (slots > 0 && !expired) {
        slots--;
        continue;
      }
      try {
        await fs.rm(path.join(dir, candidate.name), { force: true });
      } catch (e: unknown) {
        throw new TransientError('GarbageCollectionFailed', `cannot remove ${relDir}/${candidate.name}: ${(e as Error).message}`, { cause: e });
      }
      removed.push(`${relDir}/${candidate.name}`);
    }
    return removed;
  }

  /** Deletes every artifact of the object (its finalizer step). */
  async remove(kind: string, namespace: string, name: string): Promise<void> {
    const dir = this.#objectDir({ kind, namespace, name });
    try {
      await fs.rm(dir, { recursive: true, force: true });
    } catch (e: unknown) {
      throw new TransientError('GarbageCollectionFailed', `cannot remove the artifacts of ${kind}/${namespace}/${name}: ${(e as Error).message}`, { cause: e });
    }
  }

  /**
   * A stream of the stored file. A missing artifact is a WaitingError (reason
   * ArtifactFailed): the source may still be producing it, so the caller requeues.
   */
  async open(artifactPath: string): Promise<Readable> {
    const local = this.localPath(artifactPath);
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(local, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    } catch (e: unknown) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new WaitingError('ArtifactFailed', `artifact '${artifactPath}' is not in storage`);
      }
      throw new TransientError('ArtifactFailed', `cannot open artifact '${artifactPath}': ${(e as Error).message}`, { cause: e });
    }
    if (!(await handle.stat()).isFile()) {
      await handle.close();
      throw new TransientError('ArtifactFailed', `artifact '${artifactPath}' is not a regular file`);
    }
    return handle.createReadStream();
  }

  /**
   * Extracts a stored `.tar.gz` into `destDir` with extractTarGz's checks. Given an
   * Artifact rather than a path, its digest is verified too.
   */
  async extractTo(
    artifact: string | Pick<Artifact, 'path' | 'digest'>,
    destDir: string,
    limits: Omit<ExtractLimits, 'expectedDigest'> = {},
  ): Promise<ExtractResult> {
    const artifactPath = typeof artifact === 'string' ? artifact : artifact.path;
    const stream = await this.open(artifactPath);
    return extractTarGz(stream, destDir, typeof artifact === 'string' ? limits : { ...limits, expectedDigest: artifact.digest });
  }

  #objectDir(owner: ArtifactOwner): string {
    const kind = owner.kind.toLowerCase();
    if (!KIND_PATTERN.test(kind)) throw new RangeError(`invalid artifact kind '${owner.kind}'`);
    for (const [label, value] of [['namespace', owner.namespace], ['name', owner.name]] as const) {
      if (!OBJECT_NAME_PATTERN.test(value) || value.includes('..') || value.length > 253) {
        throw new RangeError(`invalid artifact ${label} '${value}'`);
      }
    }
    return path.join(this.storagePath, kind, owner.namespace, owner.name);
  }

  async #ensureObjectDir(owner: ArtifactOwner): Promise<string> {
    const dir = this.#objectDir(owner);
    try {
      await fs.mkdir(dir, { recursive: true, mode: 0o750 });
    } catch (e: unknown) {
      throw new TransientError('DirectoryCreationFailed', `cannot create artifact directory: ${(e as Error).message}`, { cause: e });
    }
    return dir;
  }

  async #commit(request: PutDirectoryRequest | PutFileRequest, temp: string, digest: string, size: number, extension: string): Promise<Artifact> {
    const hex = digestHex(digest);
    if (hex === undefined) throw new TransientError('ArchiveOperationFailed', `unexpected digest '${digest}'`);
    const dir = path.dirname(temp);
    const fileName = `${hex}${extension}`;
    const final = path.join(dir, fileName);
    const now = this.#now();
    try {
      const existing = await fs.lstat(final).catch(() => undefined);
      if (existing?.isFile() === true && existing.size === size) {
        // Same content already stored: keep the file, but make it the newest for GC.
        await fs.utimes(final, now, now);
      } else {
        await fs.rename(temp, final);
      }
    } catch (e: unknown) {
      throw new TransientError('ArchiveOperationFailed', `cannot move the artifact into place: ${(e as Error).message}`, { cause: e });
    }
    const artifactPath = [request.kind.toLowerCase(), request.namespace, request.name, fileName].join('/');
    return {
      revision: request.revision,
      digest,
      path: artifactPath,
      url: `${this.advertisedBaseUrl}/${artifactPath}`,
      size,
      lastUpdateTime: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    };
  }
}

/** One segment of a storage path: no traversal, no hidden or temp files. */
export function isSafeSegment(segment: string): boolean {
  return FILE_NAME_PATTERN.test(segment) && !segment.includes('..');
}
