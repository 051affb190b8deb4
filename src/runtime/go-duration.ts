/**
 * Go's time.Duration text, exactly: Flux's CLI parses flags such as `--interval=1m` into a
 * Duration and prints it back as `1m0s`, and `flux export` round-trips spec durations the
 * same way, so matching its YAML needs Go's formatter, not a rounded one. Nanoseconds are
 * bigints so that `1.000000001s` survives.
 */

const UNIT_NS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n,
  'μs': 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/** Parses `1h30m`, `1.5s`, `-2m`, `0`; undefined when Go's time.ParseDuration would fail. */
export function parseGoDuration(text: string): bigint | undefined {
  let s = text;
  let negative = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    negative = s.startsWith('-');
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') return undefined;
  const re = /^(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/u;
  let total = 0n;
  while (s.length > 0) {
    const m = re.exec(s);
    if (!m) return undefined;
    const whole = m[1] ?? '';
    const frac = m[2] ?? '';
    if (whole === '' && frac === '') return undefined;
    const unit = UNIT_NS[m[3] ?? ''];
    if (unit === undefined) return undefined;
    total += BigInt(whole || '0') * unit;
    if (frac !== '') total += (BigInt(frac) * unit) / 10n ** BigInt(frac.length);
    s = s.slice(m[0].length);
  }
  return negative ? -total : total;
}

function fraction(value: bigint, digits: number): string {
  if (value === 0n) return '';
  return `.${value.toString().padStart(digits, '0').replace(/0+$/, '')}`;
}

/** time.Duration.String(): `1m0s`, `1h0m0s`, `1.5s`, `500ms`, `0s`. */
export function formatGoDuration(ns: bigint): string {
  if (ns === 0n) return '0s';
  const sign = ns < 0n ? '-' : '';
  const u = ns < 0n ? -ns : ns;
  if (u < 1_000_000_000n) {
    if (u < 1_000n) return `${sign}${u}ns`;
    if (u < 1_000_000n) return `${sign}${u / 1_000n}${fraction(u % 1_000n, 3)}µs`;
    return `${sign}${u / 1_000_000n}${fraction(u % 1_000_000n, 6)}ms`;
  }
  const secs = u / 1_000_000_000n;
  const h = secs / 3600n;
  const m = (secs / 60n) % 60n;
  const s = secs % 60n;
  const head = h > 0n ? `${h}h${m}m` : m > 0n ? `${m}m` : '';
  return `${sign}${head}${s}${fraction(u % 1_000_000_000n, 9)}s`;
}

/** Rewrites a duration string the way a Go round-trip prints it; other text is left alone. */
export function normalizeGoDuration(text: string): string {
  const ns = parseGoDuration(text);
  return ns === undefined ? text : formatGoDuration(ns);
}
