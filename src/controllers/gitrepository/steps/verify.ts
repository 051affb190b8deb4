import path from 'node:path';
import { StallingError, TransientError } from '../../../runtime/errors.ts';
import type { Step } from '../../../runtime/reconcile/types.ts';
import { SignatureError } from '../../../services/git/index.ts';
import { readSecret } from '../../../services/secrets/read.ts';
import { Cond, Reason, type GitRepositoryDeps, type GitRepositoryObject, type GitRepositoryState } from '../types.ts';

export type VerifyMode = 'HEAD' | 'Tag' | 'TagAndHEAD';

/** `spec.verify.mode`, with Flux's spelling `head` accepted; undefined when nothing is verified. */
export function verifyMode(spec: GitRepositoryObject['spec']): VerifyMode | undefined {
  const mode = spec.verify?.mode;
  if (!spec.verify) return undefined;
  return mode === 'Tag' || mode === 'TagAndHEAD' ? mode : 'HEAD';
}

export const verifiesTag = (spec: GitRepositoryObject['spec']): boolean => {
  const mode = verifyMode(spec);
  return mode === 'Tag' || mode === 'TagAndHEAD';
};

/**
 * `spec.verify`: the signatures of the fetched commit (HEAD), of the annotated tag it was
 * fetched by (Tag), or both, against the PGP (`*.asc`) and SSH (`*.sshpub`) public keys
 * of `verify.secretRef`. A failure keeps the previous artifact: nothing is stored.
 */
export function verifyStep(deps: GitRepositoryDeps): Step<GitRepositoryObject, GitRepositoryState> {
  return {
    name: 'verify',
    async run(ctx) {
      const { spec, metadata } = ctx.obj;
      const mode = verifyMode(spec);
      if (!mode || !spec.verify) {
        ctx.clear(Cond.SourceVerified);
        ctx.status['sourceVerificationMode'] = undefined;
        return;
      }
      const ref = spec.ref ?? {};
      const wantTag = verifiesTag(spec);
      const fail = (reason: string, message: string, stalling = false): never => {
        ctx.condition(Cond.SourceVerified, 'False', reason, message);
        throw stalling ? new StallingError(reason, message) : new TransientError(reason, message);
      };
      if (wantTag && !ref.tag && !ref.semver) {
        fail('InvalidVerificationMode', "cannot verify tag object's signature if a tag reference is not specified", true);
      }
      // nothing fetched: the stored artifact was verified in this mode when it was made
      if (ctx.state.upToDate) return;
      const resolved = ctx.state.resolved;
      if (!resolved || !ctx.state.workDir) return;

      const ns = metadata.namespace ?? 'default';
      let data: Record<string, string>;
      try {
        data = await readSecret(deps.client, ns, spec.verify.secretRef.name, Reason.VerificationError, 'spec.verify.secretRef');
      } catch (e) {
        return fail(Reason.VerificationError, `public keys secret error: ${e instanceof Error ? e.message : String(e)}`);
      }
      const ssh = Object.entries(data).filter(([k]) => k.endsWith('.sshpub')).map(([, v]) => v);
      const pgp = Object.entries(data).filter(([k]) => !k.endsWith('.sshpub')).map(([, v]) => v);
      const tag = wantTag ? resolved.refName : undefined;
      let keys: { commit?: string; tag?: string };
      try {
        keys = await deps.git.verifySignatures(path.join(ctx.state.workDir, 'src'), { ...(tag ? { tag } : {}), ...(mode !== 'Tag' ? { commit: resolved.commit } : {}) }, { pgp, ssh });
      } catch (e) {
        if (!(e instanceof SignatureError)) throw e;
        const tagName = tag?.replace(/^refs\/tags\//, '');
        if (e.object === 'tag') return fail('InvalidTagSignature', `signature verification of tag '${tagName}@sha1:${resolved.commit}' failed: ${e.message}`);
        if (e.object === 'commit') return fail('InvalidCommitSignature', `signature verification of commit '${resolved.commit}' failed: ${e.message}`);
        return fail(Reason.VerificationError, `public keys secret error: ${e.message}`);
      }
      const lines = [
        ...(keys.tag ? [`tag '${tag?.replace(/^refs\/tags\//, '')}@sha1:${resolved.commit}' with key '${keys.tag}'`] : []),
        ...(keys.commit ? [`commit '${resolved.commit}' with key '${keys.commit}'`] : []),
      ];
      const message = `verified signature of\n${lines.map((l) => `\t- ${l}`).join('\n')}`;
      ctx.condition(Cond.SourceVerified, 'True', Reason.Succeeded, message);
      ctx.status['sourceVerificationMode'] = mode;
    },
  };
}
