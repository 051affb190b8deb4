import { WaitingError, StallingError } from '../../../runtime/errors.ts';
import { READY, findCondition } from '../../../runtime/reconcile/conditions.ts';
import type { Step } from '../../../runtime/reconcile/types.ts';
import type { ClientFactory } from '../../../services/tenancy/clients.ts';
import { KIND, Reason, type KustomizationObject, type KustomizationState, type Lookup } from '../types.ts';

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
 * `dependsOn`: every dependency must be Ready for its current generation. The wait is
 * event-driven: the controller enqueues dependents the moment a dependency turns Ready,
 * and only falls back to `--requeue-dependency` polling.
 */
export function dependenciesStep(clients: ClientFactory, lookup: Lookup<KustomizationObject>): Step<KustomizationObject, KustomizationState> {
  return {
    name: 'dependencies',
    async run(ctx) {
      const deps = ctx.obj.spec.dependsOn ?? [];
      if (!deps.length) return;
      const ns = ctx.obj.metadata.namespace ?? 'default';
      const cycle = findCycle(ctx.obj, lookup);
      if (cycle) throw new StallingError(Reason.DependencyNotReady, `circular dependency: ${cycle.join(' -> ')}`);
      for (const d of deps) {
        const depNs = d.namespace ?? ns;
        clients.checkReference(ns, depNs, `dependency Kustomization '${d.name}'`);
        const dep = lookup(KIND, depNs, d.name);
        if (!dep) throw new WaitingError(Reason.DependencyNotReady, `dependency '${depNs}/${d.name}' not found`);
        const ready = findCondition(dep.status?.conditions, READY);
        if (ready?.status !== 'True' || dep.status?.observedGeneration !== dep.metadata.generation) {
          throw new WaitingError(Reason.DependencyNotReady, `dependency '${depNs}/${d.name}' is not ready`);
        }
      }
      ctx.log.debug('all dependencies are ready');
    },
  };
}
