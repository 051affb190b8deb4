import { lstat, readdir, readFile, realpath, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { StallingError } from '../../runtime/errors.ts';
import { goValueOfJs } from './go-values.ts';
import { AgeIdentities, parseMetadata, type SopsMetadata } from './metadata.ts';
import { dotenvSlots, emitDotenv, parseDotenv, type DotenvLine } from './store-dotenv.ts';
import { binaryData, emitJsonDocument, emitYamlStream, parseYamlStream, SopsFormatError, streamSlots, type ParsedStream } from './store-yaml.ts';
import { decryptSlots, macError, type MacCheck, type PlainLeaf, type Slot } from './tree.ts';

/** SOPS file formats, named as Flux names them. INI is not supported. */
export type SopsFormat = 'yaml' | 'json' | 'dotenv' | 'binary';

/** Flux reports decryption failures as build failures. */
export const DECRYPTION_FAILED_REASON = 'BuildFailed';

const DECRYPT_ANNOTATION = 'kustomize.toolkit.fluxcd.io/decrypt';
const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
const DEFAULT_MAX_FILE_BYTES = 5 << 20;

/** The byte patterns Flux looks for before it treats data as SOPS-encrypted, per format. */
const MARKERS: readonly [SopsFormat | 'ini', string][] = [
  ['yaml', 'mac: ENC['],
  ['json', '"mac": "ENC['],
  ['dotenv', 'sops_mac=ENC['],
  ['ini', '[sops]'],
];

export interface SopsDecryptorOptions {
  /** Verify each document's MAC. Default true; Flux itself skips this check. */
  readonly verifyMac?: boolean;
  /** Largest file decrypted in a source directory (Flux: 5 MiB). */
  readonly maxFileBytes?: number;
}

export interface DecryptObjectsOptions {
  /**
   * MACs (the `sops.mac` ciphertext) of documents verified in the source files before the
   * build. A built object's MAC usually cannot be recomputed, because kustomize reorders
   * keys and renames objects; membership in this set stands for a verified MAC.
   */
  readonly verifiedMacs?: ReadonlySet<string>;
}

export interface DecryptFilesResult {
  /** Files rewritten in place with their plaintext, relative to the root. */
  readonly decryptedFiles: readonly string[];
  /** MACs of SOPS documents in resource files, verified but left encrypted. */
  readonly verifiedMacs: ReadonlySet<string>;
}

/** Flux's format for a path or Secret key: by extension, `.dockerconfigjson` as JSON, binary otherwise. */
export function formatForPath(p: string): SopsFormat | 'ini' {
  if (p.endsWith('.dockerconfigjson')) return 'json';
  const ext = path.extname(p);
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  if (ext === '.json') return 'json';
  if (ext === '.env') return 'dotenv';
  if (ext === '.ini') return 'ini';
  return 'binary';
}

function detectFormat(data: string): SopsFormat | 'ini' | undefined {
  return MARKERS.find(([, marker]) => data.includes(marker))?.[0];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * True for text carrying a SOPS MAC marker, or for an object with a top-level `sops`
 * mapping (what Flux's apply guard refuses when decryption is not configured).
 */
export function isSopsEncrypted(objOrText: unknown): boolean {
  if (typeof objOrText === 'string') return detectFormat(objOrText) !== undefined;
  if (Buffer.isBuffer(objOrText)) return detectFormat(objOrText.toString('utf8')) !== undefined;
  return isRecord(objOrText) && isRecord(objOrText['sops']);
}

function describe(obj: Record<string, unknown>): string {
  const meta = isRecord(obj['metadata']) ? obj['metadata'] : {};
  const ns = typeof meta['namespace'] === 'string' && meta['namespace'] !== '' ? `${meta['namespace']}/` : '';
  return `${String(obj['apiVersion'] ?? '')}/${String(obj['kind'] ?? '')} ${ns}${String(meta['name'] ?? '')}`;
}

function failure(context: string, e: unknown): StallingError {
  if (e instanceof StallingError) return e;
  const why = e instanceof Error ? e.message : String(e);
  return new StallingError(DECRYPTION_FAILED_REASON, `${context}: ${why}`, { cause: e });
}

function jsValueOf(plain: PlainLeaf): unknown {
  switch (plain.type) {
    case 'str':
    case 'time':
      return plain.text;
    case 'int':
    case 'float':
      return Number(plain.text);
    case 'bool':
      return plain.text === 'True';
    case 'bytes':
      // Go's encoding/json writes []byte as base64, which is what SOPS' JSON output holds.
      return plain.bytes.toString('base64');
  }
}

/** Slots over a plain object tree in its key order, writing decrypted values back. */
function* objectSlots(root: Record<string, unknown>): Generator<Slot> {
  function* walk(container: Record<string, unknown> | unknown[], key: string | number, p: readonly string[]): Generator<Slot> {
    const value = (container as Record<string | number, unknown>)[key];
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) yield* walk(value, i, p);
    } else if (isRecord(value)) {
      for (const k of Object.keys(value)) yield* walk(value, k, [...p, k]);
    } else {
      yield {
        kind: 'value',
        path: p,
        value: goValueOfJs(value),
        set: (plain) => {
          (container as Record<string | number, unknown>)[key] = jsValueOf(plain);
        },
      };
    }
  }
  for (const k of Object.keys(root)) {
    if (k !== 'sops') yield* walk(root, k, [k]);
  }
}

function dotenvFromStream(stream: ParsedStream): DotenvLine[] {
  const lines: DotenvLine[] = [];
  const data = stream.docs[0]?.toJSON() as unknown;
  if (!isRecord(data)) return lines;
  for (const [key, value] of Object.entries(data)) {
    if (isRecord(value) || Array.isArray(value)) throw new SopsFormatError(`cannot use complex value in dotenv file; offending key ${key}`);
    lines.push({ kind: 'entry', key, value: value === null ? '' : String(value) });
  }
  return lines;
}

/**
 * The one SOPS decryptor: age identities, the SOPS value cipher and MAC of our own, and
 * the YAML, JSON, dotenv and binary stores. Plaintext is never logged and never part of
 * an error message.
 */
export class SopsDecryptor {
  private constructor(
    private readonly identities: AgeIdentities,
    private readonly verifyMac: boolean,
    private readonly maxFileBytes: number,
  ) {}

  static async create(identities: readonly string[], options: SopsDecryptorOptions = {}): Promise<SopsDecryptor> {
    try {
      return new SopsDecryptor(await AgeIdentities.from(identities), options.verifyMac ?? true, options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES);
    } catch (e: unknown) {
      throw failure('cannot load the decryption keys', e);
    }
  }

  /** Public recipients of the loaded identities (safe to show in messages). */
  get recipients(): readonly string[] {
    return this.identities.publicRecipients;
  }

  private async decryptWith(metadata: unknown, slots: () => Iterable<Slot>, allowUnverified: (meta: SopsMetadata) => boolean): Promise<void> {
    if (metadata === undefined) throw new SopsFormatError('sops metadata not found');
    const meta = parseMetadata(metadata);
    const dataKey = await this.identities.unwrapDataKey(meta);
    const check: MacCheck = decryptSlots(slots(), meta, dataKey);
    if (check !== 'verified' && this.verifyMac && !allowUnverified(meta)) throw macError(check);
  }

  /**
   * Decrypts a whole SOPS document. `format` is the input format; the output is the same
   * format unless `outputFormat` says otherwise (`binary` output is the `data` entry).
   */
  async decryptDocument(text: string, format: SopsFormat, outputFormat: SopsFormat = format): Promise<string> {
    try {
      return await this.decryptText(text, format, outputFormat);
    } catch (e: unknown) {
      throw failure(`cannot decrypt the ${format} document`, e);
    }
  }

  private async decryptText(text: string, format: SopsFormat, outputFormat: SopsFormat): Promise<string> {
    if (format === 'dotenv') {
      const doc = parseDotenv(text, { withMetadata: true });
      await this.decryptWith(doc.metadata, () => dotenvSlots(doc), () => false);
      if (outputFormat === 'dotenv') return emitDotenv(doc.lines);
      const entries = doc.lines.filter((l) => l.kind === 'entry');
      if (outputFormat === 'binary') throw new SopsFormatError('a dotenv document has no binary data entry');
      const obj = Object.fromEntries(entries.map((l) => [l.key, l.value]));
      return outputFormat === 'json' ? `${JSON.stringify(obj, null, '\t')}\n` : emitYamlStream(parseYamlStream(JSON.stringify(obj)));
    }
    const flavour = format === 'yaml' ? 'yaml' : 'json';
    if (flavour === 'json') {
      try {
        JSON.parse(text);
      } catch {
        throw new SopsFormatError('the document is not valid JSON');
      }
    }
    const stream = parseYamlStream(text);
    await this.decryptWith(stream.metadata, () => streamSlots(stream, flavour), () => false);
    switch (outputFormat) {
      case 'yaml':
        return emitYamlStream(stream);
      case 'json':
        return emitJsonDocument(stream);
      case 'binary':
        return binaryData(stream);
      case 'dotenv':
        return emitDotenv(dotenvFromStream(stream));
    }
  }

  /**
   * Decrypts SOPS-encrypted objects of a build, as Flux does: an object with a `sops`
   * block is decrypted whole (and loses the block); a Secret whose `data` values are
   * themselves SOPS documents (from a secretGenerator) gets those values decrypted, each
   * in the format its key's extension names. Objects annotated
   * `kustomize.toolkit.fluxcd.io/decrypt: Disabled` are left alone. Returns new objects.
   */
  async decryptObjects<T>(objects: readonly T[], options: DecryptObjectsOptions = {}): Promise<T[]> {
    const out: T[] = [];
    for (const object of objects) out.push(await this.decryptObject(object, options));
    return out;
  }

  private async decryptObject<T>(object: T, options: DecryptObjectsOptions): Promise<T> {
    if (!isRecord(object)) return object;
    const meta = isRecord(object['metadata']) ? object['metadata'] : {};
    const annotations = isRecord(meta['annotations']) ? meta['annotations'] : {};
    const optOut = annotations[DECRYPT_ANNOTATION];
    if (typeof optOut === 'string' && optOut.toLowerCase() === 'disabled') return object;
    const sops = object['sops'];
    if (isRecord(sops) && typeof sops['mac'] === 'string' && sops['mac'] !== '') {
      const copy = structuredClone(object) as Record<string, unknown>;
      try {
        await this.decryptWith(sops, () => objectSlots(copy), (m) => options.verifiedMacs?.has(m.mac) === true);
      } catch (e: unknown) {
        throw failure(`decryption failed for '${describe(object)}'`, e);
      }
      delete copy['sops'];
      return copy as T;
    }
    if (object['kind'] === 'Secret' && isRecord(object['data'])) {
      let copy: Record<string, unknown> | undefined;
      for (const [key, value] of Object.entries(object['data'])) {
        if (typeof value !== 'string') continue;
        if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value.replace(/\s/g, ''))) continue;
        const decoded = Buffer.from(value, 'base64').toString('utf8');
        const input = detectFormat(decoded);
        if (input === undefined) continue;
        const output = formatForPath(key);
        try {
          if (input === 'ini' || output === 'ini') throw new SopsFormatError('INI documents are not supported');
          const plain = await this.decryptText(decoded, input, output);
          copy ??= structuredClone(object) as Record<string, unknown>;
          (copy['data'] as Record<string, unknown>)[key] = Buffer.from(plain, 'utf8').toString('base64');
        } catch (e: unknown) {
          throw failure(`decryption failed for '${describe(object)}' data key '${key}'`, e);
        }
      }
      return (copy ?? object) as T;
    }
    return object;
  }

  /**
   * Decrypts, in place, the SOPS-encrypted files a kustomization in `dir` (and every
   * kustomization it reaches through `resources` and `components`) feeds to kustomize:
   * secretGenerator `files`/`envs` and `patches` paths, as Flux does before a build. Every
   * path must stay inside `root`. Resource files holding SOPS documents are not rewritten
   * (they are decrypted after the build) but their MACs are verified here, where the
   * original key order still exists. `root` must be a per-reconcile copy: plaintext is
   * written there.
   */
  async decryptFilesInDir(root: string, dir: string): Promise<DecryptFilesResult> {
    const realRoot = await realpath(root);
    const decrypted = new Set<string>();
    const verifiedMacs = new Set<string>();
    const visitedDirs = new Set<string>();

    const rootAbs = path.resolve(root);
    // Resolves a path under the root, following symlinks; undefined when it leaves the root.
    const inside = async (candidate: string): Promise<string | undefined> => {
      const abs = path.resolve(candidate);
      const lexical = abs === rootAbs || abs.startsWith(rootAbs + path.sep) ? realRoot + abs.slice(rootAbs.length) : abs;
      if (lexical !== realRoot && !lexical.startsWith(realRoot + path.sep)) return undefined;
      let real: string;
      try {
        real = await realpath(lexical);
      } catch {
        return lexical;
      }
      return real === realRoot || real.startsWith(realRoot + path.sep) ? real : undefined;
    };
    const rel = (p: string): string => path.relative(realRoot, p) || '.';

    const readSmallFile = async (file: string): Promise<string> => {
      const st = await lstat(file).catch(() => undefined);
      if (!st) throw new StallingError(DECRYPTION_FAILED_REASON, `error decrypting sources: ${rel(file)}: no such file`);
      if (!st.isFile()) throw new StallingError(DECRYPTION_FAILED_REASON, `error decrypting sources: ${rel(file)} is not a regular file`);
      if (st.size > this.maxFileBytes) {
        throw new StallingError(
          DECRYPTION_FAILED_REASON,
          `error decrypting sources: ${rel(file)} has ${st.size} bytes, more than the limit of ${this.maxFileBytes}`,
        );
      }
      return readFile(file, 'utf8');
    };

    const decryptFile = async (file: string, format: SopsFormat | 'ini'): Promise<void> => {
      if (decrypted.has(file)) return;
      const text = await readSmallFile(file);
      const marker = MARKERS.find(([f]) => f === (format === 'binary' ? 'json' : format))?.[1];
      if (marker === undefined || !text.includes(marker)) return;
      if (format === 'ini') throw new StallingError(DECRYPTION_FAILED_REASON, `error decrypting sources: ${rel(file)}: INI documents are not supported`);
      let plain: string;
      try {
        plain = await this.decryptText(text, format, format);
      } catch (e: unknown) {
        throw failure(`error decrypting sources: ${rel(file)}`, e);
      }
      await writeFile(file, plain, { mode: 0o600 });
      decrypted.add(file);
    };

    const verifyResourceFile = async (file: string): Promise<void> => {
      const st = await lstat(file).catch(() => undefined);
      if (!st?.isFile() || st.size > this.maxFileBytes) return;
      const format = formatForPath(file);
      if (format !== 'yaml' && format !== 'json') return;
      const text = await readFile(file, 'utf8');
      if (!text.includes(MARKERS.find(([f]) => f === format)?.[1] ?? '\u0000')) return;
      // A resource file may hold several objects, each its own SOPS document.
      const docs = format === 'json' ? [text] : splitYamlDocuments(text);
      for (const docText of docs) {
        if (!isSopsEncrypted(docText)) continue;
        let parsed: unknown;
        try {
          parsed = parseYaml(docText, { schema: 'failsafe' });
        } catch {
          continue; // kustomize will report the syntax error with more context
        }
        if (!isRecord(parsed) || !isRecord(parsed['sops'])) continue;
        const annotations = isRecord(parsed['metadata']) && isRecord(parsed['metadata']['annotations']) ? parsed['metadata']['annotations'] : {};
        const optOut = annotations[DECRYPT_ANNOTATION];
        if (typeof optOut === 'string' && optOut.toLowerCase() === 'disabled') continue;
        try {
          const stream = parseYamlStream(docText);
          await this.decryptWith(stream.metadata, () => streamSlots(stream, format), () => false);
        } catch (e: unknown) {
          throw failure(`decryption failed for ${rel(file)}`, e);
        }
        const mac = parsed['sops']['mac'];
        if (typeof mac === 'string') verifiedMacs.add(mac);
      }
    };

    const verifyPlainTree = async (d: string): Promise<void> => {
      for (const entry of await readdir(d, { withFileTypes: true })) {
        const p = path.join(d, entry.name);
        if (entry.isDirectory()) await verifyPlainTree(p);
        else if (entry.isFile() && /\.ya?ml$/.test(entry.name)) await verifyResourceFile(p);
      }
    };

    const visitDir = async (dirPath: string, required: boolean): Promise<void> => {
      const real = await inside(dirPath);
      if (real === undefined) {
        if (required) throw new StallingError(DECRYPTION_FAILED_REASON, `error decrypting sources: path '${dirPath}' is outside the artifact`);
        return;
      }
      if (visitedDirs.has(real)) return;
      visitedDirs.add(real);
      const st = await lstat(real).catch(() => undefined);
      if (!st?.isDirectory()) {
        if (st?.isFile()) await verifyResourceFile(real);
        return;
      }
      const found: string[] = [];
      for (const name of KUSTOMIZATION_FILES) {
        const st2 = await lstat(path.join(real, name)).catch(() => undefined);
        if (st2) {
          if (!st2.isFile()) throw new StallingError(DECRYPTION_FAILED_REASON, `error decrypting sources: expected ${rel(path.join(real, name))} to be a regular file`);
          found.push(name);
        }
      }
      if (found.length > 1) throw new StallingError(DECRYPTION_FAILED_REASON, `error decrypting sources: found multiple kustomization files in ${rel(real)}`);
      const kfile = found[0];
      if (kfile === undefined) {
        // A plain directory (built in process, without a kustomization file): its manifests
        // are resources; verify their MACs while the original key order is still there.
        if (!required) throw new StallingError(DECRYPTION_FAILED_REASON, `error decrypting sources: no kustomization file found in ${rel(real)}`);
        await verifyPlainTree(real);
        return;
      }
      let kus: unknown;
      try {
        kus = parseYaml(await readFile(path.join(real, kfile), 'utf8'));
      } catch (e: unknown) {
        throw failure(`error decrypting sources: failed to read ${rel(path.join(real, kfile))}`, e);
      }
      if (!isRecord(kus)) return;
      const fileRef = async (ref: string, format: SopsFormat | 'ini'): Promise<void> => {
        const target = await inside(path.resolve(real, ref));
        if (target === undefined) throw new StallingError(DECRYPTION_FAILED_REASON, `error decrypting sources: path '${ref}' is outside the artifact`);
        await decryptFile(target, format);
      };
      for (const gen of Array.isArray(kus['secretGenerator']) ? kus['secretGenerator'] : []) {
        if (!isRecord(gen)) continue;
        for (const src of Array.isArray(gen['files']) ? gen['files'] : []) {
          if (typeof src !== 'string') continue;
          const eq = src.indexOf('=');
          const key = eq >= 0 ? src.slice(0, eq) : src;
          await fileRef(eq >= 0 ? src.slice(eq + 1) : src, formatForPath(key));
        }
        const envs = [...(Array.isArray(gen['envs']) ? gen['envs'] : []), ...(typeof gen['env'] === 'string' ? [gen['env']] : [])];
        for (const env of envs) {
          if (typeof env !== 'string') continue;
          const f = formatForPath(env);
          await fileRef(env, f === 'binary' ? 'dotenv' : f);
        }
      }
      for (const patch of Array.isArray(kus['patches']) ? kus['patches'] : []) {
        if (!isRecord(patch) || typeof patch['path'] !== 'string' || patch['path'] === '' || isRemoteUrl(patch['path'])) continue;
        await fileRef(patch['path'], formatForPath(patch['path']));
      }
      const refs = [
        ...(Array.isArray(kus['resources']) ? kus['resources'] : []),
        ...(Array.isArray(kus['components']) ? kus['components'] : []),
      ];
      for (const ref of refs) {
        if (typeof ref !== 'string' || isRemoteUrl(ref)) continue;
        await visitDir(path.resolve(real, ref), false);
      }
    };

    await visitDir(dir, true);
    return { decryptedFiles: [...decrypted].map(rel).sort(), verifiedMacs };
  }
}

function isRemoteUrl(ref: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\/[^/]/i.test(ref);
}

/** Splits a YAML stream at document markers without parsing it. */
function splitYamlDocuments(text: string): string[] {
  return text.split(/^---[ \t]*(?:#.*)?$/m).filter((d) => d.trim() !== '');
}

/** Convenience wrappers for one-off use; a reconcile should build one decryptor and reuse it. */
export async function decryptDocument(text: string, format: SopsFormat, identities: readonly string[], options?: SopsDecryptorOptions): Promise<string> {
  return (await SopsDecryptor.create(identities, options)).decryptDocument(text, format);
}

export async function decryptObjects<T>(objects: readonly T[], identities: readonly string[], options?: SopsDecryptorOptions & DecryptObjectsOptions): Promise<T[]> {
  return (await SopsDecryptor.create(identities, options)).decryptObjects(objects, options);
}

export async function decryptFilesInDir(root: string, dir: string, identities: readonly string[], options?: SopsDecryptorOptions): Promise<DecryptFilesResult> {
  return (await SopsDecryptor.create(identities, options)).decryptFilesInDir(root, dir);
}
