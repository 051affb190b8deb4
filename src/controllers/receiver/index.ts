import type { Informer } from '../../runtime/cache/informer.ts';
import type { Handler } from '../../runtime/http/server.ts';
import type { Logger } from '../../runtime/log/logger.ts';
import type { Controller } from '../../runtime/manager.ts';
import { requeueOnSecretChange } from '../../services/secrets/watch.ts';
import { receiverReconciler } from './reconciler.ts';
import type { ReceiverDeps, ReceiverObject, ReceiverState } from './types.ts';
import { PATH_INDEX, webhookHandler } from './webhook.ts';

/** The Receiver controller, and the webhook handler that serves its paths (mounted at `/hook/` on `--receiver-addr`). */
export function receiverController(deps: ReceiverDeps, log: Logger): Controller<ReceiverObject, ReceiverState> & { webhook: Handler } {
  let receivers: Informer<ReceiverObject> | undefined;
  return {
    name: 'receiver',
    definition: receiverReconciler(deps),
    webhook: webhookHandler(deps, () => receivers, log),
    setup(setup) {
      receivers = setup.primary;
      setup.primary.addIndex(PATH_INDEX, (o) => {
        const p = o.status?.['webhookPath'];
        return typeof p === 'string' && p ? [p] : [];
      });
      requeueOnSecretChange(setup, (o) => [o.spec.secretRef?.name]);
    },
  };
}
