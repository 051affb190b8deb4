import type { Controller } from '../../runtime/manager.ts';
import { objectKey } from '../../runtime/client/objects.ts';
import { gitRepositoryReconciler } from './reconciler.ts';
import type { GitRepositoryDeps, GitRepositoryObject, GitRepositoryState } from './types.ts';

const SECRET_INDEX = 'secretRef';
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
    setup({ primary, informer, enqueue }) {
      lookup = (ns, name) => primary.get(`${ns}/${name}`);
      primary.addIndex(SECRET_INDEX, (o) => {
        const ns = o.metadata.namespace ?? 'default';
        return [o.spec.secretRef?.name, o.spec.proxySecretRef?.name].filter((n): n is string => !!n).map((n) => `${ns}/${n}`);
      });
      primary.addIndex(INCLUDE_INDEX, (o) => (o.spec.include ?? []).map((i) => `${o.metadata.namespace ?? 'default'}/${i.repository.name}`));
      const secrets = informer({ apiVersion: 'v1', kind: 'Secret', metadataOnly: true, store: false });
      const onSecret = (s: { metadata: { name: string; namespace?: string } }): void => {
        for (const repo of primary.byIndex(SECRET_INDEX, objectKey(s))) enqueue(objectKey(repo));
      };
      secrets.on('add', onSecret).on('update', onSecret).on('delete', onSecret);
      primary.on('update', (o, old) => {
        const rev = (x: GitRepositoryObject | undefined) => (x?.status?.['artifact'] as { digest?: string } | undefined)?.digest;
        if (rev(o) !== rev(old)) for (const r of primary.byIndex(INCLUDE_INDEX, objectKey(o))) enqueue(objectKey(r));
      });
    },
  };
}
