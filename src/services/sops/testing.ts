import { randomBytes } from 'node:crypto';
import { Encrypter, armor } from 'age-encryption';
import { isMap, isScalar, Pair, Scalar, YAMLMap } from 'yaml';
import { dotenvEncryptSlots, emitDotenv, flattenMetadata, parseDotenv } from './store-dotenv.ts';
import { emitJsonDocument, emitYamlStream, parseYamlStream, streamEncryptSlots } from './store-yaml.ts';
import { encryptSlots } from './tree.ts';
import { DEFAULT_UNENCRYPTED_SUFFIX, goRegExp, type EncryptionRule } from './metadata.ts';
import type { SopsFormat } from './decryptor.ts';

/**
 * Produces real SOPS (age) documents with a correct MAC, for test fixtures. Nothing on npm
 * encrypts SOPS; this follows the Go tool's layout so the result decrypts with `sops -d`.
 * Test code only: production code never encrypts.
 */

export interface EncryptForTestsOptions {
  readonly encryptedRegex?: string;
  readonly unencryptedRegex?: string;
  readonly encryptedSuffix?: string;
  readonly unencryptedSuffix?: string;
  readonly macOnlyEncrypted?: boolean;
  /** RFC 3339, whole seconds; defaults to now. */
  readonly lastModified?: string;
}

function ruleOf(options: EncryptForTestsOptions): { rule: EncryptionRule; metadata: Record<string, string> } {
  if (options.encryptedRegex !== undefined) {
    return { rule: { kind: 'encryptedRegex', regex: goRegExp(options.encryptedRegex) }, metadata: { encrypted_regex: options.encryptedRegex } };
  }
  if (options.unencryptedRegex !== undefined) {
    return { rule: { kind: 'unencryptedRegex', regex: goRegExp(options.unencryptedRegex) }, metadata: { unencrypted_regex: options.unencryptedRegex } };
  }
  if (options.encryptedSuffix !== undefined) {
    return { rule: { kind: 'encryptedSuffix', suffix: options.encryptedSuffix }, metadata: { encrypted_suffix: options.encryptedSuffix } };
  }
  const suffix = options.unencryptedSuffix ?? DEFAULT_UNENCRYPTED_SUFFIX;
  return { rule: { kind: 'unencryptedSuffix', suffix }, metadata: { unencrypted_suffix: suffix } };
}

/** Encrypts `plain` (a document in `format`) for the given age recipients (`age1…`). */
export async function encryptForTests(
  plain: string,
  format: SopsFormat,
  recipients: readonly string[],
  options: EncryptForTestsOptions = {},
): Promise<string> {
  const dataKey = randomBytes(32);
  const lastModified = options.lastModified ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const { rule, metadata: ruleMetadata } = ruleOf(options);
  const macOnly = options.macOnlyEncrypted === true;
  const age: { recipient: string; enc: string }[] = [];
  for (const recipient of recipients) {
    const e = new Encrypter();
    e.addRecipient(recipient);
    age.push({ recipient, enc: armor.encode(await e.encrypt(dataKey)) });
  }
  const metadataFor = (mac: string): Record<string, unknown> => ({
    age,
    lastmodified: lastModified,
    mac,
    ...(macOnly ? { mac_only_encrypted: 'true' } : {}),
    ...ruleMetadata,
    version: '3.9.0',
  });

  if (format === 'dotenv') {
    const doc = parseDotenv(plain, { withMetadata: false });
    const mac = encryptSlots(dotenvEncryptSlots(doc), rule, macOnly, dataKey, lastModified);
    const flat = flattenMetadata(metadataFor(mac)).map(([key, value]) => ({ kind: 'entry' as const, key, value }));
    return emitDotenv([...doc.lines, ...flat]);
  }

  const source = format === 'binary' ? JSON.stringify({ data: plain }) : plain;
  const flavour = format === 'yaml' ? 'yaml' : 'json';
  const stream = parseYamlStream(source);
  const mac = encryptSlots(streamEncryptSlots(stream, flavour), rule, macOnly, dataKey, lastModified);
  const metadata = metadataFor(mac);
  for (const doc of stream.docs) {
    if (!isMap(doc.contents)) continue;
    const node = doc.createNode(metadata) as YAMLMap;
    // Quoted like the real tool writes it, so a YAML 1.1 reader does not see a timestamp.
    const stamp = node.get('lastmodified', true);
    if (isScalar(stamp)) stamp.type = 'QUOTE_DOUBLE';
    const contents = doc.contents as YAMLMap;
    contents.items.push(new Pair(new Scalar('sops'), node));
  }
  return format === 'yaml' ? emitYamlStream(stream) : emitJsonDocument(stream);
}
