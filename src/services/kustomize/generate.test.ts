import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { StallingError } from '../../runtime/errors.ts';
import { generateKustomization, isLocalRelativePath } from './generate.ts';
import { isRemoteReference } from './references.ts';
import { withTree } from './testing-fixtures.ts';

const cm = (name: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;

test('generation lists manifests in walk order and stops at nested kustomizations', async () => {
  await withTree(
    {
      'b.yaml': cm('b'),
      'A.yml': cm('a'),
      'sub/x.yaml': cm('x'),
      'sub/deeper/y.yaml': cm('y'),
      'base/kustomization.yaml': 'resources: []\n',
      'base/ignored.yaml': 'not: a manifest\n',
      'doc.json': '{}',
      'list.yaml': 'apiVersion: v1\nkind: List\nitems: []\n',
    },
    async (root) => {
      const result = await generateKustomization(root);
      assert.equal(result.action, 'created');
      const k = parse(await readFile(path.join(root, 'kustomization.yaml'), 'utf8'));
      assert.deepEqual(k, {
        apiVersion: 'kustomize.config.k8s.io/v1beta1',
        kind: 'Kustomization',
        resources: ['./A.yml', './b.yaml', './base', './list.yaml', './sub/deeper/y.yaml', './sub/x.yaml'],
      });
    },
  );
});

test('an empty directory gets the placeholder namespace, replaced by targetNamespace', async () => {
  await withTree({ 'README.md': '#' }, async (root) => {
    await generateKustomization(root);
    assert.equal(parse(await readFile(path.join(root, 'kustomization.yaml'), 'utf8')).namespace, '_placeholder');
  });
  await withTree({ 'README.md': '#' }, async (root) => {
    await generateKustomization(root, { targetNamespace: 'apps' });
    assert.equal(parse(await readFile(path.join(root, 'kustomization.yaml'), 'utf8')).namespace, 'apps');
  });
});

test('non-Kubernetes YAML fails the generation with the file named', async () => {
  await withTree({ 'values.yaml': 'replicas: 3\n' }, async (root) => {
    await assert.rejects(generateKustomization(root), (e: unknown) => e instanceof StallingError && /failed to decode Kubernetes YAML from values.yaml: missing kind/.test(e.message));
  });
});

test('overrides merge into an existing kustomization the way Flux merges them', async () => {
  await withTree(
    {
      'kustomization.yml': [
        '# keep this comment',
        'resources:',
        '  - cm.yaml',
        'images:',
        '  - name: app',
        '    newTag: v1',
        '    digest: sha256:old',
        '  - name: other',
        '    newName: x/other',
        'patches:',
        '  - path: p.yaml',
        '',
      ].join('\n'),
      'cm.yaml': cm('a'),
      'comp/kustomization.yaml': 'kind: Component\n',
    },
    async (root) => {
      const result = await generateKustomization(root, {
        namePrefix: 'pre-',
        images: [
          { name: 'app', newTag: 'v2' },
          { name: 'other', newName: 'y/other' },
          { name: 'new', digest: 'sha256:abc' },
        ],
        patches: [{ patch: 'kind: X', target: { kind: 'Deployment', labelSelector: 'a=b' } }],
        components: ['comp', 'absent'],
        ignoreMissingComponents: true,
        buildMetadata: ['originAnnotations'],
      });
      assert.equal(result.action, 'unchanged');
      assert.equal(path.basename(result.file), 'kustomization.yml');
      const text = await readFile(result.file, 'utf8');
      assert.match(text, /# keep this comment/);
      const k = parse(text);
      assert.equal(k.namePrefix, 'pre-');
      assert.deepEqual(k.images, [
        { name: 'app', newTag: 'v2' },
        { name: 'other', newName: 'y/other' },
        { name: 'new', digest: 'sha256:abc' },
      ]);
      assert.deepEqual(k.patches, [{ path: 'p.yaml' }, { patch: 'kind: X', target: { kind: 'Deployment', labelSelector: 'a=b' } }]);
      assert.deepEqual(k.components, ['comp']);
      assert.deepEqual(k.buildMetadata, ['originAnnotations']);
      assert.equal(k.kind, 'Kustomization');
    },
  );
});

test('a kustomization without resources gets originAnnotations, as Flux sets it', async () => {
  await withTree({ 'kustomization.yaml': 'secretGenerator:\n  - name: s\n    literals: [a=b]\n' }, async (root) => {
    await generateKustomization(root);
    assert.deepEqual(parse(await readFile(path.join(root, 'kustomization.yaml'), 'utf8')).buildMetadata, ['originAnnotations']);
  });
});

test('components must be local and relative', async () => {
  await withTree({ 'a.yaml': cm('a') }, async (root) => {
    for (const bad of ['/abs/comp', 'https://github.com/x/y', 'github.com/x/y', 'git@github.com:x/y']) {
      await assert.rejects(generateKustomization(root, { components: [bad] }), /must be local and relative/, bad);
    }
  });
  assert.equal(isLocalRelativePath('../shared/comp'), true);
  assert.equal(isRemoteReference('https://github.com/org/repo//path?ref=v1'), true);
  assert.equal(isRemoteReference('gh:org/repo'), true);
  assert.equal(isRemoteReference('../base'), false);
  assert.equal(isRemoteReference('file:///tmp/x'), false);
});
