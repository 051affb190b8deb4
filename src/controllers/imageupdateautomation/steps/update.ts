import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { StallingError, TransientError, WaitingError } from '../../../runtime/errors.ts';
import type { Step } from '../../../runtime/reconcile/types.ts';
import { isWithin } from '../../../services/artifacts/index.ts';
import { authFromSecretValues } from '../../../services/git/index.ts';
import { DEFAULT_BRANCH } from '../../../services/git/refs.ts';
import { readSecret } from '../../../services/secrets/read.ts';
import { applySetters, isSetterFile, type PolicyImage, type SetterChange } from '../../../services/setters/setters.ts';
import { DEFAULT_MESSAGE, type ImageUpdateAutomationDeps, type ImageUpdateAutomationObject, type ImageUpdateAutomationState, type Lookups } from '../types.ts';

async function yamlFiles(root: string, dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.name === '.git') continue;
    const abs = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await yamlFiles(root, abs)));
    else if (e.isFile() && isSetterFile(path.relative(root, abs))) out.push(abs);
  }
  return out;
}

/** Checks out the branch, writes the policies' images at their markers, commits and pushes. */
export function updateStep(deps: ImageUpdateAutomationDeps, lookups: Lookups): Step<ImageUpdateAutomationObject, ImageUpdateAutomationState> {
  return {
    name: 'update',
    async run(ctx) {
      const { spec, metadata } = ctx.obj;
      const ns = metadata.namespace ?? 'default';
      const srcNs = spec.sourceRef.namespace ?? ns;
      if (deps.noCrossNamespaceRefs && srcNs !== ns) {
        throw new StallingError('AccessDenied', `cross-namespace references are not allowed: GitRepository '${srcNs}/${spec.sourceRef.name}' (--no-cross-namespace-refs)`);
      }
      const repo = lookups.gitRepository(srcNs, spec.sourceRef.name);
      if (!repo) throw new WaitingError('DependencyNotReady', `GitRepository '${srcNs}/${spec.sourceRef.name}' not found`);
      const commit = spec.git?.commit;
      if (!commit) throw new StallingError('InvalidSpec', 'spec.git.commit (the author at least) is required');
      if (commit.signingKey) throw new StallingError('InvalidSpec', 'commit signing (spec.git.commit.signingKey) is not supported by Flotilla yet');
      if (commit.messageTemplate?.includes('{{')) {
        throw new StallingError('InvalidSpec', 'commit message templates with actions ({{ ... }}) are not supported by Flotilla yet; use a fixed messageTemplate');
      }
      if (spec.git?.push?.refspec || spec.git?.push?.options) throw new StallingError('InvalidSpec', 'spec.git.push.refspec and .options are not supported by Flotilla yet');
      const { branch: checkoutBranch, ...otherRefs } = (spec.git?.checkout?.ref ?? repo.spec.ref ?? {}) as Record<string, unknown>;
      if (Object.values(otherRefs).some(Boolean)) throw new StallingError('InvalidSpec', 'only a branch can be checked out for image updates');
      const branch = typeof checkoutBranch === 'string' && checkoutBranch ? checkoutBranch : DEFAULT_BRANCH;
      const pushBranch = spec.git?.push?.branch || branch;
      if (spec.update && spec.update.strategy && spec.update.strategy !== 'Setters') throw new StallingError('InvalidSpec', `update strategy '${spec.update.strategy}' is not supported`);

      // the policies of this namespace that the selector picks, with a chosen image
      const selector = spec.policySelector?.matchLabels ?? {};
      if (spec.policySelector?.matchExpressions?.length) throw new StallingError('InvalidSpec', 'policySelector.matchExpressions is not supported by Flotilla yet; use matchLabels');
      const policies = new Map<string, PolicyImage>();
      const observed: Record<string, PolicyImage> = {};
      for (const p of lookups.policies(ns)) {
        if (!Object.entries(selector).every(([k, v]) => p.metadata.labels?.[k] === v)) continue;
        const ref = p.status?.latestRef;
        if (!ref?.name || !ref.tag) continue;
        policies.set(`${ns}:${p.metadata.name}`, ref);
        observed[p.metadata.name] = { name: ref.name, tag: ref.tag, ...(ref.digest ? { digest: ref.digest } : {}) };
      }

      const values = repo.spec.secretRef ? await readSecret(deps.client, srcNs, repo.spec.secretRef.name, 'AuthenticationFailed', `secretRef of GitRepository '${srcNs}/${spec.sourceRef.name}'`) : undefined;
      const auth = authFromSecretValues(values, repo.spec.url);
      const work = await mkdtemp(path.join(os.tmpdir(), 'flotilla-iua-'));
      ctx.state.workDir = work;
      const dir = path.join(work, 'src');
      const timeoutMs = 60_000;
      let checkedOut;
      try {
        checkedOut = await deps.git.checkout(repo.spec.url, auth, { kind: 'branch', refName: `refs/heads/${branch}` }, dir, { timeoutMs });
      } catch (e) {
        throw new TransientError('GitOperationFailed', e instanceof Error ? e.message : String(e));
      }
      const root = path.resolve(dir, spec.update?.path ?? './');
      if (!isWithin(dir, root)) throw new StallingError('InvalidSpec', `spec.update.path '${spec.update?.path ?? ''}' leaves the repository`);
      const changes: SetterChange[] = [];
      for (const file of await yamlFiles(dir, root).catch(() => [] as string[])) {
        const text = await readFile(file, 'utf8');
        const out = applySetters(path.relative(dir, file), text, policies);
        if (!out.changes.length) continue;
        await writeFile(file, out.text);
        changes.push(...out.changes);
      }
      ctx.status['observedPolicies'] = observed;
      ctx.status['observedSourceRevision'] = `${branch}@sha1:${checkedOut.commit}`;
      ctx.status['lastAutomationRunTime'] = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      if (!changes.length) return;
      let result;
      try {
        result = await deps.git.commitAndPush(dir, {
          auth,
          author: { name: commit.author.name ?? 'fluxcdbot', email: commit.author.email },
          message: commit.messageTemplate || DEFAULT_MESSAGE,
          branch,
          pushBranch,
          timeoutMs,
        });
      } catch (e) {
        throw new TransientError('GitOperationFailed', `failed to push to branch '${pushBranch}': ${e instanceof Error ? e.message : String(e)}`);
      }
      if (!result.pushed || !result.commit) return;
      ctx.state.pushed = { commit: result.commit, branch: pushBranch };
      ctx.status['lastPushCommit'] = result.commit;
      ctx.status['lastPushTime'] = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      const summary = changes.map((c) => `${c.file}:${c.line} ${c.oldValue} -> ${c.newValue}`).join('\n');
      ctx.event('Normal', 'Succeeded', `pushed commit '${result.commit.slice(0, 7)}' to branch '${pushBranch}'\n${summary}`);
    },
  };
}
