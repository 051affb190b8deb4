import path from 'node:path';

/**
 * True when `candidate` is `root` or lies below it. Both must already be resolved
 * (absolute, and real paths where symlinks matter): comparing with `path.relative`
 * rather than a string prefix avoids the `/root/../x` and `/root-other` traps
 * (TOB-FLUX-10).
 */
export function isWithin(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  if (rel === '') return true;
  if (path.isAbsolute(rel)) return false;
  return rel !== '..' && !rel.startsWith(`..${path.sep}`);
}

/**
 * Splits a relative, `/`-separated path into segments, refusing anything that could
 * leave the directory it is joined to: empty input, absolute paths, drive letters,
 * backslashes, NUL bytes and `..` segments. `.` and empty segments are dropped.
 * Returns undefined when the path is refused.
 */
export function safeRelativeSegments(p: string): string[] | undefined {
  if (p === '' || p.includes('\0') || p.includes('\\') || p.startsWith('/') || /^[A-Za-z]:/.test(p)) {
    return undefined;
  }
  const segments = p.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.some((s) => s === '..')) return undefined;
  return segments;
}
