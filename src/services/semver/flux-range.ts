/**
 * Version ranges with the syntax and the semantics of Masterminds/semver v3, which every Flux
 * controller uses (GitRepository `ref.semver`, OCIRepository, HelmChart, ImagePolicy).
 *
 * `semver` (node-semver) parses and orders the versions, but its range language differs in
 * ways users would notice: `validRange(">= 1.2, < 2.0")` keeps only `<2.0.0` (the comma is
 * not an AND there), `!=` does not exist, and prereleases only match inside the same
 * `major.minor.patch` tuple. So the constraint language is evaluated here, by Masterminds'
 * rules:
 *
 * - `||` separates alternatives; inside one, constraints are ANDed and separated by commas
 *   or whitespace; `1.2 - 1.4` is `>= 1.2, <= 1.4`.
 * - Operators: `=` (or none), `!=`, `>`, `<`, `>=`/`=>`, `<=`/`=<`, `~`/`~>`, `^`.
 * - Versions may be partial (`1`, `1.2`), use `x`, `X` or `*` wildcards and a `v` prefix.
 * - A prerelease version only matches when a constraint of the same alternative has a
 *   prerelease itself; then it is compared like any version (not only within its tuple).
 */
import { SemVer, compare } from 'semver';

export class InvalidFluxRangeError extends Error {
  constructor(readonly range: string, detail: string) {
    super(`invalid semver range '${range}': ${detail}`);
    this.name = 'InvalidFluxRangeError';
  }
}

export interface FluxRange {
  /** The expression as written. */
  readonly raw: string;
  /** Whether `version` (a string parsed with {@link parseFluxVersion}, or a SemVer) satisfies the range. */
  test(version: string | SemVer): boolean;
}

// ---------------------------------------------------------------------------------------
// Versions

/** `v`, then up to three numeric parts, then an optional prerelease and build metadata. */
const VERSION_TEXT = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;

export interface ParseVersionOptions {
  /**
   * Accept `1` and `1.2` (as `1.0.0`, `1.2.0`). Flux's tag selection (git tags, OCI tags,
   * chart versions, image tags) requires all three parts, so the default is `false`.
   */
  allowPartial?: boolean;
}

/**
 * Parses a version the way Flux does: an optional `v` prefix, leading zeros tolerated in
 * the numeric parts (`2025.02.03`), prerelease and build metadata per SemVer. Returns
 * `undefined` for anything else (tags such as `latest` or `1.2.3.4` are simply not versions).
 */
export function parseFluxVersion(text: string, options: ParseVersionOptions = {}): SemVer | undefined {
  const m = VERSION_TEXT.exec(text);
  if (!m) return undefined;
  const [, major, minor, patch, pre, build] = m;
  if (!options.allowPartial && (minor === undefined || patch === undefined)) return undefined;
  if (pre !== undefined && !validPrerelease(pre)) return undefined;
  return buildVersion(major ?? '0', minor ?? '0', patch ?? '0', pre, build);
}

function validPrerelease(pre: string): boolean {
  // Numeric identifiers must not have leading zeros (SemVer 2.0.0 §9); Masterminds agrees.
  return pre.split('.').every((part) => !/^\d+$/.test(part) || part === '0' || !part.startsWith('0'));
}

function buildVersion(major: string, minor: string, patch: string, pre?: string, build?: string): SemVer | undefined {
  const numbers = [major, minor, patch].map((n) => BigInt(n));
  if (numbers.some((n) => n > BigInt(Number.MAX_SAFE_INTEGER))) return undefined;
  let normalized = numbers.map(String).join('.');
  if (pre !== undefined) normalized += `-${pre}`;
  if (build !== undefined) normalized += `+${build}`;
  try {
    return new SemVer(normalized);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------
// Ranges

type Operator = '=' | '!=' | '>' | '<' | '>=' | '<=' | '~' | '^';

/** Which part of the constraint's version was left out or written as a wildcard. */
type Wildcard = 'major' | 'minor' | 'patch' | undefined;

interface Constraint {
  op: Operator;
  base: SemVer;
  wildcard: Wildcard;
}

interface Alternative {
  constraints: Constraint[];
  /** Some constraint names a prerelease: prerelease versions may then match. */
  allowsPrerelease: boolean;
}

const OPERATOR_SOURCE = String.raw`=|!=|>=|=>|<=|=<|~>|>|<|~|\^|`;
const NUMBER_OR_WILDCARD = String.raw`[0-9xX*]+`;
const VERSION_SOURCE =
  String.raw`v?${NUMBER_OR_WILDCARD}(?:\.${NUMBER_OR_WILDCARD})?(?:\.${NUMBER_OR_WILDCARD})?` +
  String.raw`(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?`;
const ONE_CONSTRAINT = String.raw`(${OPERATOR_SOURCE})\s*(${VERSION_SOURCE})`;

/** A whole AND group: constraints separated by whitespace or a comma. */
const AND_GROUP = new RegExp(String.raw`^\s*${ONE_CONSTRAINT}\s*(?:(?:\s+|,\s*)${ONE_CONSTRAINT}\s*)*$`);
const CONSTRAINT_IN_GROUP = new RegExp(ONE_CONSTRAINT, 'g');
const HYPHEN_RANGE = new RegExp(String.raw`\s*(${VERSION_SOURCE})\s+-\s+(${VERSION_SOURCE})\s*`, 'g');
const CONSTRAINT_VERSION = new RegExp(
  String.raw`^v?(${NUMBER_OR_WILDCARD})(?:\.(${NUMBER_OR_WILDCARD}))?(?:\.(${NUMBER_OR_WILDCARD}))?` +
    String.raw`(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$`,
);

const OPERATOR_ALIASES: Record<string, Operator> = {
  '': '=',
  '=': '=',
  '!=': '!=',
  '>': '>',
  '<': '<',
  '>=': '>=',
  '=>': '>=',
  '<=': '<=',
  '=<': '<=',
  '~': '~',
  '~>': '~',
  '^': '^',
};

/**
 * Parses a Masterminds-style range (see the module comment). Throws
 * {@link InvalidFluxRangeError} with the offending part when the expression is invalid.
 */
export function parseFluxRange(expr: string): FluxRange {
  const rewritten = expr.replace(HYPHEN_RANGE, (_all, from: string, to: string) => `>= ${from}, <= ${to} `);
  const alternatives = rewritten.split('||').map((segment) => parseAlternative(expr, segment));
  return {
    raw: expr,
    test(version) {
      const v = typeof version === 'string' ? parseFluxVersion(version, { allowPartial: true }) : version;
      if (v === undefined) return false;
      return alternatives.some((alt) => alt.constraints.every((c) => satisfies(v, c, alt.allowsPrerelease)));
    },
  };
}

/** Whether `range` parses; the error message when it does not. */
export function validateFluxRange(expr: string): string | undefined {
  try {
    parseFluxRange(expr);
    return undefined;
  } catch (e: unknown) {
    return e instanceof Error ? e.message : String(e);
  }
}

function parseAlternative(expr: string, segment: string): Alternative {
  if (!AND_GROUP.test(segment)) {
    throw new InvalidFluxRangeError(expr, `improper constraint '${segment.trim()}'`);
  }
  const constraints: Constraint[] = [];
  for (const match of segment.matchAll(CONSTRAINT_IN_GROUP)) {
    const [, op = '', version = ''] = match;
    constraints.push(parseConstraint(expr, op, version));
  }
  return { constraints, allowsPrerelease: constraints.some((c) => c.base.prerelease.length > 0) };
}

function parseConstraint(expr: string, opText: string, versionText: string): Constraint {
  const op = OPERATOR_ALIASES[opText];
  const m = CONSTRAINT_VERSION.exec(versionText);
  if (op === undefined || !m) throw new InvalidFluxRangeError(expr, `improper constraint '${opText}${versionText}'`);
  const [, major = '', minor, patch, pre, build] = m;
  let wildcard: Wildcard;
  let base: SemVer | undefined;
  // A wildcard or a missing part zeroes the rest; the prerelease is kept, the build dropped.
  if (isWildcard(major)) {
    wildcard = 'major';
    base = buildVersion('0', '0', '0', pre);
  } else if (minor === undefined || isWildcard(minor)) {
    wildcard = 'minor';
    base = numeric(major) ? buildVersion(major, '0', '0', pre) : undefined;
  } else if (patch === undefined || isWildcard(patch)) {
    wildcard = 'patch';
    base = numeric(major) && numeric(minor) ? buildVersion(major, minor, '0', pre) : undefined;
  } else {
    base = numeric(major) && numeric(minor) && numeric(patch) ? buildVersion(major, minor, patch, pre, build) : undefined;
  }
  if (base === undefined || (pre !== undefined && !validPrerelease(pre))) {
    throw new InvalidFluxRangeError(expr, `improper version '${versionText}'`);
  }
  return { op, base, wildcard };
}

function isWildcard(part: string): boolean {
  return part === 'x' || part === 'X' || part === '*';
}

function numeric(part: string): boolean {
  return /^\d+$/.test(part);
}

function satisfies(v: SemVer, c: Constraint, allowPrerelease: boolean): boolean {
  if (v.prerelease.length > 0 && !allowPrerelease) return false;
  switch (c.op) {
    case '=':
      return c.wildcard === undefined ? compare(v, c.base) === 0 : tilde(v, c);
    case '!=':
      return notEqual(v, c);
    case '>':
      return greaterThan(v, c);
    case '<':
      return compare(v, c.base) < 0;
    case '>=':
      return compare(v, c.base) >= 0;
    case '<=':
      return lessOrEqual(v, c);
    case '~':
      return tilde(v, c);
    case '^':
      return caret(v, c);
  }
}

function notEqual(v: SemVer, c: Constraint): boolean {
  const b = c.base;
  if (c.wildcard !== undefined) {
    if (b.major !== v.major) return true;
    // `!=1.x` excludes the whole major, `!=1.2` (or `!=1.2.x`) the whole minor.
    if (c.wildcard === 'minor') return false;
    if (b.minor !== v.minor) return true;
    if (c.wildcard === 'patch') return v.prerelease.join('.') !== b.prerelease.join('.');
    if (b.patch !== v.patch) return true;
  }
  return compare(v, b) !== 0;
}

function greaterThan(v: SemVer, c: Constraint): boolean {
  const b = c.base;
  if (c.wildcard === undefined) return compare(v, b) > 0;
  if (v.major !== b.major) return v.major > b.major;
  // `>1` means a later major, `>1.2` a later minor: 1.2.9 is not "greater than 1.2".
  if (c.wildcard === 'minor') return false;
  if (c.wildcard === 'patch') return v.minor > b.minor;
  return compare(v, b) > 0;
}

function lessOrEqual(v: SemVer, c: Constraint): boolean {
  const b = c.base;
  if (c.wildcard === undefined) return compare(v, b) <= 0;
  // `<=1.2` includes every 1.2.x, `<=1` every 1.x.y.
  if (v.major > b.major) return false;
  if (v.major === b.major && v.minor > b.minor && c.wildcard !== 'minor') return false;
  return true;
}

/** `~1.2.3` is `>=1.2.3 <1.3.0`; `~1` and `~1.x` are `>=1.0.0 <2.0.0`; `~*` is anything. */
function tilde(v: SemVer, c: Constraint): boolean {
  const b = c.base;
  if (compare(v, b) < 0) return false;
  if (b.major === 0 && b.minor === 0 && b.patch === 0 && c.wildcard !== 'minor' && c.wildcard !== 'patch') return true;
  if (v.major !== b.major) return false;
  if (v.minor !== b.minor && c.wildcard !== 'minor') return false;
  return true;
}

/** `^1.2.3` is `>=1.2.3 <2.0.0`; `^0.2.3` is `>=0.2.3 <0.3.0`; `^0.0.3` is exactly 0.0.3. */
function caret(v: SemVer, c: Constraint): boolean {
  const b = c.base;
  if (compare(v, b) < 0) return false;
  if (b.major > 0 || c.wildcard === 'minor') return v.major === b.major;
  if (v.major > 0) return false;
  if (b.minor > 0 || c.wildcard === 'patch') return v.minor === b.minor;
  if (v.minor > 0) return false;
  return v.patch === b.patch;
}

// ---------------------------------------------------------------------------------------
// Selection

/**
 * The highest of `versions` that satisfies `range`, returned as written (e.g. `v1.2.3`).
 * Strings that are not versions (by {@link parseFluxVersion}) are ignored. Among equal
 * versions (e.g. `1.0.0` and `v1.0.0`, or builds that differ only in metadata) the first
 * one in the list wins. Throws {@link InvalidFluxRangeError} for an invalid range.
 */
export function latestMatching(versions: Iterable<string>, range: string | FluxRange): string | undefined {
  return sortMatching(versions, range)[0];
}

/** Every entry of `versions` that satisfies `range`, highest first (stable for equal versions). */
export function sortMatching(versions: Iterable<string>, range: string | FluxRange): string[] {
  const parsedRange = typeof range === 'string' ? parseFluxRange(range) : range;
  const matches: { text: string; version: SemVer }[] = [];
  for (const text of versions) {
    const version = parseFluxVersion(text);
    if (version !== undefined && parsedRange.test(version)) matches.push({ text, version });
  }
  // Array.prototype.sort is stable, so equal versions keep their input order.
  matches.sort((a, b) => compare(b.version, a.version));
  return matches.map((m) => m.text);
}
