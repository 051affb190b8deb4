import { createHash } from 'node:crypto';
import { additionalDataFor, decryptValue, encryptValue, isEncryptedValue, SopsCipherError, type SopsValueType } from './cipher.ts';
import { goValueBytes, type GoValue } from './go-values.ts';
import { macAdditionalData, SopsMetadataError, type EncryptionRule, type SopsMetadata } from './metadata.ts';

/**
 * The format-independent part of SOPS: which leaves are encrypted, decrypting them in
 * document order, and the MAC over the result. Each store (YAML, JSON, dotenv, objects)
 * walks its own representation and hands over slots in the order SOPS' Go tree would
 * visit them.
 */

/** A decrypted leaf, typed as SOPS typed it when encrypting. */
export interface PlainLeaf {
  readonly type: Exclude<SopsValueType, 'comment'>;
  /** Text form for str/int/float/bool/time; base64 is never applied here. */
  readonly text: string;
  readonly bytes: Buffer;
}

/** A leaf a store hands over, with a setter that writes back into the document: a value whose setter takes `V`, or a comment. */
type LeafSlot<V> =
  | {
      readonly kind: 'value';
      readonly path: readonly string[];
      readonly value: GoValue;
      set(value: V): void;
    }
  | {
      readonly kind: 'comment';
      readonly path: readonly string[];
      readonly text: string;
      set(text: string): void;
    };

/** An encrypted leaf to be decrypted: the value's setter takes the plaintext. */
export type Slot = LeafSlot<PlainLeaf>;

export class SopsMacError extends Error {}

/** Bytes SOPS writes into a MAC-only-encrypted hash first, so the two MAC kinds never collide. */
const MAC_ONLY_ENCRYPTED_INIT = Buffer.from('8a3fd2ad54ce66527b1034f3d147be0b0b975b3bf44f72c6fdadec8176f27d69', 'hex');

export function shouldBeEncrypted(rule: EncryptionRule, path: readonly string[]): boolean {
  switch (rule.kind) {
    case 'unencryptedSuffix':
      return !path.some((k) => k.endsWith(rule.suffix));
    case 'encryptedSuffix':
      return path.some((k) => k.endsWith(rule.suffix));
    case 'unencryptedRegex':
      return !path.some((k) => rule.regex.test(k));
    case 'encryptedRegex':
      return path.some((k) => rule.regex.test(k));
    case 'unencryptedCommentRegex':
    case 'encryptedCommentRegex':
      throw new SopsMetadataError('documents using encrypted_comment_regex or unencrypted_comment_regex are not supported');
  }
}

function typedPlain(type: Exclude<SopsValueType, 'comment'>, plain: Buffer): PlainLeaf {
  const text = plain.toString('utf8');
  switch (type) {
    case 'bool': {
      // strconv.ParseBool, then the MAC hashes Go's "True"/"False".
      const truthy = ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text);
      const falsy = ['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text);
      if (!truthy && !falsy) throw new SopsCipherError('encrypted bool value does not hold a boolean');
      const norm = truthy ? 'True' : 'False';
      return { type, text: norm, bytes: Buffer.from(norm) };
    }
    case 'int': {
      if (!/^[+-]?[0-9]+$/.test(text)) throw new SopsCipherError('encrypted int value does not hold an integer');
      const norm = BigInt(text).toString();
      return { type, text: norm, bytes: Buffer.from(norm) };
    }
    default:
      return { type, text, bytes: plain };
  }
}

export type MacCheck = 'verified' | 'mismatch' | 'missing';

/**
 * Decrypts every encrypted slot in place and reports whether the document MAC matches.
 * `slots` must be produced in SOPS' walk order (document order, every document of a
 * stream in sequence). The caller decides what a mismatch means.
 */
export function decryptSlots(slots: Iterable<Slot>, meta: SopsMetadata, dataKey: Uint8Array): MacCheck {
  const hash = createHash('sha512');
  if (meta.macOnlyEncrypted) hash.update(MAC_ONLY_ENCRYPTED_INIT);
  for (const slot of slots) {
    const encrypted = shouldBeEncrypted(meta.rule, slot.path);
    if (slot.kind === 'comment') {
      // SOPS tries encrypted comments and keeps them as they are when they do not decrypt.
      if (encrypted && isEncryptedValue(slot.text.trim())) {
        try {
          slot.set(decryptValue(slot.text.trim(), dataKey, additionalDataFor(slot.path)).plain.toString('utf8'));
        } catch {
          // Left encrypted, as SOPS does.
        }
      }
      continue;
    }
    if (slot.value.kind === 'null') continue;
    if (!encrypted) {
      if (!meta.macOnlyEncrypted) {
        const bytes = goValueBytes(slot.value);
        if (bytes) hash.update(bytes);
      }
      continue;
    }
    if (slot.value.kind !== 'str') {
      throw new SopsCipherError(`the value at '${slot.path.join('.')}' should be encrypted but is a plain ${slot.value.kind}`);
    }
    if (slot.value.value === '') {
      slot.set({ type: 'str', text: '', bytes: Buffer.alloc(0) });
      continue;
    }
    let decrypted;
    try {
      decrypted = decryptValue(slot.value.value, dataKey, additionalDataFor(slot.path));
    } catch (e: unknown) {
      const why = e instanceof Error ? e.message : 'unknown error';
      throw new SopsCipherError(`cannot decrypt the value at '${slot.path.join('.')}': ${why}`);
    }
    if (decrypted.type === 'comment') throw new SopsCipherError(`the value at '${slot.path.join('.')}' holds an encrypted comment`);
    const plain = typedPlain(decrypted.type, decrypted.plain);
    hash.update(plain.bytes);
    slot.set(plain);
  }
  if (meta.mac === '') return 'missing';
  let stored: string;
  try {
    stored = decryptValue(meta.mac, dataKey, macAdditionalData(meta.lastModified)).plain.toString('utf8');
  } catch {
    return 'mismatch';
  }
  if (stored === '') return 'missing';
  return stored === hash.digest('hex').toUpperCase() ? 'verified' : 'mismatch';
}

export function macError(check: Exclude<MacCheck, 'verified'>): SopsMacError {
  return new SopsMacError(
    check === 'missing'
      ? 'MAC mismatch: the document has no MAC'
      : 'MAC mismatch: the document was changed after it was encrypted (re-encrypt it with sops instead of editing it by hand)',
  );
}

/** A plaintext leaf to be encrypted (for test fixtures): the value's setter takes the ciphertext. */
export type EncryptSlot = LeafSlot<string>;

/** Encrypts leaves SOPS would encrypt and returns the encrypted MAC for `lastModified`. */
export function encryptSlots(
  slots: Iterable<EncryptSlot>,
  rule: EncryptionRule,
  macOnlyEncrypted: boolean,
  dataKey: Uint8Array,
  lastModified: string,
): string {
  const hash = createHash('sha512');
  if (macOnlyEncrypted) hash.update(MAC_ONLY_ENCRYPTED_INIT);
  for (const slot of slots) {
    const encrypted = shouldBeEncrypted(rule, slot.path);
    if (slot.kind === 'comment') {
      if (encrypted && slot.text !== '') slot.set(encryptValue(slot.text, 'comment', dataKey, additionalDataFor(slot.path)));
      continue;
    }
    const v = slot.value;
    if (v.kind === 'null') continue;
    const bytes = goValueBytes(v) ?? Buffer.alloc(0);
    if (!macOnlyEncrypted || encrypted) hash.update(bytes);
    if (!encrypted || bytes.length === 0) continue;
    const type: SopsValueType = v.kind === 'str' ? 'str' : v.kind === 'uint' ? 'int' : v.kind;
    slot.set(encryptValue(bytes, type, dataKey, additionalDataFor(slot.path)));
  }
  return encryptValue(hash.digest('hex').toUpperCase(), 'str', dataKey, macAdditionalData(lastModified));
}
