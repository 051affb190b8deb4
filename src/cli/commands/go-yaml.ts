/**
 * YAML as Flux's CLI writes it (Go's sigs.k8s.io/yaml on go-yaml v2): map keys in go-yaml's
 * "natural" order, sequences not indented under their key, no line folding, multi-line
 * strings as literal blocks, and go-yaml's quoting: double quotes for a string that YAML
 * 1.1 would read as another type (`"true"`, `"1"`, `"2021-01-01"`, `""`), single quotes
 * for one that cannot be plain (`'*'`). `flotilla create --export` and `flotilla export`
 * print this, so their output is byte-for-byte what `flux` prints for the same object.
 */
import { Document, Scalar, visit, type Pair } from 'yaml';

const BOOL_OR_NULL = new Set([
  'y', 'Y', 'yes', 'Yes', 'YES', 'n', 'N', 'no', 'No', 'NO',
  'true', 'True', 'TRUE', 'false', 'False', 'FALSE',
  'on', 'On', 'ON', 'off', 'Off', 'OFF',
  '', '~', 'null', 'Null', 'NULL',
  '.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF', '-.inf', '-.Inf', '-.INF',
  '.nan', '.NaN', '.NAN',
]);
const YAML_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const GO_INT = /^[-+]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/;
const BASE60_FLOAT = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/;
const TIMESTAMP = [
  /^(\d{4})-(\d{1,2})-(\d{1,2})$/,
  /^(\d{4})-(\d{1,2})-(\d{1,2})[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/,
  /^(\d{4})-(\d{1,2})-(\d{1,2}) (\d{1,2}):(\d{1,2}):(\d{1,2})(\.\d+)?$/,
];

function isTimestamp(s: string): boolean {
  for (const re of TIMESTAMP) {
    const m = re.exec(s);
    if (!m) continue;
    const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (month < 1 || month > 12 || day < 1 || day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return false;
    if (m[4] !== undefined && (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6]) > 59)) return false;
    return true;
  }
  return false;
}

/** Would go-yaml v2 read this plain scalar as something other than a string? */
export function resolvesToNonString(s: string): boolean {
  if (BOOL_OR_NULL.has(s)) return true;
  const first = s[0] ?? '';
  if (!/[-+.0-9]/.test(first)) return false;
  if (isTimestamp(s)) return true;
  const plain = s.replaceAll('_', '');
  if (GO_INT.test(plain) || YAML_FLOAT.test(plain)) return true;
  return BASE60_FLOAT.test(s);
}

/** YAML's printable set; anything else forces double quotes with escapes. */
function isPrintable(s: string): boolean {
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    const ok =
      c === 0x0a ||
      (c >= 0x20 && c <= 0x7e) ||
      c === 0x85 ||
      (c >= 0xa0 && c <= 0xd7ff) ||
      (c >= 0xe000 && c <= 0xfffd && c !== 0xfeff) ||
      (c >= 0x10000 && c <= 0x10ffff);
    if (!ok) return false;
  }
  return true;
}

/** go-yaml's emitter rules for a single-line plain scalar in block context. */
function plainAllowed(s: string): boolean {
  if (s.startsWith(' ') || s.endsWith(' ')) return false;
  if (s.startsWith('---') || s.startsWith('...')) return false;
  const chars = Array.from(s);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] ?? '';
    const next = chars[i + 1];
    const followedBySpace = next === undefined || next === ' ' || next === '\t';
    const precededBySpace = i === 0 || chars[i - 1] === ' ' || chars[i - 1] === '\t';
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(c)) return false;
      if ((c === '?' || c === ':' || c === '-') && followedBySpace) return false;
    } else {
      if (c === ':' && followedBySpace) return false;
      if (c === '#' && precededBySpace) return false;
    }
  }
  return true;
}

type ScalarStyle = 'PLAIN' | 'QUOTE_SINGLE' | 'QUOTE_DOUBLE' | 'BLOCK_LITERAL';

export function goStringStyle(s: string): ScalarStyle {
  if (!isPrintable(s)) return 'QUOTE_DOUBLE';
  if (s.includes('\n')) return / \n/.test(s) || s.endsWith(' ') ? 'QUOTE_DOUBLE' : 'BLOCK_LITERAL';
  if (resolvesToNonString(s)) return 'QUOTE_DOUBLE';
  return plainAllowed(s) ? 'PLAIN' : 'QUOTE_SINGLE';
}

const isLetter = (c: string): boolean => /\p{L}/u.test(c);
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/** go-yaml's key order: letters after other characters, runs of digits compared as numbers. */
export function goKeyLess(a: string, b: string): boolean {
  const ar = Array.from(a);
  const br = Array.from(b);
  for (let i = 0; i < ar.length && i < br.length; i++) {
    const x = ar[i] as string;
    const y = br[i] as string;
    if (x === y) continue;
    const xl = isLetter(x);
    const yl = isLetter(y);
    if (xl && yl) return (x.codePointAt(0) ?? 0) < (y.codePointAt(0) ?? 0);
    if (xl || yl) return yl;
    let an = 0;
    let bn = 0;
    if (x === '0' || y === '0') {
      for (let j = i - 1; j >= 0 && isDigit(ar[j]); j--) {
        if (ar[j] !== '0') {
          an = 1;
          bn = 1;
          break;
        }
      }
    }
    let ai = i;
    for (; ai < ar.length && isDigit(ar[ai]); ai++) an = an * 10 + Number(ar[ai]);
    let bi = i;
    for (; bi < br.length && isDigit(br[bi]); bi++) bn = bn * 10 + Number(br[bi]);
    if (an !== bn) return an < bn;
    if (ai !== bi) return ai < bi;
    return (x.codePointAt(0) ?? 0) < (y.codePointAt(0) ?? 0);
  }
  return ar.length < br.length;
}

function keyText(p: Pair): string {
  const k = p.key;
  return k instanceof Scalar ? String(k.value) : String(k);
}

/** One YAML document, without a leading `---`, ending in a newline. */
export function toGoYaml(value: unknown): string {
  const doc = new Document(value, {
    sortMapEntries: (a: Pair, b: Pair) => {
      const x = keyText(a);
      const y = keyText(b);
      return x === y ? 0 : goKeyLess(x, y) ? -1 : 1;
    },
  });
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string') node.type = goStringStyle(node.value);
    },
  });
  return doc.toString({ indentSeq: false, lineWidth: 0, singleQuote: true });
}

/** What `flux export` and `flux create --export` print for one object: `---` then the YAML. */
export function exportDocument(value: unknown): string {
  return `---\n${toGoYaml(value).trim()}\n`;
}
