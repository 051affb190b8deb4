import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import type { KubeObject } from '../../src/runtime/client/objects.ts';
import { eventually, useCluster } from '../harness/cluster.ts';
import { startTestOperator, type TestOperator } from '../harness/operator.ts';

const cluster = useCluster();
const TOKEN = 'receiver-token-4c1f';
let op: TestOperator;
let ns: string;

type Flux = KubeObject & { status?: { conditions?: Array<{ type: string; status: string; reason: string; message: string }>; webhookPath?: string } };
const NOTIFICATION = 'notification.toolkit.fluxcd.io/v1';
const SOURCE = 'source.toolkit.fluxcd.io/v1';
const readyOf = (o: Flux | undefined) => o?.status?.conditions?.find((c) => c.type === 'Ready');
const requestedAt = async (name: string) =>
  (await cluster.get().client.get<KubeObject>({ apiVersion: SOURCE, kind: 'GitRepository', namespace: ns, name }))?.metadata.annotations?.['reconcile.fluxcd.io/requestedAt'];

async function receiver(name: string, spec: Record<string, unknown>): Promise<Flux> {
  await cluster.get().client.apply({ apiVersion: NOTIFICATION, kind: 'Receiver', metadata: { name, namespace: ns }, spec: { secretRef: { name: 'webhook-token' }, ...spec } } as KubeObject, { fieldManager: 'test', force: true });
  return eventually(async () => {
    const o = await cluster.get().client.get<Flux>({ apiVersion: NOTIFICATION, kind: 'Receiver', namespace: ns, name });
    return o && readyOf(o) && o.status?.['observedGeneration' as never] === o.metadata.generation ? o : undefined;
  }, 20_000, `Receiver ${name} reconciled`);
}

async function post(path: string, body: string, headers: Record<string, string> = {}): Promise<number> {
  return (await fetch(`${op.urls.receiver}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } })).status;
}

async function gitRepository(name: string, labels: Record<string, string> = {}): Promise<void> {
  await cluster.get().client.apply(
    { apiVersion: SOURCE, kind: 'GitRepository', metadata: { name, namespace: ns, labels }, spec: { interval: '1h', url: 'http://127.0.0.1:9/none.git', ref: { branch: 'main' }, timeout: '1s' } } as KubeObject,
    { fieldManager: 'test' },
  );
}

before(async () => {
  ns = await cluster.get().namespace('receiver');
  await cluster.get().client.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'webhook-token', namespace: ns }, stringData: { token: TOKEN } } as KubeObject, { fieldManager: 'test' });
  op = await startTestOperator(cluster.get().kubeconfigPath, ns);
});

after(async () => {
  await op?.stop();
});

test('a generic Receiver publishes its path and asks for a reconcile of what it lists', async () => {
  await gitRepository('target');
  const r = await receiver('generic', { type: 'generic', resources: [{ kind: 'GitRepository', name: 'target' }] });
  const path = `/hook/${createHash('sha256').update(TOKEN + 'generic' + ns).digest('hex')}`;
  assert.equal(r.status?.webhookPath, path, "Flux's path: sha256 of token, name and namespace");
  assert.equal(readyOf(r)?.message, `Receiver initialized for path: ${path}`);
  assert.equal(await requestedAt('target'), undefined);
  assert.equal(await post(path, '{}'), 200);
  assert.ok(await requestedAt('target'), 'requestedAt set');
  assert.equal(await post('/hook/0000', '{}'), 404);
});

test('github: the signature and the event decide; wildcards follow matchLabels', async () => {
  await gitRepository('labelled', { team: 'web' });
  await gitRepository('unlabelled');
  const r = await receiver('github', { type: 'github', events: ['push'], resources: [{ kind: 'GitRepository', name: '*', matchLabels: { team: 'web' } }] });
  const body = '{"ref":"refs/heads/main"}';
  const sig = (token: string) => `sha256=${createHmac('sha256', token).update(body).digest('hex')}`;
  assert.equal(await post(r.status!.webhookPath!, body, { 'X-Hub-Signature-256': sig('wrong'), 'X-GitHub-Event': 'push' }), 400);
  assert.equal(await post(r.status!.webhookPath!, body, { 'X-Hub-Signature-256': sig(TOKEN), 'X-GitHub-Event': 'release' }), 400);
  assert.equal(await requestedAt('labelled'), undefined, 'refused requests change nothing');
  assert.equal(await post(r.status!.webhookPath!, body, { 'X-Hub-Signature-256': sig(TOKEN), 'X-GitHub-Event': 'push' }), 200);
  assert.ok(await requestedAt('labelled'));
  assert.equal(await requestedAt('unlabelled'), undefined);
});

test('suspended: 503; unsupported types and a missing token are reported on the Receiver', async () => {
  await gitRepository('quiet');
  const r = await receiver('paused', { type: 'generic', suspend: false, resources: [{ kind: 'GitRepository', name: 'quiet' }] });
  await cluster.get().client.patch({ apiVersion: NOTIFICATION, kind: 'Receiver', namespace: ns, name: 'paused' }, { spec: { suspend: true } });
  // requests sent before the operator saw the change may still be served: compare from the first 503 on
  await eventually(async () => (await post(r.status!.webhookPath!, '{}')) === 503, 10_000, 'a suspended Receiver answers 503');
  const before = await requestedAt('quiet');
  assert.equal(await post(r.status!.webhookPath!, '{}'), 503);
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal(await requestedAt('quiet'), before, 'a suspended Receiver annotates nothing');

  const quay = await receiver('quay', { type: 'quay', resources: [{ kind: 'GitRepository', name: 'quiet' }] });
  assert.equal(readyOf(quay)?.reason, 'ValidationFailed');
  assert.match(readyOf(quay)!.message, /type 'quay' is not supported by Flotilla yet/);
  const missing = await receiver('no-token', { type: 'generic', secretRef: { name: 'absent' }, resources: [{ kind: 'GitRepository', name: 'quiet' }] });
  assert.equal(readyOf(missing)?.status, 'False');
  assert.match(readyOf(missing)!.message, /secret '.*\/absent' not found/);
  assert.equal(missing.status?.webhookPath, undefined);
});
