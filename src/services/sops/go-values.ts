/**
 * The SOPS MAC hashes each leaf as Go's SOPS turns it into bytes, after Go's YAML (v3) or
 * JSON decoder has typed it. To verify MACs written by the real tool we reproduce those
 * rules: go-yaml v3 scalar resolution, strconv formatting, and time.Time text.
 */

export type GoValue =
  | { readonly kind: 'null' }
  | { readonly kind: 'str'; readonly value: string }
  | { readonly kind: 'bytes'; readonly value: Buffer }
  | { readonly kind: 'int'; readonly value: bigint }
  | { readonly kind: 'uint'; readonly value: bigint }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'time'; readonly text: string };

export const GO_NULL: GoValue = { kind: 'null' };

export function goStr(value: string): GoValue {
  return { kind: 'str', value };
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** strconv.FormatFloat(x, 'f', -1, 64): shortest round-trip digits, never an exponent. */
export function formatFloatF(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  if (Object.is(x, -0)) return '-0';
  const text = String(x);
  const m = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (!m) return text;
  const [, sign = '', intPart = '', fracPart = '', expText = '0'] = m;
  const digits = intPart + fracPart;
  const point = intPart.length + Number(expText);
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** The bytes SOPS' ToBytes produces for a leaf; `undefined` for values it skips (null). */
export function goValueBytes(v: GoValue): Buffer | undefined {
  switch (v.kind) {
    case 'null':
      return undefined;
    case 'str':
      return Buffer.from(v.value, 'utf8');
    case 'bytes':
      return v.value;
    case 'int':
      return Buffer.from(v.value.toString(), 'utf8');
    case 'float':
      return Buffer.from(formatFloatF(v.value), 'utf8');
    case 'bool':
      return Buffer.from(v.value ? 'True' : 'False', 'utf8');
    case 'time':
      return Buffer.from(v.text, 'utf8');
    case 'uint':
      // Go's SOPS cannot hash a uint64 either; the file could never have been written by it.
      throw new Error('integer value out of the int64 range cannot be part of a SOPS document');
  }
}

/** Go's strconv.ParseInt(s, 0, 64) syntax (underscores already removed by the caller). */
function parseGoInt(s: string): bigint | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return undefined;
  const [, sign, body = ''] = m;
  let magnitude: bigint;
  if (/^0[oO]/.test(body)) magnitude = BigInt(`0o${body.slice(2)}`);
  else if (/^0[xXbB]/.test(body)) magnitude = BigInt(body.toLowerCase());
  else if (body.length > 1 && body.startsWith('0')) magnitude = BigInt(`0o${body.slice(1)}`);
  else magnitude = BigInt(body);
  return sign === '-' ? -magnitude : magnitude;
}

const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;

/** time.Time.MarshalText for a go-yaml timestamp, or undefined when the text is not one. */
export function goYamlTimestamp(s: string): string | undefined {
  // go-yaml's layouts: date only; 'T'/'t' with a zone; a single space without one.
  const m =
    /^(\d{4})-(\d{1,2})-(\d{1,2})(?:$|[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$| (\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d+))?$)/.exec(
      s,
    );
  if (!m) return undefined;
  const [, y = '', mo = '', d = ''] = m;
  const hh = m[4] ?? m[9];
  const mi = m[5] ?? m[10];
  const ss = m[6] ?? m[11];
  const frac = m[7] ?? m[12] ?? '';
  const zone = m[8];
  const pad = (n: string | undefined): string => (n ?? '0').padStart(2, '0');
  const date = `${y}-${pad(mo)}-${pad(d)}`;
  const month = Number(mo);
  const day = Number(d);
  const probe = new Date(`${date}T00:00:00Z`);
  if (month < 1 || month > 12 || Number.isNaN(probe.getTime()) || probe.getUTCDate() !== day) return undefined;
  if (hh === undefined) return `${date}T00:00:00Z`;
  if (Number(hh) > 23 || Number(mi) > 59 || Number(ss) > 59) return undefined;
  const fraction = frac.slice(0, 9).replace(/0+$/, '');
  const offset = zone === undefined || zone === 'Z' || zone.slice(1) === '00:00' ? 'Z' : zone;
  return `${date}T${pad(hh)}:${pad(mi)}:${pad(ss)}${fraction ? `.${fraction}` : ''}${offset}`;
}

/** How go-yaml v3 types a plain (unquoted, untagged) scalar when decoding into interface{}. */
export function resolvePlainScalar(s: string): GoValue {
  switch (s) {
    case '':
    case '~':
    case 'null':
    case 'Null':
    case 'NULL':
      return GO_NULL;
    case 'true':
    case 'True':
    case 'TRUE':
      return { kind: 'bool', value: true };
    case 'false':
    case 'False':
    case 'FALSE':
      return { kind: 'bool', value: false };
    case '.nan':
    case '.NaN':
    case '.NAN':
      return { kind: 'float', value: NaN };
    case '.inf':
    case '.Inf':
    case '.INF':
    case '+.inf':
    case '+.Inf':
    case '+.INF':
      return { kind: 'float', value: Infinity };
    case '-.inf':
    case '-.Inf':
    case '-.INF':
      return { kind: 'float', value: -Infinity };
  }
  const first = s[0] ?? '';
  if (first === '.') {
    const f = parseGoFloat(s);
    return f === undefined ? goStr(s) : { kind: 'float', value: f };
  }
  if (/[0-9+-]/.test(first)) {
    const ts = goYamlTimestamp(s);
    if (ts !== undefined) return { kind: 'time', text: ts };
    const plain = s.replace(/_/g, '');
    const i = parseGoInt(plain);
    if (i !== undefined && i >= INT64_MIN && i <= INT64_MAX) return { kind: 'int', value: i };
    if (i !== undefined && i > 0n && i <= UINT64_MAX && !plain.startsWith('+')) return { kind: 'uint', value: i };
    if (YAML_STYLE_FLOAT.test(plain)) {
      const f = Number(plain);
      if (!Number.isNaN(f)) return { kind: 'float', value: f };
    }
  }
  return goStr(s);
}

function parseGoFloat(s: string): number | undefined {
  // Only the forms a '.'-prefixed scalar can take: ".5", ".5e3".
  return /^\.[0-9]+([eE][-+]?[0-9]+)?$/.test(s) ? Number(s) : undefined;
}

/** go-yaml v3 with an explicit core tag (`!!int "7"` and the like). */
export function resolveTaggedScalar(tag: string, s: string): GoValue {
  switch (tag) {
    case 'tag:yaml.org,2002:str':
      return goStr(s);
    case 'tag:yaml.org,2002:binary':
      return { kind: 'bytes', value: Buffer.from(s.replace(/\s+/g, ''), 'base64') };
    case 'tag:yaml.org,2002:null':
    case 'tag:yaml.org,2002:bool':
    case 'tag:yaml.org,2002:int':
    case 'tag:yaml.org,2002:float':
    case 'tag:yaml.org,2002:timestamp':
      return resolvePlainScalar(s);
    default:
      return goStr(s);
  }
}

/** How a JSON number decodes in SOPS' JSON store: int when it parses as int64, float otherwise. */
export function resolveJsonNumber(text: string): GoValue {
  if (/^-?(0|[1-9][0-9]*)$/.test(text)) {
    const i = BigInt(text);
    if (i >= INT64_MIN && i <= INT64_MAX) return { kind: 'int', value: i };
  }
  return { kind: 'float', value: Number(text) };
}

/** A JavaScript value (from a parsed build) as Go's JSON decoding in SOPS would type it. */
export function goValueOfJs(v: unknown): GoValue {
  if (v === null || v === undefined) return GO_NULL;
  if (typeof v === 'string') return goStr(v);
  if (typeof v === 'boolean') return { kind: 'bool', value: v };
  if (typeof v === 'number') {
    // encoding/json writes an integral float64 without a fraction, which then decodes as int.
    if (Number.isInteger(v) && Math.abs(v) < 1e21) return { kind: 'int', value: BigInt(v) };
    return { kind: 'float', value: v };
  }
  if (typeof v === 'bigint') return { kind: 'int', value: v };
  throw new Error(`unsupported value type ${typeof v}`);
}
