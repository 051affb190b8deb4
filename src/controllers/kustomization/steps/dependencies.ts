import { WaitingError, StallingError } from '../../../runtime/errors.ts';
import { READY, findCondition } from '../../../runtime/reconcile/conditions.ts';
import type { Step } from '../../../runtime/reconcile/types.ts';
import type { ClientFactory } from '../../../services/tenancy/clients.ts';
import { compileReadyExpr } from '../../../services/cel/index.ts';
import { KIND, Reason, type KustomizationObject, type KustomizationState, type Lookup, type SourceObject } from '../types.ts';

/** Finds a dependency cycle through `start`, as `a -> b -> a`, or undefined. */
export function findCycle(start: KustomizationObject, lookup: Lookup<KustomizationObject>): string[] | undefined {
  const key = (o: KustomizationObject) => `${o.metadata.namespace}/${o.metadata.name}`;
  const path: string[] = [];
  const onPath = new Set<string>();
  const done = new Set<string>();
  const visit = (o: KustomizationObject): string[] | undefined => {
    const k = key(o);
    if (onPath.has(k)) return [...path.slice(path.indexOf(k)), k];
    if (done.has(k)) return undefined;
    onPath.add(k);
    path.push(k);
    for (const d of o.spec.dependsOn ?? []) {
      const dep = lookup(KIND, d.namespace ?? o.metadata.namespace ?? 'default', d.name);
      if (dep) {
        const c = visit(dep);
        if (c) return c;
      }
    }
    path.pop();
    onPath.delete(k);
    done.add(k);
    return undefined;
  };
  return visit(start);
}

/**
 * `dependsOn`: every dependency must be Ready for its current generation and, when it
 * shares this Kustomization's source, have applied the source's current revision; a
 * `readyExpr` replaces those checks with its own (Flux's default) or, under the
 * AdditiveCELDependencyCheck gate, adds to them. The wait is
 * event-driven: the controller enqueues dependents the moment a dependency turns Ready
 * or applies a new revision, and only falls back to `--requeue-dependency` polling.
 */
export function dependenciesStep(
  clients: ClientFactory,
  lookup: Lookup<KustomizationObject>,
  sources: Lookup<SourceObject>,
  opts: { additive: boolean } = { additive: false },
): Step<KustomizationObject, KustomizationState> {
  return {
    name: 'dependencies',
    async run(ctx) {
      const deps = ctx.obj.spec.dependsOn ?? [];
      if (!deps.length) return;
      const ns = ctx.obj.metadata.namespace ?? 'default';
      const cycle = findCycle(ctx.obj, lookup);
      if (cycle) throw new StallingError(Reason.DependencyNotReady, `circular dependency: ${cycle.join(' -> ')}`);
      const mySource = sourceKey(ctx.obj);
      deps.forEach((d, i) => {
        const depNs = d.namespace ?? ns;
        const name = `'${depNs}/${d.name}'`;
        clients.checkReference(ns, depNs, `dependency Kustomization '${d.name}'`);
        const dep = lookup(KIND, depNs, d.name);
        if (!dep) throw new WaitingError(Reason.DependencyNotReady, `dependency ${name} not found`);
        if (d.readyExpr) {
          let ready: boolean;
          try {
            ready = compileReadyExpr(d.readyExpr, `dependsOn[${i}].readyExpr`)(ctx.obj, dep);
          } catch (e) {
            throw new WaitingError(Reason.DependencyNotReady, `dependency ${name}: ${e instanceof Error ? e.message : String(e)}`);
          }
          if (!ready) throw new WaitingError(Reason.DependencyNotReady, `dependency ${name} is not ready according to readyExpr eval`);
          if (!opts.additive) return;
        }
        const readyCond = findCondition(dep.status?.conditions, READY);
        if (readyCond?.status !== 'True' || dep.status?.observedGeneration !== dep.metadata.generation) {
          throw new WaitingError(Reason.DependencyNotReady, `dependency ${name} is not ready`);
        }
        // the same source: the dependency must have applied the revision this one is about to
        const [kind, srcNs, srcName] = mySource;
        if (sourceKey(dep).join('/') === mySource.join('/')) {
          const revision = sources(kind, srcNs, srcName)?.status?.artifact?.revision;
          if (revision && dep.status?.['lastAppliedRevision'] !== revision) {
            throw new WaitingError(Reason.DependencyNotReady, `dependency ${name} revision is not up to date`);
          }
        }
      });
      ctx.log.debug('all dependencies are ready');
    },
  };
}

function sourceKey(o: KustomizationObject): [string, string, string] {
  const ref = o.spec.sourceRef;
  return [ref.kind, ref.namespace ?? o.metadata.namespace ?? 'default', ref.name];
}
