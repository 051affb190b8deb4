import { StallingError, TransientError, WaitingError } from '../../../runtime/errors.ts';
import type { Step } from '../../../runtime/reconcile/types.ts';
import { PolicyError, chooseTag } from '../../../services/imagetags/select.ts';
import type { ImagePolicyDeps, ImagePolicyObject, ImagePolicyState, RepositoryView } from '../types.ts';

/** May a policy in `ns` use `repo`? Its own namespace always; another only as the repository's accessFrom allows. */
async function accessAllowed(deps: ImagePolicyDeps, ns: string, repo: RepositoryView): Promise<boolean> {
  if ((repo.metadata.namespace ?? 'default') === ns) return true;
  if (deps.noCrossNamespaceRefs) return false;
  const selectors = repo.spec.accessFrom?.namespaceSelectors ?? [];
  if (!selectors.length) return false;
  const labels = (await deps.client.getMetadata({ apiVersion: 'v1', kind: 'Namespace', name: ns }))?.metadata.labels ?? {};
  return selectors.some((s) => Object.entries(s.matchLabels ?? {}).every(([k, v]) => labels[k] === v));
}

/** Picks the latest tag of the referenced ImageRepository's last scan. */
export function chooseStep(deps: ImagePolicyDeps, repository: (ns: string, name: string) => RepositoryView | undefined): Step<ImagePolicyObject, ImagePolicyState> {
  return {
    name: 'choose',
    async run(ctx) {
      const { spec, metadata } = ctx.obj;
      const ns = metadata.namespace ?? 'default';
      if (spec.digestReflectionPolicy && spec.digestReflectionPolicy !== 'Never') {
        throw new StallingError('InvalidSpec', `digestReflectionPolicy '${spec.digestReflectionPolicy}' is not supported by Flotilla yet; use Never`);
      }
      const repoNs = spec.imageRepositoryRef.namespace ?? ns;
      const repoName = `${repoNs}/${spec.imageRepositoryRef.name}`;
      const repo = repository(repoNs, spec.imageRepositoryRef.name);
      if (!repo) throw new WaitingError('DependencyNotReady', `referenced ImageRepository '${repoName}' not found`);
      if (!(await accessAllowed(deps, ns, repo))) {
        throw new StallingError('AccessDenied', `ImageRepository '${repoName}' does not grant access to namespace '${ns}' (spec.accessFrom)${deps.noCrossNamespaceRefs ? ' and cross-namespace references are disabled' : ''}`);
      }
      const scanned = deps.tags.get(repoNs, spec.imageRepositoryRef.name);
      if (!scanned) throw new WaitingError('DependencyNotReady', `no tags in database for ImageRepository '${repoName}': waiting for its scan`);
      let tag: string | undefined;
      try {
        tag = chooseTag(scanned.tags, spec.policy, spec.filterTags);
      } catch (e) {
        if (e instanceof PolicyError) throw new StallingError('InvalidPolicy', e.message);
        throw e;
      }
      if (tag === undefined) {
        throw new TransientError('ReconciliationFailed', `no tag of ${scanned.canonicalName} (${scanned.tags.length} scanned) satisfies the policy`);
      }
      const latest = { name: scanned.canonicalName, tag };
      const current = ctx.status['latestRef'] as { name: string; tag: string } | undefined;
      if (current && (current.name !== latest.name || current.tag !== latest.tag)) {
        ctx.status['observedPreviousRef'] = current;
        ctx.state.previous = current;
        ctx.event('Normal', 'Succeeded', `Latest image tag for ${latest.name} resolved to ${latest.tag} (previously ${current.name}:${current.tag})`);
      } else if (!current) {
        ctx.event('Normal', 'Succeeded', `Latest image tag for ${latest.name} resolved to ${latest.tag}`);
      }
      const observed = ctx.status['observedPreviousRef'] as { name: string; tag: string } | undefined;
      if (!ctx.state.previous && observed) ctx.state.previous = observed;
      ctx.status['latestRef'] = latest;
      ctx.state.latest = latest;
    },
  };
}
