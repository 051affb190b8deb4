import { createHash } from 'node:crypto';
import { StallingError, TransientError } from '../../../runtime/errors.ts';
import type { Step } from '../../../runtime/reconcile/types.ts';
import { readSecret } from '../../../services/secrets/read.ts';
import { Reason, SUPPORTED_TYPES, WEBHOOK_PREFIX, type ReceiverDeps, type ReceiverObject, type ReceiverState } from '../types.ts';

/** Flux's webhook path: `/hook/` + sha256(token + name + namespace), so that it changes with the token. */
export function webhookPath(token: string, name: string, namespace: string): string {
  return `${WEBHOOK_PREFIX}${createHash('sha256').update(token + name + namespace).digest('hex')}`;
}

/** The Receiver's token: the `token` key of its `secretRef`; a missing Secret or key is a TokenNotFound error. */
export async function receiverToken(deps: ReceiverDeps, receiver: ReceiverObject): Promise<string> {
  const ns = receiver.metadata.namespace ?? 'default';
  const name = receiver.spec.secretRef?.name;
  if (!name) throw new StallingError(Reason.ValidationFailed, `spec.secretRef is required for type '${receiver.spec.type}'`);
  const token = (await readSecret(deps.client, ns, name, Reason.TokenNotFound, 'spec.secretRef'))['token'];
  if (!token) throw new TransientError(Reason.TokenNotFound, `secret '${ns}/${name}' has no 'token' key`);
  return token;
}

/** Checks what Flotilla can serve, reads the token and publishes the webhook path. */
export function pathStep(deps: ReceiverDeps): Step<ReceiverObject, ReceiverState> {
  return {
    name: 'path',
    async run(ctx) {
      const { spec, metadata } = ctx.obj;
      const ns = metadata.namespace ?? 'default';
      if (!(SUPPORTED_TYPES as readonly string[]).includes(spec.type)) {
        throw new StallingError(Reason.ValidationFailed, `Receiver type '${spec.type}' is not supported by Flotilla yet; supported: ${SUPPORTED_TYPES.join(', ')}`);
      }
      if (spec.resourceFilter || spec.resources.some((r) => r.filter)) {
        throw new StallingError(Reason.ValidationFailed, 'CEL resource filters (spec.resourceFilter, spec.resources[].filter) are not supported by Flotilla yet');
      }
      let token: string;
      try {
        token = await receiverToken(deps, ctx.obj);
      } catch (e) {
        ctx.status['webhookPath'] = undefined;
        throw e;
      }
      ctx.state.webhookPath = webhookPath(token, metadata.name, ns);
      if (ctx.status['webhookPath'] !== ctx.state.webhookPath) ctx.log.info({ path: ctx.state.webhookPath }, 'Receiver initialized');
      ctx.status['webhookPath'] = ctx.state.webhookPath;
    },
  };
}
