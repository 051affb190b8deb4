import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlotillaEvent } from '../../runtime/events/recorder.ts';
import { notificationEvent, slackMessage } from './payload.ts';
import { alertWants, type AlertLike } from './select.ts';

const event = (over: Partial<FlotillaEvent> = {}): FlotillaEvent => ({
  involvedObject: { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', name: 'apps', namespace: 'flux-system', uid: 'u1' },
  type: 'Warning',
  severity: 'error',
  reason: 'HealthCheckFailed',
  message: 'timeout waiting for: [Deployment/apps/web]',
  metadata: { 'kustomize.toolkit.fluxcd.io/revision': 'main@sha1:abc' },
  reportingController: 'kustomize-controller',
  timestamp: '2026-01-01T00:00:00Z',
  ...over,
});

const alert = (spec: Partial<AlertLike['spec']> = {}): AlertLike => ({
  metadata: { name: 'a', namespace: 'flux-system' },
  spec: { eventSources: [{ kind: 'Kustomization', name: '*' }], providerRef: { name: 'p' }, ...spec },
});

const noLabels = async () => undefined;
const opts = { noCrossNamespaceRefs: false };

test("the generic payload is Flux's event JSON, metadata without the group prefix", () => {
  const p = notificationEvent(event(), { env: 'prod', revision: 'ignored' });
  assert.deepEqual(p.involvedObject, { kind: 'Kustomization', namespace: 'flux-system', name: 'apps', uid: 'u1', apiVersion: 'kustomize.toolkit.fluxcd.io/v1' });
  assert.deepEqual(p.metadata, { env: 'prod', revision: 'main@sha1:abc' }, "the event's own metadata wins");
  assert.equal(p.severity, 'error');
  const s = slackMessage(p, { channel: '#ops', username: 'flux' });
  assert.equal(s.channel, '#ops');
  assert.equal(s.attachments[0]?.color, 'danger');
  assert.equal(s.attachments[0]?.author_name, 'Kustomization/apps.flux-system');
  assert.deepEqual(s.attachments[0]?.fields?.map((f) => f.title), ['env', 'revision']);
});

test('alerts match by kind, name or *, namespace, severity, labels and message lists', async () => {
  assert.equal(await alertWants(alert(), event(), noLabels, opts), true);
  assert.equal(await alertWants(alert({ eventSeverity: 'error' }), event({ severity: 'info', type: 'Normal' }), noLabels, opts), false);
  assert.equal(await alertWants(alert({ eventSources: [{ kind: 'Kustomization', name: 'other' }] }), event(), noLabels, opts), false);
  assert.equal(await alertWants(alert({ eventSources: [{ kind: 'GitRepository', name: '*' }] }), event(), noLabels, opts), false);
  assert.equal(await alertWants(alert({ eventSources: [{ kind: 'Kustomization', name: 'apps', namespace: 'elsewhere' }] }), event(), noLabels, opts), false);
  const labelled = alert({ eventSources: [{ kind: 'Kustomization', name: '*', matchLabels: { team: 'web' } }] });
  assert.equal(await alertWants(labelled, event(), async () => ({ team: 'web' }), opts), true);
  assert.equal(await alertWants(labelled, event(), async () => ({ team: 'db' }), opts), false);
  assert.equal(await alertWants(alert({ inclusionList: ['^timeout'] }), event(), noLabels, opts), true);
  assert.equal(await alertWants(alert({ inclusionList: ['^Reconciliation'] }), event(), noLabels, opts), false);
  assert.equal(await alertWants(alert({ exclusionList: ['Deployment/apps/.*'] }), event(), noLabels, opts), false);
  assert.equal(await alertWants(alert({ suspend: true }), event(), noLabels, opts), false);
  const cross = alert({ eventSources: [{ kind: 'Kustomization', name: '*', namespace: 'flux-system' }] });
  cross.metadata.namespace = 'team-a';
  assert.equal(await alertWants(cross, event(), noLabels, { noCrossNamespaceRefs: true }), false, 'lockdown ignores other namespaces');
});
