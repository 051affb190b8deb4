import { parse, stringify, type DocumentOptions, type ParseOptions, type SchemaOptions, type ToStringOptions } from 'yaml';
import { StallingError } from '../../runtime/errors.ts';
import { envsubst, EnvsubstError, VariableNotSetError } from './envsubst.ts';

/**
 * Flux's post-build variable substitution: each built object is written as YAML, `${…}`
 * expressions are expanded in that text, and the result is read back. Reading back uses
 * YAML 1.1 rules (Flux converts with go-yaml v2), so a substituted `yes` becomes a boolean
 * and a substituted `8080` a number, exactly as under Flux.
 */

export const SUBSTITUTE_ANNOTATION = 'kustomize.toolkit.fluxcd.io/substitute';
/** Flux's reason for post-build failures (they happen inside its build step). */
export const SUBSTITUTION_FAILED_REASON = 'BuildFailed';

const VAR_NAME = /^[_A-Za-z][_A-Za-z0-9]*$/;
const VAR_NAME_TEXT = '^[_[:alpha:]][_[:alpha:][:digit:]]*$';

export interface SubstituteOptions {
  /**
   * Strict: `${var}` without a default and without a value is an error. Flux's
   * StrictPostBuildSubstitutions feature gate, on by default since kustomize-controller v1.9.
   */
  readonly strict: boolean;
  /** Flux's `substituteStrategy: Always`: expand even when no variable is defined (for defaults). */
  readonly always?: boolean;
}

export type VarSource =
  | { readonly kind: 'ConfigMap'; readonly name: string; readonly data: Readonly<Record<string, string>> | undefined }
  | { readonly kind: 'Secret'; readonly name: string; readonly data: Readonly<Record<string, string>> | undefined };

// YAML 1.1 as go-yaml v2 reads it: no sexagesimal numbers, no timestamp objects.
const YAML11: DocumentOptions & ParseOptions & SchemaOptions & ToStringOptions = {
  version: '1.1',
  lineWidth: 0,
  customTags: (tags) =>
    tags.filter((t) => {
      const tag = t as { tag?: string; format?: string };
      return tag.tag !== 'tag:yaml.org,2002:timestamp' && tag.format !== 'TIME';
    }),
};

/**
 * The variables for an object's substitution, in Flux's order: `substituteFrom` entries in
 * order (later ones win; Secret data is base64 and decoded here), then the inline
 * `substitute` map, which wins over all. Newlines are removed from every value.
 * A missing optional source is passed as `data: undefined` and skipped; the caller turns a
 * missing required source into an error before calling this.
 */
export function collectVars(substitute: Readonly<Record<string, string>> | undefined, substituteFrom: readonly VarSource[] = []): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const source of substituteFrom) {
    if (!source.data) continue;
    for (const [k, v] of Object.entries(source.data)) {
      const text = source.kind === 'Secret' ? Buffer.from(v, 'base64').toString('utf8') : v;
      vars[k] = text.replace(/\n/g, '');
    }
  }
  for (const [k, v] of Object.entries(substitute ?? {})) vars[k] = v.replace(/\n/g, '');
  return vars;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isOptedOut(obj: Record<string, unknown>): boolean {
  const meta = isRecord(obj['metadata']) ? obj['metadata'] : {};
  const labels = isRecord(meta['labels']) ? meta['labels'] : {};
  const annotations = isRecord(meta['annotations']) ? meta['annotations'] : {};
  return labels[SUBSTITUTE_ANNOTATION] === 'disabled' || annotations[SUBSTITUTE_ANNOTATION] === 'disabled';
}

function describe(obj: Record<string, unknown>): string {
  const meta = isRecord(obj['metadata']) ? obj['metadata'] : {};
  const ns = typeof meta['namespace'] === 'string' && meta['namespace'] !== '' ? `${meta['namespace']}/` : '';
  return `${String(obj['kind'] ?? '')}/${ns}${String(meta['name'] ?? '')}`;
}

/**
 * Substitutes variables in each object (new objects are returned; objects without any
 * expression come back equal). Objects labelled or annotated
 * `kustomize.toolkit.fluxcd.io/substitute: disabled` are skipped. Errors are
 * StallingError('BuildFailed') naming the object and the variable, never a value.
 */
export function substitute<T>(objects: readonly T[], vars: Readonly<Record<string, string>>, options: SubstituteOptions): T[] {
  const names = Object.keys(vars);
  if (names.length === 0 && options.always !== true) return [...objects];
  const invalid = names.find((n) => !VAR_NAME.test(n));
  if (invalid !== undefined) {
    throw new StallingError(SUBSTITUTION_FAILED_REASON, `post build failed: '${invalid}' var name is invalid, must match '${VAR_NAME_TEXT}'`);
  }
  const lookup = (name: string): string | undefined => (Object.hasOwn(vars, name) ? vars[name] : options.strict ? undefined : '');
  return objects.map((object) => {
    if (!isRecord(object) || isOptedOut(object)) return object;
    const text = stringify(object, YAML11);
    if (!text.includes('${') && !text.includes('$$')) return object;
    let expanded: string;
    try {
      expanded = envsubst(text, lookup);
    } catch (e: unknown) {
      const why = e instanceof VariableNotSetError || e instanceof EnvsubstError ? e.message : String(e);
      throw new StallingError(SUBSTITUTION_FAILED_REASON, `post build failed for '${describe(object)}': envsubst error: variable substitution failed: ${why}`, {
        cause: e,
      });
    }
    if (expanded === text) return object;
    let result: unknown;
    try {
      result = parse(expanded, YAML11);
    } catch (e: unknown) {
      // The YAML parser quotes the offending text, which may hold a substituted value: keep only its kind.
      const first = e instanceof Error ? (e.message.split('\n')[0] ?? '').replace(/ at line .*$/, '') : 'invalid YAML';
      throw new StallingError(
        SUBSTITUTION_FAILED_REASON,
        `post build failed for '${describe(object)}': the substituted YAML is invalid (${first.split(':')[0] ?? 'parse error'}); quote values that contain ': ' or start with special characters`,
        { cause: e },
      );
    }
    return result as T;
  });
}
