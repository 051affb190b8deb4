import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Header } from 'tar';
import { runFlotilla } from '../../src/cli/commands/testing.ts';
import type { KubeObject } from '../../src/runtime/client/objects.ts';
import { extractTarGz } from '../../src/services/artifacts/index.ts';
import { endOfArchive, paddingFor } from '../../src/services/artifacts/tar-header.ts';
import { eventually, useCluster } from '../harness/cluster.ts';
import { canMakeCertificates, startOciRegistry, type OciRegistry } from '../harness/oci-registry.ts';
import { startTestOperator, type TestOperator } from '../harness/operator.ts';

const cluster = useCluster();
const CANARY = 'canary-oci-Pa55-91c2';
let registry: OciRegistry;
let secured: OciRegistry;
let op: TestOperator;
let ns: string;

interface OciRepo extends KubeObject {
  status?: {
    artifact?: { revision: string; digest: string; url: string; path: string; metadata?: Record<string, string> };
    conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
    observedGeneration?: number;
    observedLayerSelector?: { mediaType?: string; operation?: string };
  };
}

const SRC = 'source.toolkit.fluxcd.io/v1';
const ref = (name: string) => ({ apiVersion: SRC, kind: 'OCIRepository', namespace: ns, name });
const ready = (o: OciRepo | undefined) => o?.status?.conditions?.find((c) => c.type === 'Ready');

/** A gzipped tarball of `files` (a symlink when the value starts with `->`). */
function tarGz(files: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, body] of Object.entries(files)) {
    const link = body.startsWith('->') ? body.slice(2) : undefined;
    const content = Buffer.from(link ? '' : body);
    const header = Buffer.alloc(512);
    new Header({ path: name, mode: 0o644, uid: 0, gid: 0, mtime: new Date(0), size: content.length, type: link ? 'SymbolicLink' : 'File', ...(link ? { linkpath: link } : {}) }).encode(header, 0);
    parts.push(header, content, Buffer.alloc(paddingFor(content.length)));
  }
  parts.push(endOfArchive());
  return gzipSync(Buffer.concat(parts));
}

async function apply(name: string, spec: Record<string, unknown>): Promise<void> {
  await cluster.get().client.apply({ apiVersion: SRC, kind: 'OCIRepository', metadata: { name, namespace: ns }, spec: { interval: '1m', insecure: true, ...spec } } as KubeObject, { fieldManager: 'test', force: true });
}

async function waitReady(name: string, pred: (o: OciRepo) => boolean = () => true): Promise<OciRepo> {
  return eventually(async () => {
    const o = await cluster.get().client.get<OciRepo>(ref(name));
    return o && ready(o)?.status === 'True' && o.status?.observedGeneration === o.metadata.generation && pred(o) ? o : undefined;
  }, 30_000, `${name} Ready`);
}

async function waitFailed(name: string, pred: (msg: string) => boolean = () => true): Promise<OciRepo> {
  return eventually(async () => {
    const o = await cluster.get().client.get<OciRepo>(ref(name));
    return ready(o)?.status === 'False' && pred(ready(o)?.message ?? '') ? o : undefined;
  }, 30_000, `${name} Ready=False`);
}

/** Asks for a reconcile; the returned promise-maker waits until the operator has handled that very request. */
async function reconcileNow(name: string): Promise<() => Promise<unknown>> {
  const stamp = `${Date.now()}-${Math.random()}`;
  await cluster.get().client.patch(ref(name), { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': stamp } } });
  return () => eventually(async () => (await cluster.get().client.get<OciRepo>(ref(name)))?.status?.['lastHandledReconcileAt' as never] === stamp, 15_000, `${name} handled ${stamp}`);
}

async function artifactFiles(o: OciRepo): Promise<string[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'oci-artifact-'));
  try {
    const res = await fetch(o.status!.artifact!.url);
    assert.equal(res.status, 200);
    await writeFile(path.join(dir, 'a.tgz'), Buffer.from(await res.arrayBuffer()));
    await extractTarGz(path.join(dir, 'a.tgz'), path.join(dir, 'x'));
    return ((await readdir(path.join(dir, 'x'), { recursive: true })) as string[]).sort();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function eventsFor(name: string): Promise<Array<{ type: string; reason: string; message: string }>> {
  const list = await cluster.get().client.list('v1', 'Event', { namespace: ns });
  return list.items.filter((e) => (e['involvedObject'] as { name: string }).name === name).map((e) => ({ type: String(e['type']), reason: String(e['reason']), message: String(e['message']) }));
}

before(async () => {
  ns = await cluster.get().namespace('ocirepo');
  registry = await startOciRegistry();
  secured = await startOciRegistry({ username: 'robot', password: CANARY });
  op = await startTestOperator(cluster.get().kubeconfigPath, ns);
});

after(async () => {
  await op?.stop();
  await registry?.close();
  await secured?.close();
});

test('tag, semver and digest refs; a new push is a new revision with one NewArtifact event', async () => {
  const annotations = { 'org.opencontainers.image.revision': 'main@sha1:0123456789abcdef0123456789abcdef01234567', 'org.opencontainers.image.source': 'https://example.com/app.git' };
  const d1 = await registry.push('app/manifests', 'v1.0.0', [{ data: tarGz({ 'deploy/cm.yaml': 'kind: ConfigMap\n', 'README.md': '# app\n' }) }], annotations);
  await registry.push('app/manifests', 'v1.1.0', [{ data: tarGz({ 'deploy/cm.yaml': 'kind: ConfigMap\n', 'extra.yaml': 'kind: Secret\n' }) }]);
  await registry.push('app/manifests', 'v2.0.0-rc.1', [{ data: tarGz({ 'rc.yaml': 'x: 1\n' }) }]);

  await apply('by-tag', { url: registry.url('app/manifests'), ref: { tag: 'v1.0.0' } });
  const byTag = await waitReady('by-tag');
  assert.equal(byTag.status?.artifact?.revision, `v1.0.0@${d1}`);
  assert.equal(ready(byTag)?.message, `stored artifact for digest 'v1.0.0@${d1}'`);
  assert.deepEqual(byTag.status?.artifact?.metadata, annotations);
  assert.deepEqual(await artifactFiles(byTag), ['README.md', 'deploy', 'deploy/cm.yaml']);
  assert.deepEqual(byTag.status?.observedLayerSelector, { operation: 'extract' });

  await apply('by-semver', { url: registry.url('app/manifests'), ref: { semver: '>=1.0.0' } });
  assert.match((await waitReady('by-semver')).status!.artifact!.revision, /^v1\.1\.0@sha256:/);
  await apply('by-digest', { url: registry.url('app/manifests'), ref: { digest: d1 } });
  assert.equal((await waitReady('by-digest')).status?.artifact?.revision, d1);

  // a new push under the followed tag
  await apply('latest', { url: registry.url('app/manifests') });
  await registry.push('app/manifests', 'latest', [{ data: tarGz({ 'one.yaml': 'a: 1\n' }) }]);
  const first = await waitReady('latest');
  const d2 = await registry.push('app/manifests', 'latest', [{ data: tarGz({ 'two.yaml': 'b: 2\n' }) }]);
  await reconcileNow('latest');
  const second = await waitReady('latest', (o) => o.status?.artifact?.revision === `latest@${d2}`);
  assert.notEqual(second.status?.artifact?.revision, first.status?.artifact?.revision);
  assert.deepEqual(await artifactFiles(second), ['two.yaml']);
  const newArtifacts = (await eventsFor('latest')).filter((e) => e.reason === 'NewArtifact');
  assert.equal(newArtifacts.length, 2);
  assert.ok(newArtifacts.some((e) => e.message === `stored artifact with revision 'latest@${d2}' from '${registry.url('app/manifests')}'`), JSON.stringify(newArtifacts));
  await (await reconcileNow('latest'))();
  assert.equal((await eventsFor('latest')).filter((e) => e.reason === 'NewArtifact').length, 2, 'an unchanged digest is no new artifact');
});

test('layerSelector extract and copy; ignore', async () => {
  const chart = gzipSync(Buffer.from('pretend this is a chart'));
  await registry.push('layers', 'v1', [
    { data: tarGz({ 'a.yaml': 'a: 1\n', 'docs/b.md': '# b\n' }) },
    { mediaType: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip', data: chart },
  ]);
  await apply('copy', { url: registry.url('layers'), ref: { tag: 'v1' }, layerSelector: { mediaType: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip', operation: 'copy' } });
  const copied = await waitReady('copy');
  const body = Buffer.from(await (await fetch(copied.status!.artifact!.url)).arrayBuffer());
  assert.deepEqual(body, chart, 'copy stores the layer as it is');
  await apply('ignore', { url: registry.url('layers'), ref: { tag: 'v1' }, ignore: 'docs/\n' });
  assert.deepEqual(await artifactFiles(await waitReady('ignore')), ['a.yaml']);
  await apply('no-such-layer', { url: registry.url('layers'), ref: { tag: 'v1' }, layerSelector: { mediaType: 'application/x-nothing' } });
  const missing = await waitFailed('no-such-layer');
  assert.equal(ready(missing)?.reason, 'OCIArtifactLayerOperationFailed');
  assert.match(ready(missing)!.message, /no layer of media type 'application\/x-nothing'/);
});

test('a registry with a token service: credentials from a dockerconfigjson Secret, never shown; a poll downloads nothing', async () => {
  await secured.push('private/app', 'v1', [{ data: tarGz({ 'p.yaml': 'p: 1\n' }) }]);
  await apply('anonymous', { url: secured.url('private/app'), ref: { tag: 'v1' } });
  const refused = await waitFailed('anonymous');
  assert.equal(ready(refused)?.reason, 'AuthenticationFailed');
  assert.match(ready(refused)!.message, /refused anonymous access/);

  const dockerconfig = JSON.stringify({ auths: { [secured.host]: { auth: Buffer.from(`robot:${CANARY}`).toString('base64') } } });
  await cluster.get().client.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'regcred', namespace: ns }, type: 'kubernetes.io/dockerconfigjson', stringData: { '.dockerconfigjson': dockerconfig } } as KubeObject, { fieldManager: 'test' });
  await apply('with-secret', { url: secured.url('private/app'), ref: { tag: 'v1' }, secretRef: { name: 'regcred' } });
  assert.deepEqual(await artifactFiles(await waitReady('with-secret')), ['p.yaml']);
  assert.ok(secured.requests.some((r) => r.path === '/token' && r.status === 200), 'the token service was used');
  // a poll with nothing new resolves the tag and downloads nothing
  secured.requests.length = 0;
  await (await reconcileNow('with-secret'))();
  assert.ok(secured.requests.some((r) => r.method === 'HEAD' && r.path.endsWith('/manifests/v1')), JSON.stringify(secured.requests));
  assert.deepEqual(secured.requests.filter((r) => r.path.includes('/blobs/') || r.method === 'GET' && r.path.includes('/manifests/')), [], 'no manifest or blob download');

  const wrong = JSON.stringify({ auths: { [secured.host]: { username: 'robot', password: 'Wr0ng-Pa55-e81b' } } });
  await cluster.get().client.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'badcred', namespace: ns }, type: 'kubernetes.io/dockerconfigjson', stringData: { '.dockerconfigjson': wrong } } as KubeObject, { fieldManager: 'test' });
  await apply('wrong-secret', { url: secured.url('private/app'), ref: { tag: 'v1' }, secretRef: { name: 'badcred' } });
  assert.match(ready(await waitFailed('wrong-secret'))!.message, /token service .* refused the credentials/);

  const everything = JSON.stringify((await cluster.get().client.list('v1', 'Event', { namespace: ns })).items) + JSON.stringify((await cluster.get().client.list(SRC, 'OCIRepository', { namespace: ns })).items.map((o) => o['status']));
  assert.ok(!everything.includes(CANARY) && !everything.includes('Wr0ng-Pa55-e81b'), 'no credential in status or events');
});

test('bad input: clear Ready=False, a Warning event, and the previous artifact stays', async () => {
  await registry.push('bad', 'v1', [{ data: tarGz({ 'ok.yaml': 'ok: 1\n' }) }]);
  await apply('bad', { url: registry.url('bad'), ref: { tag: 'v1' } });
  const good = await waitReady('bad');

  // a layer escaping the artifact: refused, the v1 artifact is kept and served
  await registry.push('bad', 'v2', [{ data: tarGz({ 'ok.yaml': 'ok: 2\n', '../escape.yaml': 'x\n' }) }]);
  await apply('bad', { url: registry.url('bad'), ref: { tag: 'v2' } });
  const escaped = await waitFailed('bad', (m) => /escape/.test(m));
  assert.equal(ready(escaped)?.reason, 'OCIArtifactLayerOperationFailed');
  assert.equal(escaped.status?.artifact?.revision, good.status?.artifact?.revision);
  assert.equal((await fetch(good.status!.artifact!.url)).status, 200);
  await registry.push('bad', 'v3', [{ data: tarGz({ 'link': '->/etc/passwd' }) }]);
  await apply('bad', { url: registry.url('bad'), ref: { tag: 'v3' } });
  assert.match(ready(await waitFailed('bad', (m) => /link/.test(m)))!.message, /symlink/);
  assert.ok((await eventsFor('bad')).some((e) => e.type === 'Warning' && e.reason === 'OCIArtifactLayerOperationFailed'));

  // an unknown tag, a missing secret, an unreachable registry, a URL with a tag
  await apply('unknown-tag', { url: registry.url('bad'), ref: { tag: 'nope' } });
  assert.match(ready(await waitFailed('unknown-tag'))!.message, /'nope' not found/);
  await apply('no-secret', { url: registry.url('bad'), secretRef: { name: 'missing' } });
  assert.match(ready(await waitFailed('no-secret'))!.message, /secret '.*\/missing' not found/);
  await apply('unreachable', { url: 'oci://127.0.0.1:9/app', timeout: '3s' });
  assert.match(ready(await waitFailed('unreachable'))!.message, /cannot reach 127\.0\.0\.1:9/);
  await apply('tagged-url', { url: 'oci://127.0.0.1:9/app:v1' });
  const stalled = await waitFailed('tagged-url');
  assert.equal(ready(stalled)?.reason, 'URLInvalid');
  assert.equal(stalled.status?.conditions?.find((c) => c.type === 'Stalled')?.status, 'True');
});

test('not supported yet: verify and cloud providers stall, saying so; a later failure keeps the artifact', async () => {
  await registry.push('kept', 'v1', [{ data: tarGz({ 'k.yaml': 'k: 1\n' }) }]);
  await apply('verify', { url: registry.url('kept'), ref: { tag: 'v1' }, verify: { provider: 'cosign' } });
  const v = await waitFailed('verify');
  assert.equal(ready(v)?.reason, 'VerificationError');
  assert.match(ready(v)!.message, /signature verification .*cosign.* is not supported/);
  assert.equal(v.status?.conditions?.find((c) => c.type === 'Stalled')?.status, 'True');
  assert.equal(v.status?.artifact, undefined, 'nothing unverified is stored');
  await apply('aws', { url: registry.url('kept'), ref: { tag: 'v1' }, provider: 'aws' });
  const a = await waitFailed('aws');
  assert.match(ready(a)!.message, /provider 'aws' .* not supported/);
  assert.equal(a.status?.conditions?.find((c) => c.type === 'Stalled')?.status, 'True');

  await apply('kept', { url: registry.url('kept'), ref: { tag: 'v1' } });
  const good = await waitReady('kept');
  await apply('kept', { url: registry.url('kept'), ref: { tag: 'gone' } });
  const failed = await waitFailed('kept');
  assert.equal(ready(failed)?.reason, 'OCIArtifactPullFailed');
  assert.equal(failed.status?.conditions?.find((c) => c.type === 'FetchFailed')?.status, 'True');
  assert.equal(failed.status?.artifact?.revision, good.status?.artifact?.revision);
  assert.equal((await fetch(good.status!.artifact!.url)).status, 200, 'the previous artifact is still served');
  assert.ok((await eventsFor('kept')).some((e) => e.type === 'Warning' && e.reason === 'OCIArtifactPullFailed' && /'gone' not found/.test(e.message)));
});

test('a registry that never answers fails within spec.timeout', async () => {
  const silent = http.createServer(() => undefined);
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  try {
    const started = Date.now();
    await apply('silent', { url: `oci://127.0.0.1:${(silent.address() as { port: number }).port}/app`, ref: { tag: 'v1' }, timeout: '2s' });
    const o = await waitFailed('silent');
    assert.match(ready(o)!.message, /did not (answer|finish) within/);
    assert.equal(ready(o)?.reason, 'OCIArtifactPullFailed');
    assert.ok(Date.now() - started < 15_000);
    assert.ok((await eventsFor('silent')).some((e) => e.type === 'Warning'));
  } finally {
    silent.closeAllConnections();
    await new Promise((r) => silent.close(r));
  }
});

test('HTTPS with certSecretRef: the CA and a client certificate; fixing the Secret requeues at once', async (t) => {
  if (!(await canMakeCertificates())) return t.skip('openssl is not installed');
  const c = cluster.get().client;
  const tlsReg = await startOciRegistry({ tls: { clientAuth: true } });
  try {
    const certs = tlsReg.tls!;
    await tlsReg.push('secure/app', 'v1', [{ data: tarGz({ 's.yaml': 's: 1\n' }) }]);
    await apply('tls-unknown-ca', { url: tlsReg.url('secure/app'), ref: { tag: 'v1' }, insecure: false });
    assert.match(ready(await waitFailed('tls-unknown-ca'))!.message, /cannot reach .*certificate/);

    const secret = (data: Record<string, string>, name = 'registry-tls') =>
      c.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, stringData: data } as KubeObject, { fieldManager: 'test', force: true });
    await secret({ 'ca.crt': certs.ca }, 'registry-ca');
    await apply('tls-no-client-cert', { url: tlsReg.url('secure/app'), ref: { tag: 'v1' }, insecure: false, certSecretRef: { name: 'registry-ca' } });
    assert.equal(ready(await waitFailed('tls-no-client-cert'))?.reason, 'OCIArtifactPullFailed', 'the registry wants a client certificate');

    // half a key pair stalls: nothing retries it but a change of the Secret
    await secret({ 'ca.crt': certs.ca, 'tls.crt': certs.cert });
    await apply('tls', { url: tlsReg.url('secure/app'), ref: { tag: 'v1' }, insecure: false, certSecretRef: { name: 'registry-tls' } });
    const half = await waitFailed('tls', (m) => /both tls\.crt and tls\.key/.test(m));
    assert.equal(half.status?.conditions?.find((x) => x.type === 'Stalled')?.status, 'True');
    await secret({ 'ca.crt': certs.ca, 'tls.crt': certs.cert, 'tls.key': certs.key });
    const o = await waitReady('tls');
    assert.deepEqual(await artifactFiles(o), ['s.yaml']);
    assert.match(o.status!.artifact!.revision, /^v1@sha256:/);
    const everything = JSON.stringify((await c.list('v1', 'Event', { namespace: ns })).items) + JSON.stringify((await c.list(SRC, 'OCIRepository', { namespace: ns })).items.map((x) => x['status']));
    assert.ok(!everything.includes('PRIVATE KEY') && !everything.includes(certs.key.split('\n')[1] ?? 'x'), 'no key material in status or events');
  } finally {
    await tlsReg.close();
  }
});

test('deleting an OCIRepository removes its artifacts; a Kustomization applies an OCIRepository artifact', async () => {
  const c = cluster.get().client;
  await registry.push('deploy', 'v1', [{ data: tarGz({ 'cm.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-oci\n  namespace: ${ns}\ndata:\n  source: oci\n` }) }]);
  await apply('deploy', { url: registry.url('deploy'), ref: { tag: 'v1' } });
  const o = await waitReady('deploy');
  await c.apply(
    { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: 'from-oci', namespace: ns }, spec: { interval: '10m', prune: true, path: './', sourceRef: { kind: 'OCIRepository', name: 'deploy' } } } as KubeObject,
    { fieldManager: 'test' },
  );
  const cm = await eventually(async () => c.get<KubeObject & { data?: Record<string, string> }>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'from-oci' }), 30_000, 'ConfigMap applied from the OCI artifact');
  assert.equal(cm.data?.['source'], 'oci');
  const ks = await eventually(async () => {
    const k = await c.get<KubeObject & { status?: { lastAppliedRevision?: string } }>({ apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', namespace: ns, name: 'from-oci' });
    return k?.status?.lastAppliedRevision ? k : undefined;
  }, 30_000);
  assert.equal(ks.status?.lastAppliedRevision, o.status?.artifact?.revision);

  const dir = path.join(op.storagePath, 'ocirepository', ns, 'deploy');
  assert.ok((await readdir(dir)).length >= 1);
  await c.delete(ref('deploy'));
  await eventually(async () => (await c.get(ref('deploy'))) === undefined, 15_000, 'finalizer released');
  assert.equal(await readdir(dir).catch(() => 'gone'), 'gone');
  assert.equal((await fetch(o.status!.artifact!.url)).status, 404);
});

test('flotilla create source oci applies, waits and prints the revision like flux', async () => {
  const digest = await registry.push('cli/app', 'v3', [{ data: tarGz({ 'a.yaml': 'a: 1\n' }) }]);
  const r = await runFlotilla(['create', 'source', 'oci', 'cli-made', `--url=${registry.url('cli/app')}`, '--tag=v3', '--insecure', '-n', ns, '--kubeconfig', cluster.get().kubeconfigPath]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stderr,
    ['► applying OCIRepository', '✔ OCIRepository created', '◎ waiting for OCIRepository reconciliation', '✔ OCIRepository reconciliation completed', `✔ fetched revision: v3@${digest}`, ''].join('\n'),
  );
  const bad = await runFlotilla(['create', 'source', 'oci', 'cli-bad', `--url=${registry.url('cli/app')}`, '-n', ns, '--kubeconfig', cluster.get().kubeconfigPath]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--tag, --tag-semver or --digest is required/);
});
