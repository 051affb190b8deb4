/**
 * `flotilla logs` source selection: the dev environment's operator.log by default, the
 * operator's pods when a cluster is named. The local control plane has no kubelet to
 * serve pod logs, so the pod path is checked up to finding the pods.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runFlotilla } from '../../src/cli/commands/testing.ts';
import { useCluster } from '../harness/cluster.ts';

const cluster = useCluster();

test('logs reads the dev environment log by default, the pods when --kubeconfig is given', async () => {
  const cwd = await mkdtemp(path.join(os.tmpdir(), 'flotilla-logs-'));
  try {
    await mkdir(path.join(cwd, '.flotilla', 'dev'), { recursive: true });
    await writeFile(
      path.join(cwd, '.flotilla', 'dev', 'operator.log'),
      `${JSON.stringify({ level: 'info', ts: '2026-01-02T10:00:00.000Z', controllerKind: 'Kustomization', name: 'apps', namespace: 'flux-system', msg: 'applied' })}\n`,
    );
    let r = await runFlotilla(['logs'], { cwd });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '2026-01-02T10:00:00.000Z info Kustomization/apps.flux-system - applied\n');

    const ns = await cluster.get().namespace('cli-logs');
    r = await runFlotilla(['logs', '--flux-namespace', ns, '--kubeconfig', cluster.get().kubeconfigPath], { cwd });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `✗ no Flotilla pods found in namespace "${ns}" with the label selector app.kubernetes.io/name=flotilla\n`);
  } finally {
    await rm(cwd, { recursive: true, force: true });
  }
});
