/**
 * The notification dispatcher: every event on the in-process bus is matched against the
 * Alerts in the cache and sent to their Providers. Sending never blocks the controller
 * that recorded the event; a failure is logged with the Provider's name, never its
 * address (a Slack or Discord webhook URL is a credential).
 */
import { createHmac } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import type { Informer } from '../../runtime/cache/informer.ts';
import type { KubeClient } from '../../runtime/client/client.ts';
import type { KubeObject } from '../../runtime/client/objects.ts';
import { parseDuration } from '../../runtime/duration.ts';
import type { EventBus, FlotillaEvent } from '../../runtime/events/recorder.ts';
import type { Logger } from '../../runtime/log/logger.ts';
import { readSecret } from '../secrets/read.ts';
import { notificationEvent, slackMessage } from './payload.ts';
import { alertWants, type AlertLike } from './select.ts';

export const SUPPORTED_PROVIDERS = ['generic', 'generic-hmac', 'slack', 'discord'] as const;

export interface ProviderLike {
  metadata: { name: string; namespace?: string };
  spec: { type: string; address?: string; channel?: string; username?: string; secretRef?: { name: string }; timeout?: string; suspend?: boolean; proxy?: string };
}

export interface DispatcherOptions {
  client: KubeClient;
  bus: EventBus;
  alerts: Informer<KubeObject & AlertLike>;
  providers: Informer<KubeObject & ProviderLike>;
  log: Logger;
  noCrossNamespaceRefs: boolean;
  /** Identical notifications within this window are sent once (Flux's --rate-limit-interval, 5m). */
  rateLimitMs?: number;
}

export class NotificationDispatcher {
  private readonly sent = new Map<string, number>();
  private unsubscribe: (() => void) | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly o: DispatcherOptions) {}

  start(): void {
    this.unsubscribe = this.o.bus.subscribe((e) => {
      const p = this.dispatch(e)
        .catch((err: unknown) => this.o.log.error({ err: err instanceof Error ? err.message : String(err) }, 'notification dispatch failed'))
        .finally(() => this.inFlight.delete(p));
      this.inFlight.add(p);
    });
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    await Promise.allSettled(this.inFlight);
  }

  private async dispatch(e: FlotillaEvent): Promise<void> {
    let labels: Promise<Record<string, string> | undefined> | undefined;
    const lookupLabels = () =>
      (labels ??= this.o.client
        .getMetadata({ apiVersion: e.involvedObject.apiVersion, kind: e.involvedObject.kind, namespace: e.involvedObject.namespace, name: e.involvedObject.name })
        .then((m) => m?.metadata.labels, () => undefined));
    for (const alert of this.o.alerts.list()) {
      if (!(await alertWants(alert, e, lookupLabels, { noCrossNamespaceRefs: this.o.noCrossNamespaceRefs }))) continue;
      const ns = alert.metadata.namespace ?? 'default';
      const provider = this.o.providers.get(`${ns}/${alert.spec.providerRef.name}`);
      const log = this.o.log.child({ controllerKind: 'Alert', name: alert.metadata.name, namespace: ns });
      if (!provider) {
        log.warn({ provider: alert.spec.providerRef.name }, 'the Alert names a Provider that does not exist');
        continue;
      }
      if (provider.spec.suspend) continue;
      const extra = { ...(alert.spec.eventMetadata ?? {}) };
      const summary = alert.spec.summary;
      if (summary && !extra['summary']) extra['summary'] = summary;
      const event = notificationEvent(e, extra);
      const key = JSON.stringify([ns, provider.metadata.name, event.involvedObject, event.reason, event.message, event.metadata ?? {}]);
      const now = Date.now();
      const last = this.sent.get(key);
      if (last !== undefined && now - last < (this.o.rateLimitMs ?? 5 * 60_000)) continue;
      this.sent.set(key, now);
      if (this.sent.size > 10_000) this.sent.delete(this.sent.keys().next().value as string);
      try {
        await this.send(provider, event);
      } catch (err) {
        log.error({ provider: provider.metadata.name, err: err instanceof Error ? err.message : String(err) }, 'failed to send the notification');
      }
    }
  }

  private async send(provider: KubeObject & ProviderLike, event: ReturnType<typeof notificationEvent>): Promise<void> {
    const ns = provider.metadata.namespace ?? 'default';
    const type = provider.spec.type;
    if (!(SUPPORTED_PROVIDERS as readonly string[]).includes(type)) throw new Error(`Provider type '${type}' is not supported by Flotilla yet; supported: ${SUPPORTED_PROVIDERS.join(', ')}`);
    const secret = provider.spec.secretRef ? await readSecret(this.o.client, ns, provider.spec.secretRef.name, 'ValidationFailed', 'spec.secretRef') : {};
    const address = secret['address'] ?? provider.spec.address;
    if (!address) throw new Error('the Provider has no address (spec.address or the secret key address)');
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (secret['headers']) {
      const parsed = parseYaml(secret['headers']) as unknown;
      if (parsed && typeof parsed === 'object') for (const [k, v] of Object.entries(parsed)) headers[k] = String(v);
    }
    let url = address;
    let body: string;
    if (type === 'slack' || type === 'discord') {
      body = JSON.stringify(slackMessage(event, { channel: provider.spec.channel, username: provider.spec.username }));
      if (type === 'discord' && !/\/slack\/?$/.test(url)) url = `${url.replace(/\/$/, '')}/slack`;
      if (type === 'slack' && secret['token']) headers['authorization'] = `Bearer ${secret['token']}`;
    } else {
      body = JSON.stringify(event);
      if (type === 'generic-hmac') {
        if (!secret['token']) throw new Error("a generic-hmac Provider needs a 'token' key in its secret");
        headers['x-signature'] = `sha256=${createHmac('sha256', secret['token']).update(body).digest('hex')}`;
      }
    }
    const timeoutMs = parseDuration(provider.spec.timeout) ?? 15_000;
    const res = await fetch(url, { method: 'POST', body, headers, signal: AbortSignal.timeout(timeoutMs) }).catch((err: unknown) => {
      // the URL stays out of the message: it may hold a webhook secret
      throw new Error(`the request failed: ${err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message).replace(url, '<address>') : 'unknown error'}`);
    });
    await res.arrayBuffer().catch(() => undefined);
    if (res.status >= 300) throw new Error(`the Provider's endpoint answered HTTP ${res.status}`);
  }
}
