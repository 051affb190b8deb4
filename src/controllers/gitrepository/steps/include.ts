import { cp, mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isWithin, type Artifact } from '../../../services/artifacts/index.ts';
import { StallingError, WaitingError } from '../../../runtime/errors.ts';
import type { Step } from '../../../runtime/reconcile/types.ts';
import { Cond, Reason, type GitRepositoryDeps, type GitRepositoryObject, type GitRepositoryState } from '../types.ts';

export type LookupGitRepository = (namespace: string, name: string) => GitRepositoryObject | undefined;

function contained(root: string, rel: string, field: string): string {
  const p = path.resolve(root, rel);
  if (!isWithin(root, p)) throw new StallingError(Reason.IncludeUnavailable, `${field} '${rel}' points outside the repository`);
  return p;
}

/** Copies the artifacts of `spec.include` GitRepositories into the checkout. */
export function includeStep(deps: GitRepositoryDeps, lookup: LookupGitRepository): Step<GitRepositoryObject, GitRepositoryState> {
  return {
    name: 'include',
    async run(ctx) {
      const includes = ctx.obj.spec.include ?? [];
      const ns = ctx.obj.metadata.namespace ?? 'default';
      ctx.state.included = [];
      if (!includes.length) {
        ctx.clear(Cond.IncludeUnavailable);
        return;
      }
      const artifacts: Artifact[] = [];
      for (const inc of includes) {
        const name = inc.repository.name;
        const other = lookup(ns, name);
        const artifact = (other?.status as { artifact?: Artifact } | undefined)?.artifact;
        if (!artifact || !(await deps.store.has(artifact))) {
          const msg = `included GitRepository '${ns}/${name}' has no artifact yet`;
          ctx.condition(Cond.IncludeUnavailable, 'True', Reason.IncludeUnavailable, msg);
          throw new WaitingError(Reason.IncludeUnavailable, msg, 10_000);
        }
        artifacts.push(artifact);
      }
      ctx.state.included = artifacts;
      // with unchanged includes and an unchanged revision, nothing needs rebuilding
      const before = (ctx.status['includedArtifacts'] as Artifact[] | undefined)?.map((a) => a.digest) ?? [];
      const current = ctx.status['artifact'] as { revision?: string } | undefined;
      if (
        ctx.state.resolved &&
        current?.revision === ctx.state.resolved.revision &&
        JSON.stringify(before) === JSON.stringify(artifacts.map((a) => a.digest)) &&
        JSON.stringify(ctx.status['observedInclude'] ?? []) === JSON.stringify(includes) &&
        !ctx.state.workDir
      ) {
        ctx.state.upToDate = true;
      }
      ctx.clear(Cond.IncludeUnavailable);
      if (ctx.state.upToDate || !ctx.state.workDir) return;
      const root = path.join(ctx.state.workDir, 'src');
      for (const [i, inc] of includes.entries()) {
        const artifact = artifacts[i];
        if (!artifact) continue;
        const tmp = await mkdtemp(path.join(os.tmpdir(), 'flotilla-include-'));
        try {
          await deps.store.extractTo(artifact, path.join(tmp, 'x'));
          const from = contained(path.join(tmp, 'x'), inc.fromPath ?? '.', 'include.fromPath');
          const to = contained(root, inc.toPath ?? inc.repository.name, 'include.toPath');
          if (!(await stat(from).catch(() => undefined))) {
            throw new StallingError(Reason.IncludeUnavailable, `include.fromPath '${inc.fromPath}' does not exist in GitRepository '${ns}/${inc.repository.name}'`);
          }
          await rm(to, { recursive: true, force: true });
          await cp(from, to, { recursive: true });
        } finally {
          await rm(tmp, { recursive: true, force: true });
        }
      }
    },
  };
}
