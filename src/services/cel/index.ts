/**
 * CEL as Flux uses it: custom health checks (`healthCheckExprs`, RFC 0009) and readiness
 * expressions on dependencies (`dependsOn[].readyExpr`). Expressions are checked once when
 * the spec is read, so a typo stalls the object with a clear message instead of failing
 * on every health poll. Kubernetes integers become CEL ints (as Go's unstructured
 * objects hold int64), so `status.replicas == 3` compares as it does in Flux.
 */
import { Environment } from '@marcbachmann/cel-js';
import type { KubeObject } from '../../runtime/client/objects.ts';

export type CelStatus = 'Current' | 'InProgress' | 'Failed';

export class InvalidCelExpression extends Error {}

/** Flux's dynamic environment: the object's top-level fields are the variables. */
const objectEnv = new Environment({ unlistedVariablesAreDyn: true, enableOptionalTypes: true, homogeneousAggregateLiterals: true });
const dependencyEnv = new Environment({ enableOptionalTypes: true, homogeneousAggregateLiterals: true }).registerVariable('self', 'map').registerVariable('dep', 'map');

type Program = (vars: Record<string, unknown>) => unknown;

function compile(env: Environment, expr: string, what: string, want?: 'bool'): Program {
  const checked = env.check(expr);
  if (!checked.valid) {
    throw new InvalidCelExpression(`failed to parse the CEL expression ${what} '${expr}': ${checked.error ? firstLine(checked.error) : 'invalid expression'}`);
  }
  if (want && checked.type !== want && checked.type !== 'dyn') {
    throw new InvalidCelExpression(`the CEL expression ${what} '${expr}' returns ${checked.type}, not ${want}`);
  }
  const parsed = env.parse(expr);
  return (vars) => parsed(vars);
}

/** JSON as CEL sees a Kubernetes object: whole numbers are ints. */
export function celValue(v: unknown): unknown {
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map(celValue);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, celValue(x)]));
  return v;
}

const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';

function asBool(value: unknown, expr: string): boolean {
  if (typeof value !== 'boolean') throw new Error(`the CEL expression '${expr}' did not return a boolean`);
  return value;
}

export interface CustomHealthCheck {
  apiVersion: string;
  kind?: string;
  current: string;
  inProgress?: string;
  failed?: string;
}

interface Evaluator {
  inProgress?: { expr: string; run: Program };
  failed?: { expr: string; run: Program };
  current: { expr: string; run: Program };
}

const groupOf = (apiVersion: string): string => (apiVersion.includes('/') ? (apiVersion.split('/')[0] ?? '') : '');

/** `healthCheckExprs`, by group and kind (a check without a kind covers its whole group). */
export class CustomHealthChecks {
  private readonly byKey = new Map<string, Evaluator>();

  /** Throws InvalidCelExpression on a parse error or a duplicate group/kind, as Flux does. */
  constructor(checks: readonly CustomHealthCheck[]) {
    checks.forEach((hc, i) => {
      const key = `${groupOf(hc.apiVersion)}/${hc.kind ?? ''}`;
      if (this.byKey.has(key)) throw new InvalidCelExpression(`duplicate custom health check for ${hc.kind ?? '*'}.${groupOf(hc.apiVersion)} at healthCheckExprs[${i}]`);
      const one = (expr: string | undefined, field: string) => (expr ? { expr, run: compile(objectEnv, expr, `healthCheckExprs[${i}].${field}`, 'bool') } : undefined);
      const current = one(hc.current, 'current');
      if (!current) throw new InvalidCelExpression(`healthCheckExprs[${i}].current is required`);
      const inProgress = one(hc.inProgress, 'inProgress');
      const failed = one(hc.failed, 'failed');
      this.byKey.set(key, { current, ...(inProgress ? { inProgress } : {}), ...(failed ? { failed } : {}) });
    });
  }

  get size(): number {
    return this.byKey.size;
  }

  /**
   * The object's status by its custom check, or undefined when none covers its kind.
   * RFC 0009: a stale observedGeneration is InProgress; then inProgress, failed and
   * current are tried in that order; none true is InProgress. Throws when evaluation fails.
   */
  statusOf(obj: KubeObject): { status: CelStatus; message: string } | undefined {
    const group = groupOf(obj.apiVersion);
    const ev = this.byKey.get(`${group}/${obj.kind}`) ?? this.byKey.get(`${group}/`);
    if (!ev) return undefined;
    const observed = (obj['status'] as { observedGeneration?: unknown } | undefined)?.observedGeneration;
    if (typeof observed === 'number' && typeof obj.metadata.generation === 'number' && observed !== obj.metadata.generation) {
      return { status: 'InProgress', message: 'observedGeneration is behind generation' };
    }
    const vars = celValue(obj) as Record<string, unknown>;
    const steps: Array<[keyof Evaluator, CelStatus]> = [['inProgress', 'InProgress'], ['failed', 'Failed'], ['current', 'Current']];
    for (const [field, status] of steps) {
      const e = ev[field];
      if (!e) continue;
      let value: unknown;
      try {
        value = e.run(vars);
      } catch (err) {
        throw new Error(`evaluating the ${field} expression '${e.expr}': ${firstLine(err)}`);
      }
      if (asBool(value, e.expr)) return { status, message: `${field} expression is true: ${e.expr}` };
    }
    return { status: 'InProgress', message: 'no health check expression is true yet' };
  }
}

/** `dependsOn[].readyExpr`: a boolean over `self` (the dependent) and `dep` (the dependency). */
export function compileReadyExpr(expr: string, where: string): (self: KubeObject, dep: KubeObject) => boolean {
  const run = compile(dependencyEnv, expr, where, 'bool');
  return (self, dep) => asBool(run({ self: celValue(self), dep: celValue(dep) }), expr);
}
