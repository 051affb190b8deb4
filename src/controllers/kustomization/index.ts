import { objectKey } from '../../runtime/client/objects.ts';
import type { Informer } from '../../runtime/cache/informer.ts';
import type { Controller } from '../../runtime/manager.ts';
import { READY, findCondition } from '../../runtime/reconcile/conditions.ts';
import type { ClientFactory } from '../../services/tenancy/clients.ts';
import { kustomizationReconciler } from './reconciler.ts';
import { KIND, type KustomizationDeps, type KustomizationObject, type KustomizationState, type SourceObject } from './types.ts';

const SOURCE_INDEX = 'sourceRef';
const DEPENDS_INDEX = 'dependsOn';
const SOURCE_KINDS = { GitRepository: 'source.toolkit.fluxcd.io/v1', OCIRepository: 'source.toolkit.fluxcd.io/v1' } as const;

/**
 * The Kustomization controller. Event-driven where Flux polls: a new source artifact
 * enqueues the Kustomizations that use it, and a Kustomization turning Ready enqueues
 * its dependents at once.
 */
export function kustomizationController(deps: KustomizationDeps, clients: ClientFactory): Controller<KustomizationObject, KustomizationState> {
  const sources = new Map<string, Informer<SourceObject>>();
  let primaryRef: Informer<KustomizationObject> | undefined;
  const definition = kustomizationReconciler(deps, clients, {
    kustomization: (_kind, ns, name) => primaryRef?.get(`${ns}/${name}`),
    source: (kind, ns, name) => sources.get(kind)?.get(`${ns}/${name}`),
  });
  return {
    name: 'kustomization',
    definition,
    setup({ primary, informer, enqueue, cancel }) {
      primaryRef = primary;
      const nsOf = (o: KustomizationObject): string => o.metadata.namespace ?? 'default';
      primary.addIndex(SOURCE_INDEX, (o) => [`${o.spec.sourceRef.kind}/${o.spec.sourceRef.namespace ?? nsOf(o)}/${o.spec.sourceRef.name}`]);
      primary.addIndex(DEPENDS_INDEX, (o) => (o.spec.dependsOn ?? []).map((d) => `${d.namespace ?? nsOf(o)}/${d.name}`));
      for (const [kind, apiVersion] of Object.entries(SOURCE_KINDS)) {
        const inf = informer<SourceObject>({ apiVersion, kind, namespace: primary.options.namespace });
        sources.set(kind, inf);
        const onSource = (s: SourceObject, old?: SourceObject): void => {
          if (old && s.status?.artifact?.revision === old.status?.artifact?.revision) return;
          for (const k of primary.byIndex(SOURCE_INDEX, `${kind}/${objectKey(s)}`)) {
            // CancelHealthCheckOnNewRevision: a health wait on the old revision gives way to the new one
            if (old && deps.cancelHealthCheckOnNewRevision) cancel(objectKey(k));
            enqueue(objectKey(k));
          }
        };
        inf.on('add', (s) => onSource(s)).on('update', onSource);
      }
      const isReady = (o: KustomizationObject | undefined): boolean =>
        findCondition(o?.status?.conditions, READY)?.status === 'True' && o?.status?.observedGeneration === o?.metadata.generation;
      primary.on('update', (o, old) => {
        if (isReady(o) && (!isReady(old) || o.status?.['lastAppliedRevision'] !== old?.status?.['lastAppliedRevision'])) {
          for (const d of primary.byIndex(DEPENDS_INDEX, objectKey(o))) enqueue(objectKey(d));
        }
      });
    },
  };
}

export { KIND };
