/**
 * notification.toolkit.fluxcd.io/v1: Receiver, a webhook endpoint that asks for an
 * immediate reconciliation of the listed objects when a trusted party calls it.
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import {
  duration,
  reconciledStatus,
  secretRef,
  stringEnum,
  stringMap,
} from './common.ts';
import { ageColumn, defineKind, objectSchema, plainOlderVersions, readyColumn, statusColumn } from './kind.ts';

export const notificationGroup = 'notification.toolkit.fluxcd.io';
export const notificationV1 = 'v1';
export const notificationV1ApiVersion = `${notificationGroup}/${notificationV1}`;
export const notificationCategories = ['all', 'fluxcd', 'fluxcd-notifications'] as const;

/** Kinds that emit events an Alert can forward, and that a Receiver can ask to reconcile. */
export const notifiableKinds = [
  'Bucket',
  'GitRepository',
  'Kustomization',
  'HelmRelease',
  'HelmChart',
  'HelmRepository',
  'ImageRepository',
  'ImagePolicy',
  'ImageUpdateAutomation',
  'OCIRepository',
  'ArtifactGenerator',
  'ExternalArtifact',
] as const;

/** An object, or with name `*` all objects of a kind, in some namespace. */
export function notificationObjectReferenceProperties() {
  return {
    apiVersion: Type.Optional(Type.String({ description: 'API version of the objects.' })),
    kind: stringEnum(notifiableKinds, { description: 'Kind of the objects.' }),
    matchLabels: Type.Optional(
      stringMap('With name `*`: only the objects carrying all these labels.'),
    ),
    name: Type.String({ minLength: 1, maxLength: 253, description: 'Name of the object, or `*` for all of them.' }),
    namespace: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 253,
        description: 'Namespace of the objects; the namespace of this object when empty.',
      }),
    ),
  };
}

export const ReceiverResourceSchema = Type.Object({
  ...notificationObjectReferenceProperties(),
  filter: Type.Optional(
    Type.String({
      description: 'CEL expression over `res` (the object) and `req` (the request) that must be true for the object to be reconciled.',
    }),
  ),
});
export type ReceiverResource = Static<typeof ReceiverResourceSchema>;

export const OidcProviderSchema = Type.Object({
  audience: Type.Optional(
    Type.String({ description: 'Audience the token must be issued for; notification-controller when empty.' }),
  ),
  issuerURL: Type.String({ pattern: '^https?://', description: 'Issuer of the tokens; its discovery document must be reachable.' }),
  validations: Type.Array(
    Type.Object({
      expression: Type.String({ description: 'CEL expression over `claims` and `vars` that must be true.' }),
      message: Type.String({ description: 'Reason given when the expression is false.' }),
    }),
    { minItems: 1, description: 'Checks the token claims must pass, all of them.' },
  ),
  variables: Type.Optional(
    Type.Array(
      Type.Object({
        expression: Type.String({ description: 'CEL expression over `claims` giving the value.' }),
        name: Type.String({ description: 'Name under which the value is available as vars.<name>.' }),
      }),
      { description: 'Values computed from the claims for use in validations.' },
    ),
  ),
});
export type OidcProvider = Static<typeof OidcProviderSchema>;

export const ReceiverSpecSchema = Type.Object(
  {
    events: Type.Optional(
      Type.Array(Type.String(), {
        description: 'Event types to act on (e.g. the X-GitHub-Event header); all when empty.',
      }),
    ),
    interval: Type.Optional(
      duration('How often the Receiver checks its Secret and settings again.', { default: '10m' }),
    ),
    oidcProviders: Type.Optional(
      Type.Array(OidcProviderSchema, {
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['issuerURL'],
        description: 'For type generic-oidc (and only then, at least one): issuers whose tokens are accepted.',
      }),
    ),
    resourceFilter: Type.Optional(
      Type.String({
        description: 'CEL expression over `res`, `req` and `claims` that selects which of the resources to reconcile.',
      }),
    ),
    resources: Type.Array(ReceiverResourceSchema, {
      description: 'Objects to reconcile when a valid request arrives.',
    }),
    secretRef: Type.Optional(
      secretRef(
        'Secret with the token that makes the webhook path and validates requests; required unless the type is generic-oidc.',
      ),
    ),
    suspend: Type.Optional(Type.Boolean({ description: 'Ignores incoming requests while true.' })),
    type: stringEnum(
      [
        'generic',
        'generic-hmac',
        'generic-oidc',
        'github',
        'gitlab',
        'bitbucket',
        'harbor',
        'dockerhub',
        'quay',
        'gcr',
        'nexus',
        'acr',
        'cdevents',
      ],
      { description: 'Who calls the webhook, which decides how a request is authenticated and parsed.' },
    ),
  },
  { description: 'Who may call the webhook and what it reconciles.' },
);
export type ReceiverSpec = Static<typeof ReceiverSpecSchema>;

export const ReceiverStatusSchema = reconciledStatus('Receiver', 'What the controller last observed.', {
  webhookPath: Type.Optional(
    Type.String({ description: 'Path of the webhook on the receiver server, /hook/<hash>.' }),
  ),
});
export type ReceiverStatus = Static<typeof ReceiverStatusSchema>;

export const ReceiverSchema = objectSchema(
  'Receiver',
  'A webhook that triggers the reconciliation of objects when an outside system calls it.',
  ReceiverSpecSchema,
  ReceiverStatusSchema,
);
export type Receiver = Static<typeof ReceiverSchema>;

export const receiverApi = defineKind({
  group: notificationGroup,
  version: notificationV1,
  kind: 'Receiver',
  plural: 'receivers',
  categories: notificationCategories,
  schema: ReceiverSchema,
  printerColumns: [ageColumn, readyColumn, statusColumn],
  // v1beta1/v1beta2 carry a subset of the v1 fields with the same meaning (v1 no longer
  // requires secretRef for every type, which only accepts more).
  olderVersions: plainOlderVersions('v1beta1', 'v1beta2'),
});
