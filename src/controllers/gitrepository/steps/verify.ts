import { StallingError } from '../../../runtime/errors.ts';
import type { Step } from '../../../runtime/reconcile/types.ts';
import { Cond, Reason, type GitRepositoryObject, type GitRepositoryState } from '../types.ts';

/**
 * `spec.verify`: commit and tag signature verification. Not implemented yet: rather than
 * produce an artifact that was silently not verified, the object stalls with a clear message.
 */
export function verifyStep(): Step<GitRepositoryObject, GitRepositoryState> {
  return {
    name: 'verify',
    async run(ctx) {
      const verify = ctx.obj.spec.verify;
      if (!verify) {
        ctx.clear(Cond.SourceVerified);
        return;
      }
      const mode = verify.mode ?? 'HEAD';
      const msg = `signature verification (spec.verify.mode '${mode}') is not supported by Flotilla yet: PGP (.asc) and SSH (.sshpub) keys cannot be checked; remove spec.verify to fetch without verification`;
      ctx.condition(Cond.SourceVerified, 'False', Reason.VerificationError, msg);
      throw new StallingError(Reason.VerificationError, msg);
    },
  };
}
