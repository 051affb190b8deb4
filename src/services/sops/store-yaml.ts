import { Alias, isAlias, isMap, isScalar, isSeq, parseAllDocuments, Scalar, YAMLMap, YAMLSeq, type Document, type Node } from 'yaml';
import { goStr, resolvePlainScalar, resolveTaggedScalar, type GoValue } from './go-values.ts';
import type { EncryptSlot, PlainLeaf, Slot } from './tree.ts';

/**
 * SOPS' YAML and JSON stores over the `yaml` package's AST, so key order, comments and
 * scalar styles survive. Scalars are parsed with the failsafe schema (all text) and typed
 * with go-yaml's rules, because the MAC hashes values as Go typed them.
 */

export class SopsFormatError extends Error {}

export interface ParsedStream {
  readonly docs: Document.Parsed[];
  /** The `sops` block of the first document, as plain data. */
  readonly metadata: unknown;
}

const PARSE_OPTIONS = { schema: 'failsafe', uniqueKeys: true, prettyErrors: false, strict: true } as const;

export function parseYamlStream(text: string): ParsedStream {
  const docs = parseAllDocuments(text, PARSE_OPTIONS);
  if (!Array.isArray(docs)) return { docs: [], metadata: undefined };
  const nonEmpty = docs.filter((d) => d.contents !== null);
  for (const d of nonEmpty) {
    if (d.errors.length > 0) throw new SopsFormatError(`invalid YAML: ${d.errors[0]?.message.split('\n')[0] ?? 'parse error'}`);
  }
  let metadata: unknown;
  nonEmpty.forEach((doc, i) => {
    if (!isMap(doc.contents)) throw new SopsFormatError('SOPS documents must be mappings at the top level');
    const idx = doc.contents.items.findIndex((p) => isScalar(p.key) && p.key.value === 'sops');
    if (idx >= 0) {
      if (i === 0) metadata = doc.contents.items[idx]?.value ? (doc.contents.items[idx]?.value as Node).toJSON() : undefined;
      doc.contents.items.splice(idx, 1);
    }
  });
  return { docs: nonEmpty, metadata };
}

/** Whether a JSON value goes through the JSON store: its scalars are typed the JSON way. */
type Flavour = 'yaml' | 'json';

function goValueOfScalar(node: Scalar, flavour: Flavour): GoValue {
  const text = String(node.value);
  if (flavour === 'json') {
    if (node.type !== 'PLAIN') return goStr(text);
    if (text === 'null') return { kind: 'null' };
    if (text === 'true' || text === 'false') return { kind: 'bool', value: text === 'true' };
    if (/^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$/.test(text)) {
      if (/^-?(0|[1-9][0-9]*)$/.test(text)) {
        const i = BigInt(text);
        if (i >= -(2n ** 63n) && i < 2n ** 63n) return { kind: 'int', value: i };
      }
      return { kind: 'float', value: Number(text) };
    }
    return goStr(text);
  }
  if (node.tag !== undefined && node.tag !== '!' && node.tag.startsWith('tag:yaml.org,2002:')) return resolveTaggedScalar(node.tag, text);
  if (node.tag !== undefined) return goStr(text);
  if (node.type === 'PLAIN' || node.type === undefined) return resolvePlainScalar(text);
  return goStr(text);
}

/** Strings that any YAML reader (1.1 or 1.2) would not read back as the same string. */
function needsQuotes(s: string): boolean {
  if (s === '' || s !== s.trim() || /[\n\r\t]/.test(s)) return true;
  if (resolvePlainScalar(s).kind !== 'str') return true;
  if (/^(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF|=)$/.test(s)) return true;
  if (/^[0-9+\-.]/.test(s) && /^[-+]?[0-9_.:eE]+$/.test(s)) return true;
  return /^[-?:,[\]{}#&*!|>'"%@`]/.test(s) || /: |\s#/.test(s) || s.endsWith(':');
}

function setScalar(node: Scalar, plain: PlainLeaf): void {
  delete node.tag;
  if (plain.type === 'str' || plain.type === 'bytes') {
    node.value = plain.type === 'bytes' ? plain.bytes.toString('utf8') : plain.text;
    node.type = needsQuotes(String(node.value)) ? 'QUOTE_DOUBLE' : 'PLAIN';
    if (String(node.value).includes('\n')) node.type = 'BLOCK_LITERAL';
    return;
  }
  // Go's SOPS hashes booleans as True/False but writes them as YAML booleans.
  node.value = plain.type === 'bool' ? (plain.text === 'True' ? 'true' : 'false') : plain.text;
  node.type = plain.type === 'time' ? 'QUOTE_DOUBLE' : 'PLAIN';
}

function commentLines(text: string | null | undefined): string[] {
  return text ? text.split('\n') : [];
}

/** Emits comment slots for each line of a comment, writing back line by line. */
function* commentSlots(host: { commentBefore?: string | null; comment?: string | null }, which: 'commentBefore' | 'comment', path: readonly string[]): Generator<Slot> {
  const lines = commentLines(host[which]);
  for (let i = 0; i < lines.length; i++) {
    const index = i;
    yield {
      kind: 'comment',
      path,
      text: lines[index] ?? '',
      set: (text: string) => {
        const current = commentLines(host[which]);
        current[index] = text;
        host[which] = current.join('\n');
      },
    };
  }
}

function* walkNode(node: Node | null | undefined, path: readonly string[], flavour: Flavour, doc: Document): Generator<Slot> {
  if (node === null || node === undefined) return;
  if (isAlias(node)) {
    // An alias repeats its anchor's value: it is visited again but never written through.
    const target = (node as Alias).resolve(doc);
    if (target) yield* readOnly(walkNode(target as Node, path, flavour, doc));
    return;
  }
  if (isMap(node)) {
    yield* commentSlots(node, 'commentBefore', path);
    for (const pair of (node as YAMLMap).items) {
      if (!isScalar(pair.key)) throw new SopsFormatError('SOPS supports only scalar mapping keys');
      yield* commentSlots(pair.key, 'commentBefore', path);
      const childPath = [...path, String(pair.key.value)];
      const value = pair.value as Node | null;
      if (value === null || value === undefined) continue;
      yield* walkNode(value, childPath, flavour, doc);
      if (isScalar(value)) yield* commentSlots(value, 'comment', path);
    }
    return;
  }
  if (isSeq(node)) {
    yield* commentSlots(node, 'commentBefore', path);
    for (const item of (node as YAMLSeq).items as Node[]) {
      if (isScalar(item)) yield* commentSlots(item, 'commentBefore', path);
      yield* walkNode(item, path, flavour, doc);
      if (isScalar(item)) yield* commentSlots(item, 'comment', path);
    }
    return;
  }
  if (isScalar(node)) {
    const scalar = node;
    yield { kind: 'value', path, value: goValueOfScalar(scalar, flavour), set: (plain) => setScalar(scalar, plain) };
  }
}

function* readOnly(slots: Generator<Slot>): Generator<Slot> {
  for (const s of slots) {
    yield s.kind === 'comment' ? { ...s, set: () => undefined } : { ...s, set: () => undefined };
  }
}

/** All slots of a stream in SOPS order: each document's comments and values in turn. */
export function* streamSlots(stream: ParsedStream, flavour: Flavour): Generator<Slot> {
  for (const doc of stream.docs) {
    yield* commentSlots(doc, 'commentBefore', []);
    yield* walkNode(doc.contents as Node, [], flavour, doc);
  }
}

/** The same walk for encryption: leaves get their ciphertext written as plain scalars. */
export function* streamEncryptSlots(stream: ParsedStream, flavour: Flavour): Generator<EncryptSlot> {
  for (const slot of streamSlots(stream, flavour)) {
    if (slot.kind === 'comment') {
      yield slot;
      continue;
    }
    const s = slot;
    yield {
      kind: 'value',
      path: s.path,
      value: s.value,
      set: (ciphertext: string) => s.set({ type: 'str', text: ciphertext, bytes: Buffer.from(ciphertext) }),
    };
  }
}

export function emitYamlStream(stream: ParsedStream): string {
  return stream.docs
    .map((doc, i) => {
      const text = doc.toString({ lineWidth: 0 });
      return i > 0 && !text.startsWith('---') ? `---\n${text}` : text;
    })
    .join('');
}

// Go's encoding/json escapes HTML-significant characters and the JavaScript line separators.
function goJsonString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function jsonScalar(node: Scalar, typed: boolean): string {
  const text = String(node.value);
  if (node.type !== 'PLAIN' || !typed) return goJsonString(text);
  if (text === 'null' || text === 'true' || text === 'false') return text;
  if (/^-?(0|[1-9][0-9]*)$/.test(text)) return text;
  if (/^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$/.test(text)) return JSON.stringify(Number(text));
  return goJsonString(text);
}

/** SOPS' JSON store output: Go's json.Indent with a tab, keys in document order. */
export function emitJsonDocument(stream: ParsedStream): string {
  const doc = stream.docs[0];
  if (!doc) throw new SopsFormatError('empty JSON document');
  const render = (node: Node | null | undefined, depth: number): string => {
    const pad = '\t'.repeat(depth + 1);
    const end = '\t'.repeat(depth);
    if (node === null || node === undefined) return 'null';
    if (isAlias(node)) return render((node as Alias).resolve(doc) as Node, depth);
    if (isMap(node)) {
      const items = (node as YAMLMap).items;
      if (items.length === 0) return '{}';
      return `{\n${items.map((p) => `${pad}${goJsonString(String((p.key as Scalar).value))}: ${render(p.value as Node, depth + 1)}`).join(',\n')}\n${end}}`;
    }
    if (isSeq(node)) {
      const items = (node as YAMLSeq).items as Node[];
      if (items.length === 0) return '[]';
      return `[\n${items.map((it) => `${pad}${render(it, depth + 1)}`).join(',\n')}\n${end}]`;
    }
    return jsonScalar(node as Scalar, true);
  };
  return `${render(doc.contents as Node, 0)}\n`;
}

/** Reads the `data` entry of a binary-store document. */
export function binaryData(stream: ParsedStream): string {
  const doc = stream.docs[0];
  if (!doc || !isMap(doc.contents)) throw new SopsFormatError('binary SOPS document must be a JSON object');
  const pair = doc.contents.items.find((p) => isScalar(p.key) && p.key.value === 'data');
  if (!pair || !isScalar(pair.value)) throw new SopsFormatError("binary SOPS document has no string 'data' entry");
  return String(pair.value.value);
}
