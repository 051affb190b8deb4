import type { Controller } from '../../runtime/manager.ts';
import { objectKey } from '../../runtime/client/objects.ts';
import { requeueOnSecretChange } from '../../services/secrets/watch.ts';
import { gitRepositoryReconciler } from './reconciler.ts';
import type { GitRepositoryDeps, GitRepositoryObject, GitRepositoryState } from './types.ts';

const INCLUDE_INDEX = 'include';

/**
 * The GitRepository controller. Besides its own objects it watches Secrets (trigger-only:
 * nothing is cached) so that fixing credentials requeues at once, and requeues
 * GitRepositories that include one whose artifact changed.
 */
export function gitRepositoryController(deps: GitRepositoryDeps): Controller<GitRepositoryObject, GitRepositoryState> {
  let lookup: (ns: string, name: string) => GitRepositoryObject | undefined = () => undefined;
  return {
    name: 'gitrepository',
    definition: gitRepositoryReconciler(deps, (ns, name) => lookup(ns, name)),
    setup(setup) {
      const { primary, enqueue } = setup;
      lookup = (ns, name) => primary.get(`${ns}/${name}`);
      requeueOnSecretChange(setup, (o) => [o.spec.secretRef?.name, o.spec.proxySecretRef?.name, o.spec.verify?.secretRef.name]);
      primary.addIndex(INCLUDE_INDEX, (o) => (o.spec.include ?? []).map((i) => `${o.metadata.namespace ?? 'default'}/${i.repository.name}`));
      primary.on('update', (o, old) => {
        const rev = (x: GitRepositoryObject | undefined) => (x?.status?.['artifact'] as { digest?: string } | undefined)?.digest;
        if (rev(o) !== rev(old)) for (const r of primary.byIndex(INCLUDE_INDEX, objectKey(o))) enqueue(objectKey(r));
      });
    },
  };
}
