import { objectKey } from '../../runtime/client/objects.ts';
import type { Informer } from '../../runtime/cache/informer.ts';
import type { Controller } from '../../runtime/manager.ts';
import { imageUpdateAutomationReconciler } from './reconciler.ts';
import type { GitRepositoryView, ImageUpdateAutomationDeps, ImageUpdateAutomationObject, ImageUpdateAutomationState, PolicyView } from './types.ts';

/** The ImageUpdateAutomation controller: runs again the moment a policy of its namespace picks another image. */
export function imageUpdateAutomationController(deps: ImageUpdateAutomationDeps): Controller<ImageUpdateAutomationObject, ImageUpdateAutomationState> {
  let repos: Informer<GitRepositoryView> | undefined;
  let policies: Informer<PolicyView> | undefined;
  return {
    name: 'imageupdateautomation',
    definition: imageUpdateAutomationReconciler(deps, {
      gitRepository: (ns, name) => repos?.get(`${ns}/${name}`),
      policies: (ns) => policies?.list(ns) ?? [],
    }),
    setup({ primary, informer, enqueue }) {
      repos = informer<GitRepositoryView>({ apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', namespace: primary.options.namespace });
      policies = informer<PolicyView>({ apiVersion: 'image.toolkit.fluxcd.io/v1', kind: 'ImagePolicy', namespace: primary.options.namespace });
      const latest = (p: PolicyView | undefined) => JSON.stringify(p?.status?.latestRef ?? null);
      const onPolicy = (p: PolicyView, old?: PolicyView): void => {
        if (old && latest(p) === latest(old)) return;
        for (const a of primary.list(p.metadata.namespace)) enqueue(objectKey(a));
      };
      policies.on('add', (p) => onPolicy(p)).on('update', onPolicy);
    },
  };
}
