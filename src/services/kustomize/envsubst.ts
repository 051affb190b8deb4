/**
 * Bash-like `${…}` expansion with the grammar and quirks of Flux's envsubst (fluxcd/pkg,
 * a fork of drone/envsubst), so that manifests expand exactly as under Flux:
 * `${var}`, `${var:=d}`, `${var:-d}`, `${var=d}`, `${#var}`, `${var^}` `${var^^}` `${var,}`
 * `${var,,}`, `${var:pos}`, `${var:pos:len}`, `${var#p}` `${var##p}` `${var%p}` `${var%%p}`,
 * `${var/p/r}` `${var//p/r}` `${var/#p/r}` `${var/%p/r}`. `$${var}` yields `${var}` and any
 * `$$` yields `$`; a bare `$var` is left alone. `${var-d}` is not in the grammar (an error).
 */

export class EnvsubstError extends Error {}

/** Strict mode: the variable is referenced without a default and has no value. */
export class VariableNotSetError extends EnvsubstError {
  constructor(readonly variable: string) {
    super(`variable not set (strict mode): "${variable}"`);
  }
}

type FuncNode = { kind: 'func'; param: string; name: string; args: Node[] };
type Node = { kind: 'text'; value: string } | FuncNode;

const EOF = '\u0000';

// Scanner modes and escape flags, as in the Go scanner.
const SCAN_IDENT = 1;
const SCAN_LBRACK = 2;
const SCAN_RBRACK = 4;
const SCAN_ESCAPE = 8;
const ESC_DOLLAR = 1;
const ESC_BACKSLASH = 2;

type Token = 'illegal' | 'eof' | 'ident' | 'lbrack' | 'rbrack';
type Accept = (r: string, i: number) => boolean;

const isLetter = (r: string): boolean => /\p{L}/u.test(r);
const isDigit = (r: string): boolean => /\p{Nd}/u.test(r);

const acceptRune: Accept = () => true;
const acceptIdent: Accept = (r) => isLetter(r) || isDigit(r) || r === '_';
const acceptColon: Accept = (r) => r === ':';
const acceptOneHash: Accept = (r, i) => r === '#' && i === 1;
const acceptNotClosing: Accept = (r) => r !== '}';
const acceptHashFunc: Accept = (r, i) => r === '#' && i < 3;
const acceptPercentFunc: Accept = (r, i) => r === '%' && i < 3;
const acceptDefaultFunc: Accept = (r, i) => (i === 1 && r === ':') || (i === 2 && '=-?+'.includes(r));
const acceptReplaceFunc: Accept = (r, i) => (i === 1 && r === '/') || (i === 2 && '/#%'.includes(r));
const acceptOneEqual: Accept = (r, i) => i === 1 && r === '=';
const acceptOneColon: Accept = (r, i) => i === 1 && r === ':';
const rejectColonClose: Accept = (r) => r !== ':' && r !== '}';
const acceptSlash: Accept = (r) => r === '/';
const acceptNotSlash: Accept = (r) => r !== '/';
const acceptCasingFunc: Accept = (r, i) => (r === ',' || r === '^') && i < 3;

/** Works on code points (the Go scanner reads runes); positions count code points. */
class Scanner {
  private buf: string[];
  pos = 0;
  start = 0;
  private width = 0;
  mode = 0;
  escapeChars = 0;
  accept: Accept = acceptRune;

  constructor(text: string) {
    this.buf = Array.from(text);
  }

  read(): string {
    if (this.pos >= this.buf.length) {
      this.width = 0;
      return EOF;
    }
    this.width = 1;
    return this.buf[this.pos++] ?? EOF;
  }

  unread(): void {
    this.pos -= this.width;
  }

  /** Removes the character before the current position (an escaping `$` or `\`). */
  skip(): void {
    this.buf.splice(this.pos - 1, 1);
  }

  peek(): string {
    const r = this.read();
    this.unread();
    return r;
  }

  text(): string {
    return this.buf.slice(this.start, this.pos).join('');
  }

  scan(): Token {
    this.start = this.pos;
    const r = this.read();
    if (r === EOF) return 'eof';
    if (this.scanLbrack(r)) return 'lbrack';
    if (this.scanRbrack(r)) return 'rbrack';
    if (this.scanIdent(r)) return 'ident';
    return 'illegal';
  }

  private scanIdent(first: string): boolean {
    if ((this.mode & SCAN_IDENT) === 0) return false;
    if (this.scanEscaped(first)) this.skip();
    else if (!this.accept(first, this.pos - this.start)) return false;
    for (;;) {
      const r = this.read();
      if (r === EOF) {
        this.unread();
        break;
      }
      if (this.scanLbrack(r)) {
        this.unread();
        this.unread();
        break;
      }
      if (this.scanEscaped(r)) {
        this.skip();
        continue;
      }
      if (!this.accept(r, this.pos - this.start)) {
        this.unread();
        break;
      }
    }
    return true;
  }

  private scanLbrack(r: string): boolean {
    if ((this.mode & SCAN_LBRACK) === 0) return false;
    if (r === '$') {
      if (this.read() === '{') return true;
      this.unread();
    }
    return false;
  }

  private scanRbrack(r: string): boolean {
    return (this.mode & SCAN_RBRACK) !== 0 && r === '}';
  }

  private scanEscaped(r: string): boolean {
    if ((this.mode & SCAN_ESCAPE) === 0) return false;
    if (r === '$' && (this.escapeChars & ESC_DOLLAR) !== 0 && this.peek() === '$') return true;
    if (r === '\\' && (this.escapeChars & ESC_BACKSLASH) !== 0) {
      const next = this.peek();
      return next === '/' || next === '\\';
    }
    return false;
  }
}

class Parser {
  private readonly s: Scanner;
  constructor(text: string) {
    this.s = new Scanner(text);
  }

  parse(): Node[] {
    const out: Node[] = [];
    for (;;) {
      const s = this.s;
      s.accept = acceptRune;
      s.mode = SCAN_IDENT | SCAN_LBRACK | SCAN_ESCAPE;
      s.escapeChars = ESC_DOLLAR;
      const tok = s.scan();
      if (tok === 'eof') return out;
      if (tok === 'ident') out.push({ kind: 'text', value: s.text() });
      else if (tok === 'lbrack') out.push(this.parseFunc());
      else throw new EnvsubstError('bad substitution');
    }
  }

  private parseFunc(): Node {
    const s = this.s;
    s.escapeChars = ESC_DOLLAR | ESC_BACKSLASH;
    if (s.peek() === '#') return this.parseLenFunc();
    const name = this.expectIdent(acceptIdent, 'unable to parse variable name');
    switch (s.peek()) {
      case ':':
        return this.parseDefaultOrSubstr(name);
      case '=':
        return this.parseDefaultFunc(name);
      case ',':
      case '^':
        return this.parseCasingFunc(name);
      case '/':
        return this.parseReplaceFunc(name);
      case '#':
        return this.parseRemoveFunc(name, acceptHashFunc);
      case '%':
        return this.parseRemoveFunc(name, acceptPercentFunc);
    }
    s.accept = acceptIdent;
    s.mode = SCAN_RBRACK;
    if (s.scan() !== 'rbrack') throw new EnvsubstError('missing closing brace');
    return { kind: 'func', param: name, name: '', args: [] };
  }

  /** Scans an identifier made of what `accept` takes (and escapes); its text, or `error`. */
  private expectIdent(accept: Accept, error = 'bad substitution'): string {
    const s = this.s;
    s.accept = accept;
    s.mode = SCAN_IDENT;
    if (s.scan() !== 'ident') throw new EnvsubstError(error);
    return s.text();
  }

  /** A function of `param` whose name is the operator `accept` takes, e.g. `:-` or `##`. */
  private funcNode(param: string, accept: Accept, error?: string): FuncNode {
    return { kind: 'func', param, name: this.expectIdent(accept, error), args: [] };
  }

  private parseParam(accept: Accept, mode: number): Node {
    const s = this.s;
    s.accept = accept;
    s.mode = mode | SCAN_LBRACK;
    const tok = s.scan();
    if (tok === 'lbrack') return this.parseFunc();
    if (tok === 'ident' || tok === 'rbrack') return { kind: 'text', value: s.text() };
    throw new EnvsubstError('unable to parse substitution within function');
  }

  private parseDefaultOrSubstr(name: string): Node {
    const s = this.s;
    s.read();
    const r = s.peek();
    s.unread();
    return '=-?+'.includes(r) && r !== EOF ? this.parseDefaultFunc(name) : this.parseSubstrFunc(name);
  }

  private parseSubstrFunc(param: string): Node {
    const s = this.s;
    const node = this.funcNode(param, acceptOneColon);
    node.args.push(this.parseParam(rejectColonClose, SCAN_IDENT));
    s.accept = acceptColon;
    s.mode = SCAN_IDENT | SCAN_RBRACK;
    const tok = s.scan();
    if (tok === 'rbrack') return node;
    if (tok !== 'ident') throw new EnvsubstError('bad substitution');
    node.args.push(this.parseParam(acceptNotClosing, SCAN_IDENT));
    this.consumeRbrack();
    return node;
  }

  private parseRemoveFunc(param: string, accept: Accept): Node {
    const node = this.funcNode(param, accept);
    node.args.push(this.parseParam(acceptNotClosing, SCAN_IDENT));
    this.consumeRbrack();
    return node;
  }

  private parseReplaceFunc(param: string): Node {
    const s = this.s;
    const node = this.funcNode(param, acceptReplaceFunc);
    node.args.push(this.parseParam(acceptNotSlash, SCAN_IDENT | SCAN_ESCAPE));
    this.expectIdent(acceptSlash);
    if (s.peek() === '}') {
      this.consumeRbrack();
      return node;
    }
    node.args.push(this.parseParam(acceptNotClosing, SCAN_IDENT | SCAN_ESCAPE));
    this.consumeRbrack();
    return node;
  }

  private parseDefaultFunc(param: string): Node {
    const s = this.s;
    const node = this.funcNode(param, s.peek() === '=' ? acceptOneEqual : acceptDefaultFunc, 'unable to parse default function');
    for (;;) {
      if (s.peek() === '}') {
        this.consumeRbrack();
        return node;
      }
      node.args.push(this.parseParam(acceptNotClosing, SCAN_IDENT));
    }
  }

  private parseCasingFunc(param: string): Node {
    const node = this.funcNode(param, acceptCasingFunc);
    this.consumeRbrack();
    return node;
  }

  private parseLenFunc(): Node {
    const name = this.expectIdent(acceptOneHash);
    const node: Node = { kind: 'func', param: this.expectIdent(acceptIdent), name, args: [] };
    this.consumeRbrack();
    return node;
  }

  private consumeRbrack(): void {
    this.s.mode = SCAN_RBRACK;
    if (this.s.scan() !== 'rbrack') throw new EnvsubstError('bad substitution');
  }
}

// Go strings are byte strings: lengths and offsets below count UTF-8 bytes, as Flux does.
const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

/** Go's path.Match as modified by Flux: `*` and `?` also match `/`. */
function globMatch(pattern: string, name: string): boolean {
  const p = Array.from(pattern);
  const n = Array.from(name);
  const matchFrom = (pi: number, ni: number): boolean => {
    while (pi < p.length) {
      const c = p[pi] ?? '';
      if (c === '*') {
        while (p[pi] === '*') pi++;
        if (pi === p.length) return true;
        for (let k = ni; k <= n.length; k++) if (matchFrom(pi, k)) return true;
        return false;
      }
      if (ni >= n.length) return false;
      const ch = n[ni] ?? '';
      if (c === '?') {
        pi++;
        ni++;
        continue;
      }
      if (c === '[') {
        let j = pi + 1;
        let negate = false;
        if (p[j] === '^') {
          negate = true;
          j++;
        }
        let matched = false;
        let count = 0;
        for (;;) {
          if (j >= p.length) throw new EnvsubstError('syntax error in pattern');
          if (p[j] === ']' && count > 0) {
            j++;
            break;
          }
          let lo = p[j] ?? '';
          if (lo === '-' || lo === ']') throw new EnvsubstError('syntax error in pattern');
          if (lo === '\\') lo = p[++j] ?? '';
          j++;
          let hi = lo;
          if (p[j] === '-') {
            hi = p[++j] ?? '';
            if (hi === '\\') hi = p[++j] ?? '';
            j++;
          }
          if (lo <= ch && ch <= hi) matched = true;
          count++;
        }
        if (matched === negate) return false;
        pi = j;
        ni++;
        continue;
      }
      let lit = c;
      if (c === '\\') {
        pi++;
        if (pi >= p.length) throw new EnvsubstError('syntax error in pattern');
        lit = p[pi] ?? '';
      }
      if (lit !== ch) return false;
      pi++;
      ni++;
    }
    return ni === n.length;
  };
  return matchFrom(0, 0);
}

/** Removes the shortest (or longest) prefix that `pattern` matches; `s` unchanged when none does. */
function trimPrefix(s: string, pattern: string, longest: boolean): string {
  const chars = Array.from(s);
  const lengths = chars.map((_c, i) => i + 1);
  for (const i of longest ? lengths.reverse() : lengths) {
    try {
      if (globMatch(pattern, chars.slice(0, i).join(''))) return chars.slice(i).join('');
    } catch {
      return s;
    }
  }
  return s;
}

const trimShortestPrefix = (s: string, pattern: string): string => trimPrefix(s, pattern, false);
const trimLongestPrefix = (s: string, pattern: string): string => trimPrefix(s, pattern, true);

const reverse = (s: string): string => Array.from(s).reverse().join('');

function substr(s: string, args: string[]): string {
  const bytes = utf8(s);
  const parseIntGo = (t: string): number | undefined => (/^[+-]?\d+$/.test(t) ? Number.parseInt(t, 10) : undefined);
  let pos = parseIntGo(args[0] ?? '');
  if (pos === undefined) return s;
  if (pos < 0) pos = Math.max(0, bytes.length + pos);
  if (args.length === 1) return pos < bytes.length ? bytes.subarray(pos).toString('utf8') : '';
  const length = parseIntGo(args[1] ?? '');
  if (length === undefined) return s;
  if (pos + length >= bytes.length) return pos < bytes.length ? bytes.subarray(pos).toString('utf8') : '';
  return bytes.subarray(pos, pos + length).toString('utf8');
}

function applyFunc(name: string, v: string, args: string[]): string {
  switch (name) {
    case ',':
      return v === '' ? v : (Array.from(v)[0] ?? '').toLowerCase() + Array.from(v).slice(1).join('');
    case ',,':
      return v.toLowerCase();
    case '^':
      return v === '' ? v : (Array.from(v)[0] ?? '').toUpperCase() + Array.from(v).slice(1).join('');
    case '^^':
      return v.toUpperCase();
    case '#':
      return args.length === 0 ? String(utf8(v).length) : trimShortestPrefix(v, args[0] ?? '');
    case '##':
      return args.length === 0 ? v : trimLongestPrefix(v, args[0] ?? '');
    case '%':
      return args.length === 0 ? v : reverse(trimShortestPrefix(reverse(v), reverse(args[0] ?? '')));
    case '%%':
      return args.length === 0 ? v : reverse(trimLongestPrefix(reverse(v), reverse(args[0] ?? '')));
    case ':':
      return args.length === 0 ? v : substr(v, args);
    case '/#':
      return args.length === 2 && v.startsWith(args[0] ?? '') ? (args[1] ?? '') + v.slice((args[0] ?? '').length) : v;
    case '/%':
      return args.length === 2 && v.endsWith(args[0] ?? '') ? v.slice(0, v.length - (args[0] ?? '').length) + (args[1] ?? '') : v;
    case '/':
      return args.length === 0 ? v : goReplace(v, args[0] ?? '', args[1] ?? '', 1);
    case '//':
      return args.length === 0 ? v : goReplace(v, args[0] ?? '', args[1] ?? '', -1);
    default:
      // ${var}, the default operators and anything unrecognised: default when empty.
      return v === '' && args.length > 0 ? args.join('') : v;
  }
}

/** strings.Replace: an empty `old` matches before every code point and at the end. */
function goReplace(s: string, old: string, replacement: string, n: number): string {
  if (old === '') {
    const chars = Array.from(s);
    const limit = n < 0 ? chars.length + 1 : Math.min(n, chars.length + 1);
    let out = '';
    for (let i = 0; i <= chars.length; i++) out += (i < limit ? replacement : '') + (chars[i] ?? '');
    return out;
  }
  const parts = s.split(old);
  if (n < 0 || parts.length - 1 <= n) return parts.join(replacement);
  return parts.slice(0, n + 1).join(replacement) + old + parts.slice(n + 1).join(old);
}

const DEFAULT_OPERATORS = new Set(['-', '+', '=', '?', ':-', ':+', ':=', ':?']);

/** `lookup` returns undefined for an unset variable (strict) or '' for a lenient lookup. */
export function envsubst(text: string, lookup: (name: string) => string | undefined): string {
  const nodes = new Parser(text).parse();
  const evaluate = (node: Node): string => {
    if (node.kind === 'text') return node.value;
    const args = node.args.map(evaluate);
    const value = lookup(node.param);
    if (value === undefined && !DEFAULT_OPERATORS.has(node.name)) throw new VariableNotSetError(node.param);
    return applyFunc(node.name, value ?? '', args);
  };
  return nodes.map(evaluate).join('');
}
