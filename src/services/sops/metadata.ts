import { Decrypter, armor, identityToRecipient } from 'age-encryption';

/** The part of a document's `sops` block that decryption needs. */
export interface SopsMetadata {
  readonly ageKeys: readonly { readonly recipient: string; readonly enc: string }[];
  /** Other key types present (pgp, kms, vault…), named only for error messages. */
  readonly otherKeyTypes: readonly string[];
  readonly keyGroupCount: number;
  readonly lastModified: string;
  readonly mac: string;
  readonly rule: EncryptionRule;
  readonly macOnlyEncrypted: boolean;
}

export type EncryptionRule =
  | { readonly kind: 'unencryptedSuffix'; readonly suffix: string }
  | { readonly kind: 'encryptedSuffix'; readonly suffix: string }
  | { readonly kind: 'unencryptedRegex'; readonly regex: RegExp }
  | { readonly kind: 'encryptedRegex'; readonly regex: RegExp }
  | { readonly kind: 'unencryptedCommentRegex'; readonly regex: RegExp }
  | { readonly kind: 'encryptedCommentRegex'; readonly regex: RegExp };

export class SopsMetadataError extends Error {}

export const DEFAULT_UNENCRYPTED_SUFFIX = '_unencrypted';

const KEY_TYPES = ['pgp', 'kms', 'gcp_kms', 'hckms', 'azure_kv', 'hc_vault'] as const;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optionalString(meta: Record<string, unknown>, key: string): string | undefined {
  const v = meta[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new SopsMetadataError(`sops metadata field '${key}' must be a string`);
}

/** Go's RE2 syntax differs from JavaScript's in the inline-flag prefix; translate the common one. */
export function goRegExp(pattern: string): RegExp {
  let source = pattern;
  let flags = 'u';
  const inline = /^\(\?([imsU]+)\)/.exec(source);
  if (inline) {
    source = source.slice(inline[0].length);
    const wanted = inline[1] ?? '';
    if (wanted.includes('i')) flags += 'i';
    if (wanted.includes('m')) flags += 'm';
    if (wanted.includes('s')) flags += 's';
  }
  try {
    return new RegExp(source, flags);
  } catch {
    throw new SopsMetadataError(`sops metadata holds a regular expression this decryptor cannot evaluate: ${pattern}`);
  }
}

function ageKeysOf(list: unknown): { recipient: string; enc: string }[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new SopsMetadataError("sops metadata field 'age' must be a list");
  return list.map((entry) => {
    if (!isRecord(entry) || typeof entry['recipient'] !== 'string' || typeof entry['enc'] !== 'string') {
      throw new SopsMetadataError("sops metadata 'age' entries need 'recipient' and 'enc'");
    }
    return { recipient: entry['recipient'], enc: entry['enc'] };
  });
}

function presentKeyTypes(meta: Record<string, unknown>): string[] {
  return KEY_TYPES.filter((t) => Array.isArray(meta[t]) && (meta[t] as unknown[]).length > 0);
}

/** Reads a `sops` block (already a plain object: nested for YAML/JSON, unflattened for dotenv). */
export function parseMetadata(meta: unknown): SopsMetadata {
  if (!isRecord(meta)) throw new SopsMetadataError("the 'sops' entry is not a mapping");
  const mac = optionalString(meta, 'mac') ?? '';
  const lastModified = optionalString(meta, 'lastmodified');
  if (lastModified === undefined) throw new SopsMetadataError("sops metadata has no 'lastmodified'");

  let ageKeys = ageKeysOf(meta['age']);
  let otherKeyTypes = presentKeyTypes(meta);
  let keyGroupCount = ageKeys.length > 0 || otherKeyTypes.length > 0 ? 1 : 0;
  const groups = meta['key_groups'];
  if (Array.isArray(groups) && groups.length > 0) {
    keyGroupCount = groups.length;
    ageKeys = [];
    otherKeyTypes = [];
    for (const g of groups) {
      if (!isRecord(g)) throw new SopsMetadataError("sops metadata 'key_groups' entries must be mappings");
      ageKeys.push(...ageKeysOf(g['age']));
      otherKeyTypes.push(...presentKeyTypes(g));
    }
  }

  const rules: EncryptionRule[] = [];
  const unencryptedSuffix = optionalString(meta, 'unencrypted_suffix');
  const encryptedSuffix = optionalString(meta, 'encrypted_suffix');
  const unencryptedRegex = optionalString(meta, 'unencrypted_regex');
  const encryptedRegex = optionalString(meta, 'encrypted_regex');
  const unencryptedCommentRegex = optionalString(meta, 'unencrypted_comment_regex');
  const encryptedCommentRegex = optionalString(meta, 'encrypted_comment_regex');
  if (unencryptedSuffix !== undefined) rules.push({ kind: 'unencryptedSuffix', suffix: unencryptedSuffix });
  if (encryptedSuffix !== undefined) rules.push({ kind: 'encryptedSuffix', suffix: encryptedSuffix });
  if (unencryptedRegex !== undefined) rules.push({ kind: 'unencryptedRegex', regex: goRegExp(unencryptedRegex) });
  if (encryptedRegex !== undefined) rules.push({ kind: 'encryptedRegex', regex: goRegExp(encryptedRegex) });
  if (unencryptedCommentRegex !== undefined) {
    rules.push({ kind: 'unencryptedCommentRegex', regex: goRegExp(unencryptedCommentRegex) });
  }
  if (encryptedCommentRegex !== undefined) rules.push({ kind: 'encryptedCommentRegex', regex: goRegExp(encryptedCommentRegex) });
  if (rules.length > 1) {
    throw new SopsMetadataError('sops metadata may set only one of the encrypted/unencrypted suffix, regex and comment-regex rules');
  }
  const macOnly = meta['mac_only_encrypted'];
  return {
    ageKeys,
    otherKeyTypes: [...new Set(otherKeyTypes)],
    keyGroupCount,
    lastModified,
    mac,
    rule: rules[0] ?? { kind: 'unencryptedSuffix', suffix: DEFAULT_UNENCRYPTED_SUFFIX },
    macOnlyEncrypted: macOnly === true || macOnly === 'true',
  };
}

/**
 * SOPS binds the MAC to `lastmodified` re-formatted by Go as RFC 3339 (whole seconds,
 * `Z` for a zero offset), not to the text stored in the file.
 */
export function macAdditionalData(lastModified: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.exec(lastModified);
  if (!m) throw new SopsMetadataError("sops metadata 'lastmodified' is not an RFC 3339 time");
  const [, date, time, zone = 'Z'] = m;
  const offset = zone === 'Z' || zone === 'z' || zone.slice(1) === '00:00' ? 'Z' : zone;
  return `${date}T${time}${offset}`;
}

/** Parsed age identities, with their public recipients computed once. */
export class AgeIdentities {
  private constructor(
    private readonly identities: readonly string[],
    private readonly recipients: readonly string[],
  ) {}

  static async from(identities: readonly string[]): Promise<AgeIdentities> {
    const recipients: string[] = [];
    for (const id of identities) {
      try {
        recipients.push(await identityToRecipient(id));
      } catch {
        // The identity text is secret: report its position, never its content.
        throw new SopsMetadataError(`age identity #${recipients.length + 1} is not a valid age secret key`);
      }
    }
    return new AgeIdentities([...identities], recipients);
  }

  get size(): number {
    return this.identities.length;
  }

  /** Public recipients (`age1…`), safe to show. */
  get publicRecipients(): readonly string[] {
    return this.recipients;
  }

  /** Unwraps a document's data key with the first identity whose recipient the document lists. */
  async unwrapDataKey(meta: SopsMetadata): Promise<Uint8Array> {
    if (meta.keyGroupCount > 1) {
      throw new SopsMetadataError('documents split across several key groups (Shamir secret sharing) are not supported');
    }
    if (meta.ageKeys.length === 0) {
      const others = meta.otherKeyTypes.length > 0 ? meta.otherKeyTypes.join(', ') : 'none';
      throw new SopsMetadataError(`the document has no age recipients (its keys: ${others}); only age keys are supported`);
    }
    const byRecipient = new Map<string, string>();
    this.recipients.forEach((r, i) => byRecipient.set(r, this.identities[i] ?? ''));
    const ordered = [
      ...meta.ageKeys.filter((k) => byRecipient.has(k.recipient)),
      ...meta.ageKeys.filter((k) => !byRecipient.has(k.recipient)),
    ];
    for (const key of ordered) {
      const matching = byRecipient.get(key.recipient);
      const decrypter = new Decrypter();
      // A matching recipient is tried alone; an unknown one (e.g. a tag recipient) with every identity.
      for (const id of matching !== undefined ? [matching] : this.identities) decrypter.addIdentity(id);
      if (this.identities.length === 0) break;
      let sealed: Uint8Array;
      try {
        sealed = armor.decode(key.enc);
      } catch {
        throw new SopsMetadataError(`the age stanza for ${abbreviate(key.recipient)} is not valid armored age data`);
      }
      try {
        const dataKey = await decrypter.decrypt(sealed, 'uint8array');
        if (dataKey.length !== 32) throw new SopsMetadataError('the age-encrypted data key does not have 32 bytes');
        return dataKey;
      } catch (e: unknown) {
        if (e instanceof SopsMetadataError) throw e;
        if (matching !== undefined) {
          throw new SopsMetadataError(`the age identity for ${abbreviate(key.recipient)} could not decrypt the data key`);
        }
      }
    }
    const wanted = meta.ageKeys.map((k) => abbreviate(k.recipient)).join(', ');
    throw new SopsMetadataError(
      this.identities.length === 0
        ? `no age identities were provided; the document is encrypted for ${wanted}`
        : `none of the ${this.identities.length} age identities matches the document's recipients (${wanted})`,
    );
  }
}

function abbreviate(recipient: string): string {
  return recipient.length > 24 ? `${recipient.slice(0, 16)}…${recipient.slice(-6)}` : recipient;
}

/** Every `AGE-SECRET-KEY-…` line in a key file (comments and blank lines ignored). */
export function parseAgeKeyFile(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.startsWith('AGE-SECRET-KEY-'));
}

/**
 * Identities from a Secret's `data` (base64) or `stringData`, as Flux reads them: every
 * entry whose key ends in `.agekey`, each possibly holding several keys.
 */
export function ageIdentitiesFromSecret(secret: {
  data?: Record<string, string> | undefined;
  stringData?: Record<string, string> | undefined;
}): string[] {
  const out: string[] = [];
  const entries: [string, string][] = [
    ...Object.entries(secret.data ?? {}).map(([k, v]): [string, string] => [k, Buffer.from(v, 'base64').toString('utf8')]),
    ...Object.entries(secret.stringData ?? {}),
  ];
  for (const [key, text] of entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (key.endsWith('.agekey')) out.push(...parseAgeKeyFile(text));
  }
  return out;
}
