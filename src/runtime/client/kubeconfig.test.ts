import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Kubeconfig } from './kubeconfig.ts';

const doc = (user: string, extraCluster = '') => `apiVersion: v1
kind: Config
clusters:
- name: c1
  cluster:
    server: https://10.0.0.1:6443
    certificate-authority-data: ${Buffer.from('CA-PEM').toString('base64')}
${extraCluster}- name: c2
  cluster:
    server: https://other:443
    insecure-skip-tls-verify: true
users:
- name: u1
  user:
${user}
- name: u2
  user:
    token: second
contexts:
- name: one
  context: {cluster: c1, user: u1}
- name: two
  context: {cluster: c2, user: u2}
current-context: one
`;

test('token, CA data and context switching', async () => {
  const kc = Kubeconfig.fromString(doc('    token: abc'));
  const a = kc.access();
  assert.equal(a.server, 'https://10.0.0.1:6443');
  assert.equal(String(a.tls.ca), 'CA-PEM');
  assert.deepEqual(await a.headers(), { Authorization: 'Bearer abc' });
  kc.useContext('two');
  const b = kc.access();
  assert.equal(b.tls.rejectUnauthorized, false);
  assert.deepEqual(await b.headers(), { Authorization: 'Bearer second' });
  assert.throws(() => kc.useContext('three'), /does not exist/);
});

test('files are read relative to the kubeconfig; basic auth and impersonation', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kc-'));
  try {
    await writeFile(path.join(dir, 'tok'), 'from-file\n');
    await writeFile(path.join(dir, 'cert.pem'), 'CERT');
    await writeFile(path.join(dir, 'config'), doc('    tokenFile: tok\n    client-certificate: cert.pem\n    as: alice'));
    const a = Kubeconfig.fromFile(path.join(dir, 'config')).access();
    assert.equal(String(a.tls.cert), 'CERT');
    assert.deepEqual(await a.headers(), { Authorization: 'Bearer from-file', 'Impersonate-User': 'alice' });
    const basic = Kubeconfig.fromString(doc('    username: bob\n    password: pw')).access();
    assert.deepEqual(await basic.headers(), { Authorization: `Basic ${Buffer.from('bob:pw').toString('base64')}` });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('plugins are detected (tenants may not use them)', () => {
  assert.equal(Kubeconfig.fromString(doc('    token: x')).usesPlugins(), false);
  assert.equal(Kubeconfig.fromString(doc('    exec:\n      command: /bin/evil\n      apiVersion: client.authentication.k8s.io/v1')).usesPlugins(), true);
  assert.throws(() => Kubeconfig.fromString(''), /not a kubeconfig/);
});
