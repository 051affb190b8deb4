import { goStr } from './go-values.ts';
import { SopsFormatError } from './store-yaml.ts';
import type { EncryptSlot, Slot } from './tree.ts';

/**
 * SOPS' dotenv store: `KEY=VALUE` lines (value text has `\n` escapes), `#` comments, and
 * the metadata flattened into `sops_…` keys (`sops_age__list_0__map_enc`).
 */

export type DotenvLine = { kind: 'comment'; text: string } | { kind: 'entry'; key: string; value: string };

export interface DotenvDocument {
  readonly lines: DotenvLine[];
  readonly metadata: unknown;
}

const SOPS_PREFIX = 'sops_';

export function parseDotenv(text: string, { withMetadata }: { withMetadata: boolean }): DotenvDocument {
  const lines: DotenvLine[] = [];
  const flat: [string, string][] = [];
  for (const raw of text.split('\n')) {
    if (raw.length === 0) continue;
    if (raw.startsWith('#')) {
      lines.push({ kind: 'comment', text: raw.slice(1) });
      continue;
    }
    const eq = raw.indexOf('=');
    // The line may hold a secret value: name only its position.
    if (eq < 0) throw new SopsFormatError(`invalid dotenv line ${lines.length + flat.length + 1}: no '='`);
    const key = raw.slice(0, eq);
    const value = raw.slice(eq + 1).replace(/\\n/g, '\n');
    if (withMetadata && key.startsWith(SOPS_PREFIX)) flat.push([key.slice(SOPS_PREFIX.length), value]);
    else lines.push({ kind: 'entry', key, value });
  }
  return { lines, metadata: withMetadata ? unflatten(flat) : undefined };
}

type Token = { map: string } | { list: number };

function tokenize(path: string): Token[] {
  const tokens: Token[] = [];
  const re = /__(map|list)_/g;
  let state: 'normal' | 'map' | 'list' = 'normal';
  let start = 0;
  const finish = (end: number): void => {
    const text = path.slice(start, end);
    tokens.push(state === 'list' ? { list: Number.parseInt(text, 10) || 0 } : { map: text });
  };
  for (let m = re.exec(path); m; m = re.exec(path)) {
    finish(m.index);
    state = m[1] === 'map' ? 'map' : 'list';
    start = m.index + m[0].length;
  }
  finish(path.length);
  return tokens;
}

/** Rebuilds nested metadata from flattened keys, as SOPS' unflatten does. */
export function unflatten(entries: readonly [string, string][]): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [path, value] of entries) {
    const tokens = tokenize(path);
    let container: Record<string, unknown> | unknown[] = root;
    tokens.forEach((token, i) => {
      const last = i === tokens.length - 1;
      const next = tokens[i + 1];
      const make = (): Record<string, unknown> | unknown[] => (next !== undefined && 'list' in next ? [] : {});
      if ('map' in token) {
        if (Array.isArray(container)) throw new SopsFormatError('inconsistent flattened sops metadata');
        const c: Record<string, unknown> = container;
        if (last) c[token.map] = value;
        else container = (c[token.map] ??= make()) as Record<string, unknown> | unknown[];
      } else {
        if (!Array.isArray(container)) throw new SopsFormatError('inconsistent flattened sops metadata');
        const c: unknown[] = container;
        if (last) c[token.list] = value;
        else container = (c[token.list] ??= make()) as Record<string, unknown> | unknown[];
      }
    });
  }
  return root;
}

export function* dotenvSlots(doc: DotenvDocument): Generator<Slot> {
  for (const line of doc.lines) {
    if (line.kind === 'comment') {
      yield { kind: 'comment', path: [], text: line.text, set: (t) => (line.text = t) };
    } else {
      yield { kind: 'value', path: [line.key], value: goStr(line.value), set: (plain) => (line.value = plain.text) };
    }
  }
}

export function* dotenvEncryptSlots(doc: DotenvDocument): Generator<EncryptSlot> {
  for (const line of doc.lines) {
    if (line.kind === 'comment') yield { kind: 'comment', path: [], text: line.text, set: (t) => (line.text = t) };
    else yield { kind: 'value', path: [line.key], value: goStr(line.value), set: (c) => (line.value = c) };
  }
}

export function emitDotenv(lines: readonly DotenvLine[]): string {
  return lines.map((l) => (l.kind === 'comment' ? `#${l.text}\n` : `${l.key}=${l.value.replace(/\n/g, '\\n')}\n`)).join('');
}

/** Flattens metadata into `sops_` entries (for the test encrypt helper). */
export function flattenMetadata(meta: Record<string, unknown>): [string, string][] {
  const out: [string, string][] = [];
  const visit = (value: unknown, key: string): void => {
    if (Array.isArray(value)) value.forEach((v, i) => visit(v, `${key}__list_${i}`));
    else if (typeof value === 'object' && value !== null) {
      for (const [k, v] of Object.entries(value)) visit(v, `${key}__map_${k}`);
    } else out.push([key, String(value)]);
  };
  for (const [k, v] of Object.entries(meta)) {
    if (Array.isArray(v) || (typeof v === 'object' && v !== null)) visit(v, k);
    else out.push([k, String(v)]);
  }
  return out.map(([k, v]) => [`${SOPS_PREFIX}${k}`, v]);
}
