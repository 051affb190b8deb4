/**
 * `flotilla build kustomization` and `flotilla diff kustomization` against a real API
 * server: the build uses the Kustomization's spec and the cluster's variables; diff exits
 * 1 on created, drifted and to-be-pruned objects, 0 when nothing differs, 2 on error.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { runFlotilla } from '../../src/cli/commands/testing.ts';
import type { KubeObject } from '../../src/runtime/client/objects.ts';
import { useCluster } from '../harness/cluster.ts';

const cluster = useCluster();
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test('build prints the operator build; diff reports created, drifted and pruned objects with Flux exit codes', async () => {
  const { client, namespace, kubeconfigPath } = cluster.get();
  const ns = await namespace('cli-build');
  await client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'vars', namespace: ns }, data: { colour: 'green' } } as KubeObject);
  await client.create({
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: { name: 'app', namespace: ns },
    spec: { interval: '5m', prune: true, path: './deploy', sourceRef: { kind: 'GitRepository', name: 'app' }, postBuild: { substituteFrom: [{ kind: 'ConfigMap', name: 'vars' }] } },
  } as KubeObject);
  await client.patchStatus(
    { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', namespace: ns, name: 'app' },
    { inventory: { entries: [{ id: `${ns}_old__ConfigMap`, v: 'v1' }] } },
    'test',
  );
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cli-build-'));
  dirs.push(dir);
  await writeFile(path.join(dir, 'a.yaml'), `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: ${ns}\ndata:\n  colour: \${colour}\n`);
  await writeFile(path.join(dir, 'b.yaml'), `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  namespace: ${ns}\ndata:\n  k: v\n`);
  const common = ['--kubeconfig', kubeconfigPath, '-n', ns, '--path', dir];

  const built = await runFlotilla(['build', 'kustomization', 'app', ...common]);
  assert.equal(built.code, 0, built.stderr);
  const objs = parseAllDocuments(built.stdout).map((d) => d.toJS() as KubeObject & { data: Record<string, string> }).filter(Boolean);
  assert.deepEqual(objs.map((o) => o.metadata.name).sort(), ['a', 'b']);
  assert.equal(objs.find((o) => o.metadata.name === 'a')?.data['colour'], 'green', 'substituted from the cluster ConfigMap');
  assert.equal(objs[0]?.metadata.labels?.['kustomize.toolkit.fluxcd.io/name'], 'app');

  const first = await runFlotilla(['diff', 'kustomization', 'app', ...common]);
  assert.equal(first.code, 1, first.stderr);
  assert.match(first.stdout, new RegExp(`► ConfigMap/${ns}/a created`));
  assert.match(first.stdout, new RegExp(`► ConfigMap/${ns}/old deleted`), 'the stale inventory entry would be pruned');

  // apply what the build says, as the operator would, and record the inventory
  for (const o of objs) await client.apply(o, { fieldManager: 'kustomize-controller', force: true });
  await client.patchStatus(
    { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', namespace: ns, name: 'app' },
    { inventory: { entries: [{ id: `${ns}_a__ConfigMap`, v: 'v1' }, { id: `${ns}_b__ConfigMap`, v: 'v1' }] } },
    'test',
  );
  const same = await runFlotilla(['diff', 'kustomization', 'app', ...common]);
  assert.equal(same.code, 0, `${same.stdout}${same.stderr}`);

  await client.patch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'b' }, { data: { k: 'edited by hand' } });
  const drifted = await runFlotilla(['diff', 'kustomization', 'app', ...common]);
  assert.equal(drifted.code, 1);
  assert.match(drifted.stdout, new RegExp(`► ConfigMap/${ns}/b drifted`));
  assert.match(drifted.stdout, /-\s+k: edited by hand/);
  assert.match(drifted.stdout, /\+\s+k: v/);

  const missing = await runFlotilla(['diff', 'kustomization', 'nope', ...common]);
  assert.equal(missing.code, 2, 'errors exit 2');
  assert.match(missing.stderr, /not found/);
});
