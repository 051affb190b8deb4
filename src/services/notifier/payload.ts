/**
 * What a Provider receives, in the shapes Flux's notification-controller sends: the
 * event itself as JSON for `generic` and `generic-hmac`, Slack's attachment message for
 * `slack` (and `discord`, through its Slack-compatible endpoint).
 */
import type { FlotillaEvent } from '../../runtime/events/recorder.ts';

/** Flux's event JSON: metadata keys without the API group prefix the events carry in-cluster. */
export interface NotificationEvent {
  involvedObject: { kind: string; namespace: string; name: string; uid?: string; apiVersion: string };
  severity: 'info' | 'error';
  timestamp: string;
  message: string;
  reason: string;
  metadata?: Record<string, string>;
  reportingController: string;
  reportingInstance?: string;
}

export function notificationEvent(e: FlotillaEvent, extra: Record<string, string> = {}): NotificationEvent {
  const metadata: Record<string, string> = { ...extra };
  // the event's own metadata wins over the Alert's eventMetadata
  for (const [k, v] of Object.entries(e.metadata)) metadata[k.includes('/') ? k.slice(k.indexOf('/') + 1) : k] = v;
  const o = e.involvedObject;
  return {
    involvedObject: { kind: o.kind, namespace: o.namespace, name: o.name, ...(o.uid ? { uid: o.uid } : {}), apiVersion: o.apiVersion },
    severity: e.severity,
    timestamp: e.timestamp,
    message: e.message,
    reason: e.reason,
    ...(Object.keys(metadata).length ? { metadata } : {}),
    reportingController: e.reportingController,
  };
}

export interface SlackMessage {
  channel?: string;
  username?: string;
  attachments: Array<{
    color: 'good' | 'danger';
    author_name: string;
    text: string;
    mrkdwn_in: string[];
    fields?: Array<{ title: string; value: string; short: boolean }>;
  }>;
}

export function slackMessage(e: NotificationEvent, opts: { channel?: string | undefined; username?: string | undefined }): SlackMessage {
  const o = e.involvedObject;
  const fields = Object.entries(e.metadata ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([title, value]) => ({ title, value, short: false }));
  return {
    ...(opts.channel ? { channel: opts.channel } : {}),
    ...(opts.username ? { username: opts.username } : {}),
    attachments: [
      {
        color: e.severity === 'error' ? 'danger' : 'good',
        author_name: `${o.kind}/${o.name}.${o.namespace}`,
        text: e.message,
        mrkdwn_in: ['text'],
        ...(fields.length ? { fields } : {}),
      },
    ],
  };
}
