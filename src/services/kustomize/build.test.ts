import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { StallingError } from '../../runtime/errors.ts';
import { build, resolveBuildDir } from './build.ts';
import { testKubectl, withTree } from './testing-fixtures.ts';

const tool = testKubectl();
const skip = 'skip' in tool ? tool.skip : false;
const kubectl = 'path' in tool ? tool.path : 'kubectl';

const cm = (name: string, extra = ''): string => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  k: v\n${extra}`;
const deploy = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 0
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nginx:1.25
`;

const names = (objects: Record<string, unknown>[]): string[] =>
  objects.map((o) => `${String(o['kind'])}/${String((o['metadata'] as Record<string, unknown>)['namespace'] ?? '')}/${String((o['metadata'] as Record<string, unknown>)['name'])}`);

async function rejectsStalling(p: Promise<unknown>, reason: string, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof StallingError, `expected StallingError, got ${String(e)}`);
    assert.equal(e.reason, reason);
    assert.match(e.message, pattern);
    return true;
  });
}

test('spec.path must stay inside the artifact', async () => {
  await withTree({ 'app/a.yaml': cm('a') }, async (root) => {
    assert.equal(await resolveBuildDir(root, './app'), path.join(await import('node:fs/promises').then((f) => f.realpath(root)), 'app'));
    await rejectsStalling(resolveBuildDir(root, '../'), 'ArtifactFailed', /outside the source artifact/);
    await rejectsStalling(resolveBuildDir(root, './missing'), 'ArtifactFailed', /kustomization path not found/);
    await symlink(os.tmpdir(), path.join(root, 'escape'));
    await rejectsStalling(resolveBuildDir(root, 'escape'), 'ArtifactFailed', /symlink that points outside/);
  });
});

test('a plain directory is generated into a kustomization and built (kustomize path)', { skip }, async () => {
  await withTree({ 'app/b.yaml': cm('b'), 'app/sub/a.yml': cm('a'), 'app/sub/readme.txt': 'not yaml', 'app/ns.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n' }, async (root) => {
    const result = await build({ dir: root, path: 'app', kubectl, inProcess: false });
    assert.equal(result.builder, 'kustomize');
    assert.equal(result.generated, true);
    assert.deepEqual(names(result.objects), ['Namespace//team', 'ConfigMap//a', 'ConfigMap//b']);
    const generated = parse(await readFile(path.join(root, 'app', 'kustomization.yaml'), 'utf8'));
    assert.deepEqual(generated.resources, ['./b.yaml', './ns.yaml', './sub/a.yml']);
  });
});

test('spec overrides are written into an existing kustomization', { skip }, async () => {
  await withTree(
    {
      'app/kustomization.yaml': 'resources:\n  - deploy.yaml\n  - cm.yaml\nimages:\n  - name: nginx\n    newTag: "1.0"\n',
      'app/deploy.yaml': deploy,
      'app/cm.yaml': cm('settings'),
      'app/extra/kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n  - extra.yaml\n',
      'app/extra/extra.yaml': cm('extra'),
    },
    async (root) => {
      const result = await build({
        dir: root,
        path: 'app',
        kubectl,
        options: {
          targetNamespace: 'prod',
          namePrefix: 'p-',
          nameSuffix: '-s',
          images: [{ name: 'nginx', newName: 'registry.local/nginx', newTag: '2.0' }],
          patches: [{ patch: '- op: replace\n  path: /spec/replicas\n  value: 2\n', target: { kind: 'Deployment', name: 'web' } }],
          components: ['extra', 'missing'],
          ignoreMissingComponents: true,
        },
      });
      assert.deepEqual(names(result.objects).sort(), ['ConfigMap/prod/p-extra-s', 'ConfigMap/prod/p-settings-s', 'Deployment/prod/p-web-s']);
      const d = result.objects.find((o) => o['kind'] === 'Deployment') as { spec: { replicas: number; template: { spec: { containers: { image: string }[] } } } };
      assert.equal(d.spec.replicas, 2);
      assert.equal(d.spec.template.spec.containers[0]?.image, 'registry.local/nginx:2.0');
    },
  );
});

test('references leaving the artifact are refused before kustomize runs', { skip }, async () => {
  await withTree(
    {
      'app/kustomization.yaml': 'resources:\n  - ../../../../etc/hostname\n',
      'overlay/kustomization.yaml': 'resources:\n  - ../base\n',
      'base/kustomization.yaml': 'resources:\n  - cm.yaml\n',
      'base/cm.yaml': cm('base'),
      'gen/kustomization.yaml': 'secretGenerator:\n  - name: s\n    files:\n      - key=/etc/hostname\n',
    },
    async (root) => {
      await rejectsStalling(build({ dir: root, path: 'app', kubectl }), 'BuildFailed', /resources entry '..\/..\/..\/..\/etc\/hostname' in app\/kustomization.yaml points outside/);
      await rejectsStalling(build({ dir: root, path: 'gen', kubectl }), 'BuildFailed', /secretGenerator entry '\/etc\/hostname'/);
      // Going up to a sibling inside the artifact is fine, as in Flux.
      const ok = await build({ dir: root, path: 'overlay', kubectl });
      assert.deepEqual(names(ok.objects), ['ConfigMap//base']);
    },
  );
});

test('a symlinked manifest that leaves the artifact is refused', { skip }, async () => {
  await withTree({ 'app/kustomization.yaml': 'resources:\n  - link.yaml\n' }, async (root) => {
    await symlink('/etc/hostname', path.join(root, 'app', 'link.yaml'));
    await rejectsStalling(build({ dir: root, path: 'app', kubectl }), 'BuildFailed', /points outside the source artifact/);
  });
});

test('remote bases are refused under noRemoteBases without any network access', { skip }, async () => {
  await withTree({ 'app/kustomization.yaml': 'resources:\n  - cm.yaml\n  - https://github.com/org/repo//deploy?ref=v1\n', 'app/cm.yaml': cm('a') }, async (root) => {
    await rejectsStalling(build({ dir: root, path: 'app', kubectl, noRemoteBases: true }), 'BuildFailed', /remote bases are disabled.*https:\/\/github.com\/org\/repo/);
  });
  await withTree({ 'app/kustomization.yaml': 'components:\n  - git@github.com:org/repo.git\n' }, async (root) => {
    await rejectsStalling(build({ dir: root, path: 'app', kubectl, noRemoteBases: true }), 'BuildFailed', /components entry 'git@github.com:org\/repo.git'/);
  });
});

test("kustomize's errors come back as BuildFailed without temp-dir paths", { skip }, async () => {
  await withTree({ 'app/kustomization.yaml': 'resources:\n  - missing.yaml\n' }, async (root) => {
    await assert.rejects(build({ dir: root, path: 'app', kubectl }), (e: unknown) => {
      assert.ok(e instanceof StallingError);
      assert.equal(e.reason, 'BuildFailed');
      assert.match(e.message, /^kustomize build failed: .*missing\.yaml/);
      assert.ok(!e.message.includes(root), e.message);
      assert.ok(!e.message.includes(os.tmpdir() + '/kustomize-test'), e.message);
      return true;
    });
  });
  await withTree({ 'app/bad.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n' }, async (root) => {
    await rejectsStalling(build({ dir: root, path: 'app', kubectl }), 'BuildFailed', /failed to decode Kubernetes YAML from bad.yaml: missing metadata.name/);
  });
  await withTree({ 'app/bad.yaml': 'a: [unclosed\n' }, async (root) => {
    await rejectsStalling(build({ dir: root, path: 'app', kubectl }), 'BuildFailed', /failed to decode Kubernetes YAML from bad.yaml/);
  });
});

test('output is capped, time is bounded, and a missing kubectl is a transient error', { skip }, async () => {
  await withTree({ 'app/kustomization.yaml': 'resources:\n  - cm.yaml\n', 'app/cm.yaml': cm('a', `  big: ${'x'.repeat(5000)}\n`) }, async (root) => {
    await rejectsStalling(build({ dir: root, path: 'app', kubectl, maxOutputBytes: 1000 }), 'BuildFailed', /output exceeds 1000 bytes/);
    await assert.rejects(build({ dir: root, path: 'app', kubectl, timeoutMs: 1 }), (e: unknown) => {
      assert.ok(e instanceof Error && e.name === 'TransientError' && /timed out/.test(e.message), String(e));
      return true;
    });
    await assert.rejects(build({ dir: root, path: 'app', kubectl: path.join(root, 'no-kubectl') }), (e: unknown) => {
      assert.ok(e instanceof Error && e.name === 'TransientError' && /kubectl not found/.test(e.message));
      return true;
    });
  });
});

test('an empty directory builds to no objects, as Flux does', { skip }, async () => {
  await withTree({ 'app/notes.md': '# nothing' }, async (root) => {
    const result = await build({ dir: root, path: 'app', kubectl, inProcess: false });
    assert.deepEqual(result.objects, []);
  });
});
