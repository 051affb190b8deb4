import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { KubeObject } from '../../src/runtime/client/objects.ts';
import { eventually, useCluster } from '../harness/cluster.ts';
import { startTestOperator, type TestOperator } from '../harness/operator.ts';

const cluster = useCluster();
const HMAC_TOKEN = 'notify-hmac-7d2a';
let op: TestOperator;
let ns: string;
let server: http.Server;
let base: string;
const received: Array<{ path: string; headers: http.IncomingHttpHeaders; body: string }> = [];

const BETA3 = 'notification.toolkit.fluxcd.io/v1beta3';

async function apply(obj: Record<string, unknown>): Promise<void> {
  await cluster.get().client.apply(obj as KubeObject, { fieldManager: 'test', force: true });
}

/** A GitRepository that fails at once (nothing listens on port 9): a Warning event to forward. */
async function failingRepo(name: string, labels: Record<string, string> = {}): Promise<void> {
  await apply({ apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: { name, namespace: ns, labels }, spec: { interval: '1h', url: `http://127.0.0.1:9/${name}.git`, ref: { branch: 'main' }, timeout: '2s' } });
}

const bodiesAt = (p: string) => received.filter((r) => r.path === p);

before(async () => {
  ns = await cluster.get().namespace('notify');
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(req.url === '/broken' ? 500 : 200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  await apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'hmac', namespace: ns }, stringData: { token: HMAC_TOKEN, address: `${base}/hmac`, headers: 'X-Team: web\n' } });
  await apply({ apiVersion: BETA3, kind: 'Provider', metadata: { name: 'generic', namespace: ns }, spec: { type: 'generic', address: `${base}/generic` } });
  await apply({ apiVersion: BETA3, kind: 'Provider', metadata: { name: 'hmac', namespace: ns }, spec: { type: 'generic-hmac', secretRef: { name: 'hmac' } } });
  await apply({ apiVersion: BETA3, kind: 'Provider', metadata: { name: 'slack', namespace: ns }, spec: { type: 'slack', address: `${base}/slack`, channel: '#ops', username: 'flotilla' } });
  op = await startTestOperator(cluster.get().kubeconfigPath, ns);
});

after(async () => {
  await op?.stop();
  await new Promise<void>((r) => server.close(() => r()));
});

test("events reach a generic Provider as Flux's event JSON, with the Alert's metadata", async () => {
  await apply({ apiVersion: BETA3, kind: 'Alert', metadata: { name: 'all-git', namespace: ns }, spec: { providerRef: { name: 'generic' }, eventSources: [{ kind: 'GitRepository', name: 'one' }], eventMetadata: { cluster: 'test' } } });
  await failingRepo('one');
  const got = await eventually(() => bodiesAt('/generic')[0], 30_000, 'a notification');
  const payload = JSON.parse(got.body) as { involvedObject: { kind: string; name: string; namespace: string }; severity: string; reason: string; message: string; metadata?: Record<string, string>; reportingController: string };
  assert.deepEqual([payload.involvedObject.kind, payload.involvedObject.name, payload.involvedObject.namespace], ['GitRepository', 'one', ns]);
  assert.equal(payload.severity, 'error');
  assert.equal(payload.reportingController, 'source-controller');
  assert.match(payload.message, /127\.0\.0\.1:9/);
  assert.equal(payload.metadata?.['cluster'], 'test');
});

test('generic-hmac signs with the secret token, sends its headers; Slack gets attachments; filters apply', async () => {
  await apply({ apiVersion: BETA3, kind: 'Alert', metadata: { name: 'signed', namespace: ns }, spec: { providerRef: { name: 'hmac' }, eventSeverity: 'error', eventSources: [{ kind: 'GitRepository', name: '*', matchLabels: { team: 'web' } }] } });
  await apply({ apiVersion: BETA3, kind: 'Alert', metadata: { name: 'chat', namespace: ns }, spec: { providerRef: { name: 'slack' }, exclusionList: ['no-such-words'], eventSources: [{ kind: 'GitRepository', name: 'web' }] } });
  await failingRepo('web', { team: 'web' });
  await failingRepo('db', { team: 'db' });
  const signed = await eventually(() => bodiesAt('/hmac')[0], 30_000, 'a signed notification');
  assert.equal(signed.headers['x-signature'], `sha256=${createHmac('sha256', HMAC_TOKEN).update(signed.body).digest('hex')}`);
  assert.equal(signed.headers['x-team'], 'web');
  assert.equal((JSON.parse(signed.body) as { involvedObject: { name: string } }).involvedObject.name, 'web');
  const slack = await eventually(() => bodiesAt('/slack')[0], 30_000, 'a Slack message');
  const msg = JSON.parse(slack.body) as { channel: string; username: string; attachments: Array<{ color: string; author_name: string }> };
  assert.equal(msg.channel, '#ops');
  assert.equal(msg.username, 'flotilla');
  assert.equal(msg.attachments[0]?.color, 'danger');
  assert.equal(msg.attachments[0]?.author_name, `GitRepository/web.${ns}`);
  // the db repository fails too, but its label does not match
  await new Promise((r) => setTimeout(r, 2000));
  assert.ok(bodiesAt('/hmac').every((b) => (JSON.parse(b.body) as { involvedObject: { name: string } }).involvedObject.name === 'web'));
  assert.ok(!received.some((r) => r.body.includes(HMAC_TOKEN)), 'the token is never sent');
});
