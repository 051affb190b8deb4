import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * SOPS value encryption: each leaf is `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`,
 * AES-256-GCM with a 32-byte nonce and the leaf's key path (`a:b:c:`) as additional data.
 * Errors never quote the ciphertext or the plaintext.
 */

export type SopsValueType = 'str' | 'int' | 'float' | 'bool' | 'bytes' | 'time' | 'comment';

export interface DecryptedValue {
  /** The plaintext bytes exactly as sealed. */
  readonly plain: Buffer;
  readonly type: SopsValueType;
}

const ENCRYPTED_VALUE = /^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]/;
const VALUE_TYPES: ReadonlySet<string> = new Set(['str', 'int', 'float', 'bool', 'bytes', 'time', 'comment']);
const NONCE_BYTES = 32;

export class SopsCipherError extends Error {}

export function isEncryptedValue(value: unknown): value is string {
  return typeof value === 'string' && ENCRYPTED_VALUE.test(value);
}

/** The additional data SOPS binds to a leaf: its map keys joined by ':' with a trailing ':'. */
export function additionalDataFor(path: readonly string[]): string {
  return `${path.join(':')}:`;
}

function strictBase64(text: string, what: string): Buffer {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
    throw new SopsCipherError(`malformed encrypted value: ${what} is not base64`);
  }
  return Buffer.from(text, 'base64');
}

export function decryptValue(ciphertext: string, dataKey: Uint8Array, additionalData: string): DecryptedValue {
  const m = ENCRYPTED_VALUE.exec(ciphertext);
  if (!m) throw new SopsCipherError("value does not match SOPS' encrypted data format");
  const [, data = '', iv = '', tag = '', type = ''] = m;
  if (!VALUE_TYPES.has(type)) throw new SopsCipherError(`unknown encrypted value type '${type.slice(0, 16)}'`);
  const ivBytes = strictBase64(iv, 'iv');
  const tagBytes = strictBase64(tag, 'tag');
  if (ivBytes.length === 0 || tagBytes.length !== 16) throw new SopsCipherError('malformed encrypted value: bad iv or tag length');
  try {
    const decipher = createDecipheriv('aes-256-gcm', dataKey, ivBytes);
    decipher.setAAD(Buffer.from(additionalData, 'utf8'));
    decipher.setAuthTag(tagBytes);
    const plain = Buffer.concat([decipher.update(strictBase64(data, 'data')), decipher.final()]);
    return { plain, type: type as SopsValueType };
  } catch (e: unknown) {
    if (e instanceof SopsCipherError) throw e;
    throw new SopsCipherError('could not decrypt value with AES-GCM (wrong data key, or the value was moved or tampered with)');
  }
}

export function encryptValue(plain: Buffer | string, type: SopsValueType, dataKey: Uint8Array, additionalData: string): string {
  const iv = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', dataKey, iv);
  cipher.setAAD(Buffer.from(additionalData, 'utf8'));
  const data = Buffer.concat([cipher.update(typeof plain === 'string' ? Buffer.from(plain, 'utf8') : plain), cipher.final()]);
  const tag = cipher.getAuthTag();
  return `ENC[AES256_GCM,data:${data.toString('base64')},iv:${iv.toString('base64')},tag:${tag.toString('base64')},type:${type}]`;
}
