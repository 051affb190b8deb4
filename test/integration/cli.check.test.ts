/**
 * `flotilla check` against a real API server: the pre-flight version check, a failing
 * verdict when no operator runs, and a passing one with an operator Deployment and a
 * current leader Lease, or with a dev environment whose health endpoint answers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runFlotilla } from '../../src/cli/commands/testing.ts';
import { eventually, useCluster } from '../harness/cluster.ts';

const cluster = useCluster();
const kube = (): string[] => ['--kubeconfig', cluster.get().kubeconfigPath];

test('check --pre: the Kubernetes version against the supported range', async () => {
  const r = await runFlotilla(['check', '--pre', ...kube()]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^► checking prerequisites\n✔ Kubernetes 1\.\d+\.\d+\S* >=1\.20\.0-0\n✔ prerequisites checks passed\n$/);
});

test('check fails without an operator and passes with a ready Deployment and a current lease', async () => {
  const { client } = cluster.get();
  const ns = await cluster.get().namespace('cli-check');
  const devDir = await mkdtemp(path.join(os.tmpdir(), 'flotilla-check-'));
  try {
    let r = await runFlotilla(['check', '--flux-namespace', ns, '--dev-dir', devDir, ...kube()]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`✗ no operator found: no Deployment in the '${ns}' namespace with the label selector 'app.kubernetes.io/name=flotilla'`));
    assert.match(r.stderr, /► checking crds\n/);
    assert.match(r.stderr, /✔ gitrepositories\.source\.toolkit\.fluxcd\.io\/v1\n/);
    assert.match(r.stderr, /✔ kustomizations\.kustomize\.toolkit\.fluxcd\.io\/v1\n/);
    assert.match(r.stderr, /✗ check failed\n$/);

    await client.create({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'flotilla', namespace: ns, labels: { 'app.kubernetes.io/name': 'flotilla' } },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'flotilla' } },
        template: { metadata: { labels: { app: 'flotilla' } }, spec: { containers: [{ name: 'manager', image: 'ghcr.io/example/flotilla:0.1.0' }] } },
      },
    });
    const now = new Date().toISOString().replace('Z', '000Z');
    await client.create({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'flotilla-leader-election', namespace: ns },
      spec: { holderIdentity: 'flotilla-7d9f-abcde', leaseDurationSeconds: 300, acquireTime: now, renewTime: now },
    });
    r = await eventually(
      async () => {
        const res = await runFlotilla(['check', '--flux-namespace', ns, '--dev-dir', devDir, ...kube()]);
        return res.code === 0 ? res : undefined;
      },
      30_000,
      'check to pass once the controller-manager reports the Deployment',
    );
    assert.match(r.stderr, /✔ flotilla: deployment ready \(0\/0 replicas available\)\n► ghcr\.io\/example\/flotilla:0\.1\.0\n/);
    assert.match(r.stderr, /✔ leader: flotilla-7d9f-abcde \(lease renewed \d+s ago\)\n/);
    assert.match(r.stderr, /✔ all checks passed\n$/);

    await client.patch(
      { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: ns, name: 'flotilla-leader-election' },
      { spec: { renewTime: '2020-01-01T00:00:00.000000Z', leaseDurationSeconds: 15 } },
    );
    r = await runFlotilla(['check', '--flux-namespace', ns, '--dev-dir', devDir, ...kube()]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /✗ leader election: the lease of flotilla-7d9f-abcde expired \d+\S* ago\n/);
  } finally {
    await rm(devDir, { recursive: true, force: true });
  }
});

test('check reads the dev environment health endpoint when no Deployment exists', async () => {
  const ns = await cluster.get().namespace('cli-check');
  const devDir = await mkdtemp(path.join(os.tmpdir(), 'flotilla-check-'));
  let ready = true;
  const server = http.createServer((req, res) => void res.writeHead(req.url === '/readyz' && ready ? 200 : 503).end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const health = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await writeFile(path.join(devDir, 'endpoints.json'), JSON.stringify({ health }));
    let r = await runFlotilla(['check', '--flux-namespace', ns, '--dev-dir', devDir, ...kube()]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`✔ operator \\(dev environment in ${devDir}\\): ready at ${health}\\n`));
    assert.match(r.stderr, /► no leader election Lease/);
    ready = false;
    r = await runFlotilla(['check', '--flux-namespace', ns, '--dev-dir', devDir, ...kube()]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /✗ operator \(dev environment in .*\): .*\/readyz answered HTTP 503\n/);
  } finally {
    server.close();
    await rm(devDir, { recursive: true, force: true });
  }
});
