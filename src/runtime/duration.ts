const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a Go duration (`1m30s`, `500ms`, `1.5h`) into milliseconds; undefined when invalid. */
export function parseDuration(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? NaN);
    matched = re.lastIndex;
  }
  if (text === '0') return 0;
  return matched === text.length && Number.isFinite(total) ? total : undefined;
}

/** Like parseDuration with a fallback for absent or invalid values. */
export function durationOr(text: string | undefined, fallbackMs: number): number {
  return parseDuration(text) ?? fallbackMs;
}

/** Formats milliseconds exactly as Go's `time.Duration.String` does (`1m30s`, `1.5s`, `250ms`), to the microsecond. */
export function formatDuration(ms: number): string {
  const us = Math.round(ms * 1000);
  if (us === 0) return '0s';
  if (us < 1000) return `${us}µs`;
  if (us < 1_000_000) return `${trimFraction(us / 1000, 3)}ms`;
  const h = Math.floor(us / 3_600_000_000);
  const m = Math.floor((us % 3_600_000_000) / 60_000_000);
  const s = (us % 60_000_000) / 1_000_000;
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${trimFraction(s, 6)}s`;
}

function trimFraction(n: number, digits: number): string {
  return n.toFixed(digits).replace(/\.?0+$/, '');
}
