/**
 * notification.toolkit.fluxcd.io/v1beta3: Provider (where notifications go) and Alert
 * (which events go there). Like Flux, both are plain configuration without status.
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { LocalObjectReferenceSchema, duration, secretRef, shortDuration, stringEnum, stringMap } from './common.ts';
import { ageColumn, defineKind, plainOlderVersions, statuslessObjectSchema } from './kind.ts';
import { notificationCategories, notificationGroup, notificationObjectReferenceProperties } from './notification.v1.ts';

export const notificationV1beta3 = 'v1beta3';
export const notificationV1beta3ApiVersion = `${notificationGroup}/${notificationV1beta3}`;

// ---------------------------------------------------------------------------------------
// Provider

export const providerTypes = [
  'slack',
  'discord',
  'msteams',
  'rocket',
  'generic',
  'generic-hmac',
  'github',
  'gitlab',
  'gitea',
  'giteapullrequestcomment',
  'bitbucketserver',
  'bitbucket',
  'azuredevops',
  'googlechat',
  'googlepubsub',
  'webex',
  'sentry',
  'azureeventhub',
  'telegram',
  'lark',
  'matrix',
  'opsgenie',
  'alertmanager',
  'grafana',
  'githubdispatch',
  'githubpullrequestcomment',
  'gitlabmergerequestcomment',
  'pagerduty',
  'datadog',
  'nats',
  'zulip',
  'otel',
  'zoom',
  'incident.io',
] as const;
export type ProviderType = (typeof providerTypes)[number];

export const ProviderSpecSchema = Type.Object(
  {
    address: Type.Optional(
      Type.String({
        maxLength: 2048,
        description: 'Where to send: a webhook URL, an API base URL or a repository URL, depending on the type. The Secret key address wins.',
      }),
    ),
    certSecretRef: Type.Optional(
      secretRef('Secret with TLS material: ca.crt, and tls.crt with tls.key for client authentication.'),
    ),
    channel: Type.Optional(
      Type.String({ maxLength: 2048, description: 'Channel, room or topic to post to, for types that have one.' }),
    ),
    commitStatusExpr: Type.Optional(
      Type.String({
        description: 'CEL expression giving the commit status name; only for Git hosting types (github, gitlab, gitea, bitbucket, bitbucketserver, azuredevops).',
      }),
    ),
    interval: Type.Optional(duration('Not used; kept so that older manifests stay valid.')),
    proxy: Type.Optional(
      Type.String({
        maxLength: 2048,
        pattern: '^(http|https)://.*$',
        description: 'Deprecated HTTP(S) proxy address; use proxySecretRef.',
      }),
    ),
    proxySecretRef: Type.Optional(
      secretRef('Secret with the proxy to use (keys address, username, password).'),
    ),
    secretRef: Type.Optional(
      secretRef('Secret with the credentials and overrides: address, token, username, password, headers.'),
    ),
    serviceAccountName: Type.Optional(
      Type.String({ description: 'Service account whose workload identity authenticates to the cloud service.' }),
    ),
    suspend: Type.Optional(Type.Boolean({ description: 'Stops sending notifications while true.' })),
    timeout: Type.Optional(shortDuration('Time limit for sending one notification; 15s when empty.')),
    type: stringEnum(providerTypes, { description: 'The service notifications are sent to.' }),
    username: Type.Optional(
      Type.String({ maxLength: 2048, description: 'Name the notifications are posted as, for types that support it.' }),
    ),
  },
  { description: 'Where notifications are sent and how.' },
);
export type ProviderSpec = Static<typeof ProviderSpecSchema>;

export const ProviderSchema = statuslessObjectSchema(
  'Provider',
  'A destination for notifications, such as a chat channel, a webhook or a Git commit status.',
  ProviderSpecSchema,
);
export type Provider = Static<typeof ProviderSchema>;

export const providerApi = defineKind({
  group: notificationGroup,
  version: notificationV1beta3,
  kind: 'Provider',
  plural: 'providers',
  categories: notificationCategories,
  schema: ProviderSchema,
  printerColumns: [ageColumn],
  // v1beta1/v1beta2 carry a subset of these fields and provider types, with the same meaning.
  olderVersions: plainOlderVersions('v1beta1', 'v1beta2'),
});

// ---------------------------------------------------------------------------------------
// Alert

export const AlertSpecSchema = Type.Object(
  {
    eventMetadata: Type.Optional(stringMap('Extra metadata added to every event before it is sent.')),
    eventSeverity: Type.Optional(
      stringEnum(['info', 'error'], {
        default: 'info',
        description: 'info forwards every event, error only error events.',
      }),
    ),
    eventSources: Type.Array(Type.Object(notificationObjectReferenceProperties()), {
      description: 'Objects whose events are forwarded.',
    }),
    exclusionList: Type.Optional(
      Type.Array(Type.String(), {
        description: 'Regular expressions; events whose message matches any of them are dropped. Wins over inclusionList.',
      }),
    ),
    inclusionList: Type.Optional(
      Type.Array(Type.String(), {
        description: 'Regular expressions; when set, only events whose message matches one of them are sent.',
      }),
    ),
    providerRef: Type.Object(LocalObjectReferenceSchema.properties, {
      description: 'The Provider, in the same namespace, that sends the notifications.',
    }),
    summary: Type.Optional(
      Type.String({ maxLength: 255, description: 'Deprecated short text added to the events; use eventMetadata.summary.' }),
    ),
    suspend: Type.Optional(Type.Boolean({ description: 'Stops forwarding events while true.' })),
  },
  { description: 'Which events to forward and to which Provider.' },
);
export type AlertSpec = Static<typeof AlertSpecSchema>;

export const AlertSchema = statuslessObjectSchema(
  'Alert',
  'Forwards the events of selected objects to a Provider.',
  AlertSpecSchema,
);
export type Alert = Static<typeof AlertSchema>;

export const alertApi = defineKind({
  group: notificationGroup,
  version: notificationV1beta3,
  kind: 'Alert',
  plural: 'alerts',
  categories: notificationCategories,
  schema: AlertSchema,
  printerColumns: [ageColumn],
  // v1beta1/v1beta2 carry a subset of these fields with the same meaning. Their status
  // (Ready) is gone: Flux v1beta3 Alerts have none.
  olderVersions: plainOlderVersions('v1beta1', 'v1beta2'),
});
