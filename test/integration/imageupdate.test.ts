import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { KubeObject } from '../../src/runtime/client/objects.ts';
import { eventually, useCluster } from '../harness/cluster.ts';
import { createRepo, startGitHttpServer, type GitHttpServer } from '../harness/git-server.ts';
import { startOciRegistry, type OciRegistry } from '../harness/oci-registry.ts';
import { startTestOperator, type TestOperator } from '../harness/operator.ts';

const run = promisify(execFile);
const cluster = useCluster();
const IMAGE = 'image.toolkit.fluxcd.io/v1';
let registry: OciRegistry;
let http: GitHttpServer;
let root: string;
let op: TestOperator;
let ns: string;

type Obj = KubeObject & { status?: Record<string, unknown> & { conditions?: Array<{ type: string; status: string; reason: string; message: string }> } };
const get = (kind: string, name: string, apiVersion = IMAGE) => cluster.get().client.get<Obj>({ apiVersion, kind, namespace: ns, name });
const apply = (obj: Record<string, unknown>) => cluster.get().client.apply(obj as KubeObject, { fieldManager: 'test', force: true });
const fileOnMain = async (file: string) => (await run('git', ['--git-dir', path.join(root, 'fleet.git'), 'show', `main:${file}`])).stdout;

before(async () => {
  ns = await cluster.get().namespace('imageupdate');
  registry = await startOciRegistry();
  root = await mkdtemp(path.join(os.tmpdir(), 'iua-git-'));
  http = await startGitHttpServer({ root });
  for (const t of ['1.0.0', '1.1.0']) await registry.push('team/app', t, [{ data: Buffer.from(t) }]);
  op = await startTestOperator(cluster.get().kubeconfigPath, ns);
});

after(async () => {
  await op?.stop();
  await http?.close();
  await registry?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

test('an ImageUpdateAutomation writes the chosen tags at their markers, commits and pushes; a new tag makes a new commit', async () => {
  const image = `${registry.host}/team/app`;
  await createRepo(root, 'fleet', {
    'apps/deploy.yaml': `spec:\n  containers:\n    - name: app\n      image: ${image}:1.0.0 # {"$imagepolicy": "${ns}:app"}\n    - name: side\n      image: busybox:1.36 # untouched\n`,
    'apps/kustomization.yaml': `images:\n  - name: app\n    newTag: 1.0.0 # {"$imagepolicy": "${ns}:app:tag"}\n`,
  });
  await apply({ apiVersion: IMAGE, kind: 'ImageRepository', metadata: { name: 'app', namespace: ns }, spec: { image, interval: '1h', insecure: true } });
  await apply({ apiVersion: IMAGE, kind: 'ImagePolicy', metadata: { name: 'app', namespace: ns }, spec: { imageRepositoryRef: { name: 'app' }, policy: { semver: { range: '^1.0.0' } } } });
  await apply({ apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: { name: 'fleet', namespace: ns }, spec: { interval: '1h', url: http.url('fleet'), ref: { branch: 'main' } } });
  await apply({
    apiVersion: IMAGE,
    kind: 'ImageUpdateAutomation',
    metadata: { name: 'fleet', namespace: ns },
    spec: { interval: '1h', sourceRef: { kind: 'GitRepository', name: 'fleet' }, git: { commit: { author: { name: 'Flotilla Bot', email: 'bot@flotilla.invalid' }, messageTemplate: 'chore: image update' } }, update: { path: './apps', strategy: 'Setters' } },
  });
  const first = await eventually(async () => {
    const o = await get('ImageUpdateAutomation', 'fleet');
    return o?.status?.['lastPushCommit'] ? o : undefined;
  }, 60_000, 'the first push');
  assert.match(await fileOnMain('apps/deploy.yaml'), new RegExp(`image: ${image.replace(/\./g, '\\.')}:1\\.1\\.0 # \\{"\\$imagepolicy": "${ns}:app"\\}\\n    - name: side\\n      image: busybox:1\\.36 # untouched`));
  assert.match(await fileOnMain('apps/kustomization.yaml'), /newTag: 1\.1\.0 # /);
  const log = (await run('git', ['--git-dir', path.join(root, 'fleet.git'), 'log', '-1', '--format=%an <%ae>|%s', 'main'])).stdout.trim();
  assert.equal(log, 'Flotilla Bot <bot@flotilla.invalid>|chore: image update');
  assert.equal(first.status?.['lastPushCommit'], (await run('git', ['--git-dir', path.join(root, 'fleet.git'), 'rev-parse', 'main'])).stdout.trim());
  assert.deepEqual(first.status?.['observedPolicies'], { app: { name: image, tag: '1.1.0' } });

  // a new tag: the scan moves the policy, the policy wakes the automation
  await registry.push('team/app', '1.2.0', [{ data: Buffer.from('1.2.0') }]);
  await cluster.get().client.patch({ apiVersion: IMAGE, kind: 'ImageRepository', namespace: ns, name: 'app' }, { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': `${Date.now()}` } } });
  await eventually(async () => (await get('ImageUpdateAutomation', 'fleet'))?.status?.['lastPushCommit'] !== first.status?.['lastPushCommit'], 60_000, 'a second push');
  assert.match(await fileOnMain('apps/deploy.yaml'), /:1\.2\.0 # /);
  const ready = (await get('ImageUpdateAutomation', 'fleet'))?.status?.conditions?.find((c) => c.type === 'Ready');
  assert.equal(ready?.status, 'True');
});

test('unsupported template actions stall with a clear message and push nothing', async () => {
  const before = (await run('git', ['--git-dir', path.join(root, 'fleet.git'), 'rev-parse', 'main'])).stdout.trim();
  await apply({
    apiVersion: IMAGE,
    kind: 'ImageUpdateAutomation',
    metadata: { name: 'templated', namespace: ns },
    spec: { interval: '1h', sourceRef: { kind: 'GitRepository', name: 'fleet' }, git: { commit: { author: { email: 'bot@flotilla.invalid' }, messageTemplate: '{{range .Changed.Changes}}{{.NewValue}}{{end}}' } }, update: { path: './apps', strategy: 'Setters' } },
  });
  const o = await eventually(async () => {
    const x = await get('ImageUpdateAutomation', 'templated');
    return x?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'False' ? x : undefined;
  }, 30_000);
  assert.match(o.status!.conditions!.find((c) => c.type === 'Ready')!.message, /templates with actions .* are not supported by Flotilla yet/);
  assert.equal((await run('git', ['--git-dir', path.join(root, 'fleet.git'), 'rev-parse', 'main'])).stdout.trim(), before);
});
