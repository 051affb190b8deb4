import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { runFlotilla } from '../../src/cli/commands/testing.ts';
import type { KubeObject } from '../../src/runtime/client/objects.ts';
import { eventually, useCluster } from '../harness/cluster.ts';
import { startOciRegistry, type OciRegistry } from '../harness/oci-registry.ts';
import { startTestOperator, type TestOperator } from '../harness/operator.ts';

const cluster = useCluster();
const IMAGE = 'image.toolkit.fluxcd.io/v1';
let registry: OciRegistry;
let op: TestOperator;
let ns: string;

type Obj = KubeObject & { status?: Record<string, unknown> & { conditions?: Array<{ type: string; status: string; reason: string; message: string }>; observedGeneration?: number } };
const readyOf = (o: Obj | undefined) => o?.status?.conditions?.find((c) => c.type === 'Ready');
const get = (kind: string, name: string) => cluster.get().client.get<Obj>({ apiVersion: IMAGE, kind, namespace: ns, name });

async function apply(kind: string, name: string, spec: Record<string, unknown>): Promise<void> {
  await cluster.get().client.apply({ apiVersion: IMAGE, kind, metadata: { name, namespace: ns }, spec } as KubeObject, { fieldManager: 'test', force: true });
}

async function waitReady(kind: string, name: string, pred: (o: Obj) => boolean = () => true): Promise<Obj> {
  return eventually(async () => {
    const o = await get(kind, name);
    return o && readyOf(o)?.status === 'True' && pred(o) ? o : undefined;
  }, 30_000, `${kind} ${name} Ready`);
}

const push = (tag: string) => registry.push('team/app', tag, [{ data: Buffer.from(tag) }]);

before(async () => {
  ns = await cluster.get().namespace('image');
  registry = await startOciRegistry();
  for (const t of ['1.0.0', '1.2.0', '2.0.0-rc.1', 'latest', 'main-1-1700000000', 'main-2-1600000000', 'sha256-abc.sig']) await push(t);
  op = await startTestOperator(cluster.get().kubeconfigPath, ns);
});

after(async () => {
  await op?.stop();
  await registry?.close();
});

test('ImageRepository scans tags (signatures excluded); ImagePolicies choose, and follow new pushes', async () => {
  await apply('ImageRepository', 'app', { image: `${registry.host}/team/app`, interval: '1h', insecure: true });
  const repo = await waitReady('ImageRepository', 'app');
  const scan = repo.status?.['lastScanResult'] as { tagCount: number; latestTags: string[]; revision: string };
  assert.equal(scan.tagCount, 6, 'the .sig tag is excluded by default');
  assert.deepEqual(scan.latestTags, ['main-2-1600000000', 'main-1-1700000000', 'latest', '2.0.0-rc.1', '1.2.0', '1.0.0']);
  assert.equal(repo.status?.['canonicalImageName'], `${registry.host}/team/app`);
  assert.equal(readyOf(repo)?.message, `successful scan: found 6 tags with checksum ${scan.revision}`);

  await apply('ImagePolicy', 'semver', { imageRepositoryRef: { name: 'app' }, policy: { semver: { range: '^1.0.0' } } });
  const semver = await waitReady('ImagePolicy', 'semver');
  assert.deepEqual(semver.status?.['latestRef'], { name: `${registry.host}/team/app`, tag: '1.2.0' });
  assert.equal(readyOf(semver)?.message, `Latest image tag for ${registry.host}/team/app resolved to 1.2.0`);
  await apply('ImagePolicy', 'newest-build', { imageRepositoryRef: { name: 'app' }, filterTags: { pattern: '^main-(?<n>\\d+)-(?<ts>\\d+)$', extract: '$ts' }, policy: { numerical: { order: 'asc' } } });
  assert.equal((await waitReady('ImagePolicy', 'newest-build')).status?.['latestRef' as never]?.['tag' as never], 'main-1-1700000000');

  // a new push, a new scan: the policy moves on at once and remembers where it was
  await push('1.3.0');
  await cluster.get().client.patch({ apiVersion: IMAGE, kind: 'ImageRepository', namespace: ns, name: 'app' }, { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': `${Date.now()}` } } });
  const moved = await waitReady('ImagePolicy', 'semver', (o) => (o.status?.['latestRef'] as { tag?: string } | undefined)?.tag === '1.3.0');
  assert.deepEqual(moved.status?.['observedPreviousRef'], { name: `${registry.host}/team/app`, tag: '1.2.0' });
  assert.match(readyOf(moved)!.message, /resolved to 1\.3\.0 \(previously .*:1\.2\.0\)$/);

  // what `flotilla get images all` makes of it, in Flux's columns
  const out = await runFlotilla(['get', 'images', 'all', '-n', ns, '--kubeconfig', cluster.get().kubeconfigPath]);
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /^imagerepository\/app\s+\S+\s+False\s+True\s+successful scan: found 7 tags/m);
  assert.match(out.stdout, new RegExp(`^imagepolicy/semver\\s+${registry.host.replace(/\./g, '\\.')}/team/app\\s+1\\.3\\.0\\s+True`, 'm'));
});

test('bad input: nothing matching, an invalid pattern, a missing repository, an unreachable registry', async () => {
  await apply('ImageRepository', 'app2', { image: `${registry.host}/team/app`, interval: '1h', insecure: true });
  await waitReady('ImageRepository', 'app2');
  await apply('ImagePolicy', 'none', { imageRepositoryRef: { name: 'app2' }, policy: { semver: { range: '>=9.0.0' } } });
  const none = await eventually(async () => { const o = await get('ImagePolicy', 'none'); return readyOf(o)?.status === 'False' ? o : undefined; }, 30_000);
  assert.match(readyOf(none)!.message, /satisfies the policy/);
  await apply('ImagePolicy', 'bad-pattern', { imageRepositoryRef: { name: 'app2' }, filterTags: { pattern: '(' }, policy: { alphabetical: {} } });
  const bad = await eventually(async () => { const o = await get('ImagePolicy', 'bad-pattern'); return readyOf(o)?.status === 'False' ? o : undefined; }, 30_000);
  assert.equal(readyOf(bad)?.reason, 'InvalidPolicy');
  await apply('ImagePolicy', 'orphan', { imageRepositoryRef: { name: 'missing' }, policy: { alphabetical: {} } });
  const orphan = await eventually(async () => { const o = await get('ImagePolicy', 'orphan'); return readyOf(o)?.status === 'False' ? o : undefined; }, 30_000);
  assert.match(readyOf(orphan)!.message, /ImageRepository '.*\/missing' not found/);
  await apply('ImageRepository', 'unreachable', { image: '127.0.0.1:9/app', interval: '1h', insecure: true, timeout: '3s' });
  const down = await eventually(async () => { const o = await get('ImageRepository', 'unreachable'); return readyOf(o)?.status === 'False' ? o : undefined; }, 30_000);
  assert.match(readyOf(down)!.message, /cannot reach 127\.0\.0\.1:9/);
});
