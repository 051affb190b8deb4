import { formatGoDuration } from './go-duration.ts';

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

/** Formats milliseconds exactly as Go's `time.Duration.String` does (`1m30s`, `1.5s`, `250ms`). */
export function formatDuration(ms: number): string {
  return formatGoDuration(BigInt(Math.round(ms * 1e6)));
}
