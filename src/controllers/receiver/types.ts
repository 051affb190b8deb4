import type { ReceiverSpec } from '../../api/notification.v1.ts';
import type { KubeClient } from '../../runtime/client/client.ts';
import type { FluxObject } from '../../runtime/reconcile/types.ts';

export const KIND = 'Receiver';
export const API_VERSION = 'notification.toolkit.fluxcd.io/v1';
export const WEBHOOK_PREFIX = '/hook/';

export interface ReceiverObject extends FluxObject {
  spec: ReceiverSpec & { [field: string]: unknown };
}

export interface ReceiverDeps {
  client: KubeClient;
  noCrossNamespaceRefs: boolean;
}

export interface ReceiverState {
  webhookPath?: string;
}

/** The receiver types whose requests Flotilla can authenticate. */
export const SUPPORTED_TYPES = ['generic', 'generic-hmac', 'github', 'gitlab', 'bitbucket', 'harbor'] as const;
export type SupportedType = (typeof SUPPORTED_TYPES)[number];

export const Reason = {
  TokenNotFound: 'TokenNotFound',
  ValidationFailed: 'ValidationFailed',
  Succeeded: 'Succeeded',
} as const;
