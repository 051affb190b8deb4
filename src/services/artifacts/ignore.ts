/**
 * Ignore rules for source artifacts, with the semantics of Flux's sourceignore package
 * (a go-git style gitignore matcher), so that a repository's `.sourceignore` files and
 * `spec.ignore` select exactly the files Flux would archive:
 *
 * - a pattern without `/` (a trailing `/` aside) matches any path segment, so `foo`
 *   excludes `a/foo` and everything below it;
 * - a pattern with `/` is anchored at the directory of the file that declared it and
 *   matches a path prefix (`/deploy` and `deploy/base` alike); `**` spans directories;
 * - a trailing `/` restricts the last segment to directories; `!` re-includes;
 * - the last matching pattern wins, and an excluded directory does not hide its
 *   children from later `!` patterns (the common `/*` then `!/deploy` idiom relies on it);
 * - `*`, `?`, `[a-z]`, `[^a-z]` and `\` escapes match within one segment, as Go's
 *   filepath.Match does; `[!a-z]` is also taken as a negated class, as git does.
 *
 * Matching never uses regular expressions, so a tenant's pattern cannot cause
 * catastrophic backtracking.
 */

export type IgnoreMatch = 'none' | 'exclude' | 'include';

export interface IgnorePattern {
  /** The pattern as written, for messages. */
  readonly source: string;
  /** Path segments of the directory whose `.sourceignore` declared it (empty for the root). */
  readonly domain: readonly string[];
  match(segments: readonly string[], isDir: boolean): IgnoreMatch;
}

/** Flux's `.sourceignore` file name. */
export const SOURCE_IGNORE_FILE = '.sourceignore';

/** Always excluded (fluxcd/pkg sourceignore ExcludeVCS). */
export const VCS_EXCLUDES: readonly string[] = ['.git/', '.gitignore', '.gitmodules', '.gitattributes'];

/**
 * Excluded only when neither `spec.ignore` nor any `.sourceignore` file supplies a
 * pattern (ExcludeExt, ExcludeCI and ExcludeExtra in fluxcd/pkg sourceignore).
 */
export const DEFAULT_EXCLUDES: readonly string[] = [
  '*.jpg', '*.jpeg', '*.gif', '*.png', '*.wmv', '*.flv', '*.tar.gz', '*.zip',
  '.github/', '.circleci/', '.travis.yml', '.gitlab-ci.yml', 'appveyor.yml', '.drone.yml',
  'cloudbuild.yaml', 'codeship-services.yml', 'codeship-steps.yml',
  '**/.goreleaser.yml', '**/.sops.yaml', '**/.flux.yaml',
];

type Token =
  | { readonly kind: 'star' }
  | { readonly kind: 'any' }
  | { readonly kind: 'literal'; readonly char: string }
  | { readonly kind: 'class'; readonly negated: boolean; readonly ranges: ReadonlyArray<readonly [number, number]> };

/** One path segment's glob; undefined tokens mean a malformed pattern, which matches nothing. */
class SegmentGlob {
  readonly #tokens: readonly Token[] | undefined;
  readonly containsDoubleStar: boolean;

  constructor(readonly text: string) {
    this.#tokens = parseSegmentGlob(text);
    this.containsDoubleStar = text.includes('**');
  }

  matches(name: string): boolean {
    return this.#tokens !== undefined && matchTokens(this.#tokens, Array.from(name));
  }
}

function parseSegmentGlob(text: string): Token[] | undefined {
  const chars = Array.from(text);
  const tokens: Token[] = [];
  let i = 0;
  const escaped = (): string | undefined => {
    // Go's getEsc: an unescaped '-' or ']' cannot start a range bound.
    let c = chars[i];
    if (c === undefined || c === '-' || c === ']') return undefined;
    if (c === '\\') {
      i++;
      c = chars[i];
      if (c === undefined) return undefined;
    }
    i++;
    return c;
  };
  while (i < chars.length) {
    const c = chars[i] as string;
    if (c === '*') {
      tokens.push({ kind: 'star' });
      i++;
    } else if (c === '?') {
      tokens.push({ kind: 'any' });
      i++;
    } else if (c === '\\') {
      const next = chars[i + 1];
      if (next === undefined) return undefined;
      tokens.push({ kind: 'literal', char: next });
      i += 2;
    } else if (c === '[') {
      i++;
      let negated = false;
      if (chars[i] === '^' || chars[i] === '!') {
        negated = true;
        i++;
      }
      const ranges: Array<readonly [number, number]> = [];
      for (;;) {
        if (chars[i] === ']' && ranges.length > 0) {
          i++;
          break;
        }
        const lo = escaped();
        if (lo === undefined) return undefined;
        let hi = lo;
        if (chars[i] === '-') {
          i++;
          const h = escaped();
          if (h === undefined) return undefined;
          hi = h;
        }
        ranges.push([lo.codePointAt(0) ?? 0, hi.codePointAt(0) ?? 0]);
      }
      tokens.push({ kind: 'class', negated, ranges });
    } else {
      tokens.push({ kind: 'literal', char: c });
      i++;
    }
  }
  return tokens;
}

function tokenMatches(token: Token, char: string): boolean {
  switch (token.kind) {
    case 'any':
      return true;
    case 'literal':
      return token.char === char;
    case 'class': {
      const code = char.codePointAt(0) ?? -1;
      const inRange = token.ranges.some(([lo, hi]) => lo <= code && code <= hi);
      return inRange !== token.negated;
    }
    case 'star':
      return false;
  }
}

/** Wildcard matching with single-star backtracking: linear in practice, never exponential. */
function matchTokens(tokens: readonly Token[], chars: readonly string[]): boolean {
  let t = 0;
  let c = 0;
  let starToken = -1;
  let starChar = 0;
  while (c < chars.length) {
    const token = tokens[t];
    if (token?.kind === 'star') {
      starToken = t++;
      starChar = c;
    } else if (token !== undefined && tokenMatches(token, chars[c] as string)) {
      t++;
      c++;
    } else if (starToken >= 0) {
      t = starToken + 1;
      c = ++starChar;
    } else {
      return false;
    }
  }
  while (tokens[t]?.kind === 'star') t++;
  return t === tokens.length;
}

class ParsedPattern implements IgnorePattern {
  readonly domain: readonly string[];
  readonly #inclusion: boolean;
  readonly #dirOnly: boolean;
  readonly #anchored: boolean;
  readonly #globs: readonly SegmentGlob[];

  constructor(readonly source: string, domain: readonly string[]) {
    this.domain = [...domain];
    let p = source;
    this.#inclusion = p.startsWith('!');
    if (this.#inclusion) p = p.slice(1);
    // Trailing spaces are dropped unless the last one is escaped.
    if (!p.endsWith('\\ ')) p = p.replace(/ +$/, '');
    this.#dirOnly = p.endsWith('/');
    if (this.#dirOnly) p = p.slice(0, -1);
    this.#anchored = p.includes('/');
    this.#globs = p.split('/').map((s) => new SegmentGlob(s));
  }

  match(segments: readonly string[], isDir: boolean): IgnoreMatch {
    if (segments.length <= this.domain.length) return 'none';
    for (let i = 0; i < this.domain.length; i++) {
      if (segments[i] !== this.domain[i]) return 'none';
    }
    const rest = segments.slice(this.domain.length);
    const matched = this.#anchored ? this.#matchAnchored(rest, isDir) : this.#matchAnySegment(rest, isDir);
    if (!matched) return 'none';
    return this.#inclusion ? 'include' : 'exclude';
  }

  #matchAnySegment(path: readonly string[], isDir: boolean): boolean {
    const glob = this.#globs[0];
    if (glob === undefined) return false;
    for (let i = 0; i < path.length; i++) {
      if (!glob.matches(path[i] as string)) continue;
      // A directory-only pattern matching the last segment needs that segment to be a directory.
      return !(this.#dirOnly && !isDir && i === path.length - 1);
    }
    return false;
  }

  #matchAnchored(segments: readonly string[], isDir: boolean): boolean {
    let path = segments;
    let matched = false;
    let canTraverse = false;
    for (let i = 0; i < this.#globs.length; i++) {
      const glob = this.#globs[i] as SegmentGlob;
      if (glob.text === '') {
        canTraverse = false;
        continue;
      }
      if (glob.text === '**') {
        if (i === this.#globs.length - 1) break;
        canTraverse = true;
        continue;
      }
      if (glob.containsDoubleStar) return false;
      if (path.length === 0) return false;
      if (canTraverse) {
        canTraverse = false;
        while (path.length > 0) {
          const head = path[0] as string;
          path = path.slice(1);
          if (glob.matches(head)) {
            matched = true;
            break;
          } else if (path.length === 0) {
            matched = false;
          }
        }
      } else {
        if (!glob.matches(path[0] as string)) return false;
        matched = true;
        path = path.slice(1);
      }
    }
    if (matched && this.#dirOnly && !isDir && path.length === 0) matched = false;
    return matched;
  }
}

/** Parses one gitignore line (not a comment or blank line) declared in `domain`. */
export function parseIgnorePattern(line: string, domain: readonly string[] = []): IgnorePattern {
  return new ParsedPattern(line, domain);
}

/** Parses the lines of a `.sourceignore` file or of `spec.ignore`, skipping comments and blanks. */
export function parseIgnoreText(text: string, domain: readonly string[] = []): IgnorePattern[] {
  const patterns: IgnorePattern[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.startsWith('#') || line.trim() === '') continue;
    patterns.push(parseIgnorePattern(line, domain));
  }
  return patterns;
}

/** Decides whether a path is excluded: the last pattern that matches it wins. */
export class IgnoreMatcher {
  readonly #patterns: readonly IgnorePattern[];

  constructor(patterns: readonly IgnorePattern[]) {
    this.#patterns = [...patterns];
  }

  /** `relPath` is `/`-separated and relative to the source root. */
  ignores(relPath: string, isDir: boolean): boolean {
    return this.ignoresSegments(relPath.split('/').filter((s) => s !== ''), isDir);
  }

  ignoresSegments(segments: readonly string[], isDir: boolean): boolean {
    for (let i = this.#patterns.length - 1; i >= 0; i--) {
      const result = (this.#patterns[i] as IgnorePattern).match(segments, isDir);
      if (result !== 'none') return result === 'exclude';
    }
    return false;
  }
}

/**
 * The matcher Flux's source-controller archives with: the VCS excludes always apply;
 * the default excludes apply only when the user supplied no pattern at all, through
 * `.sourceignore` files or `spec.ignore` (`userPatterns`, in that order).
 */
export function sourceIgnoreMatcher(userPatterns: readonly IgnorePattern[]): IgnoreMatcher {
  const vcs = VCS_EXCLUDES.map((p) => parseIgnorePattern(p));
  if (userPatterns.length > 0) return new IgnoreMatcher([...vcs, ...userPatterns]);
  return new IgnoreMatcher([...vcs, ...DEFAULT_EXCLUDES.map((p) => parseIgnorePattern(p))]);
}
