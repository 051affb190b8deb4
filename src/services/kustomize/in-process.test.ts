import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { build } from './build.ts';
import { buildInProcess } from './in-process.ts';
import { testKubectl, withTree, writeTree } from './testing-fixtures.ts';

/**
 * The in-process build is only allowed where it gives exactly kustomize's objects, in the
 * same order and with the same key order. These tests run both on the same trees.
 */

const tool = testKubectl();
const skip = 'skip' in tool ? tool.skip : false;
const kubectl = 'path' in tool ? tool.path : 'kubectl';

async function kustomizeObjects(root: string): Promise<unknown[]> {
  // kustomize gets its own copy: the generator writes kustomization.yaml into the tree.
  const copy = await mkdtemp(path.join(os.tmpdir(), 'kustomize-parity-'));
  try {
    await cp(root, copy, { recursive: true });
    return (await build({ dir: copy, path: '.', kubectl, inProcess: false })).objects;
  } finally {
    await rm(copy, { recursive: true, force: true });
  }
}

async function assertParity(files: Record<string, string>): Promise<void> {
  await withTree(files, async (root) => {
    const fast = await buildInProcess(root);
    assert.ok(fast, 'the in-process build should accept this tree');
    const slow = await kustomizeObjects(root);
    // JSON text compares values, object order and key order at once.
    assert.equal(JSON.stringify(fast), JSON.stringify(slow));
  });
}

const REPRESENTATIVE: Record<string, string> = {
  'z-last.yaml': `# leading comment
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web   # trailing comment
  namespace: apps
  labels:
    app.kubernetes.io/name: web
    tier: "1"
  annotations:
    note: "yes"
    empty: ""
spec:
  replicas: 0
  revisionHistoryLimit: 10
  paused: false
  minReadySeconds: 1e1
  selector:
    matchLabels: {app.kubernetes.io/name: web}
  template:
    metadata:
      labels: {app.kubernetes.io/name: web}
      creationTimestamp: null
    spec:
      containers:
        - name: web
          image: "nginx:1.25"
          args: ["--port", "8080", '--flag=on']
          ports:
            - containerPort: 8080
          resources:
            requests: {cpu: 100m, memory: 64Mi}
            limits:
              cpu: 0.5
          env:
            - name: MULTI
              value: |
                line one
                line two
            - name: FOLDED
              value: >-
                folded
                text
            - name: UNICODE
              value: "h\\u00e9llo ✓"
            - name: EMPTY
`,
  'a-first.yaml': `---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: apps
spec:
  ports:
    - port: 80
      targetPort: 8080
      protocol: TCP
  selector:
    app.kubernetes.io/name: web
---
# only a comment
---
apiVersion: v1
kind: Namespace
metadata:
  name: apps
...
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: apps
data:
  Zeta: last
  alpha: first
  "10": ten
  "9": nine
  _under: x
  key.with.dots: y
`,
  'nested/deeper/crd.yml': `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
`,
  'nested/widget.yaml': `apiVersion: example.com/v1
kind: Widget
metadata: {name: w1, namespace: apps}
spec: {size: 3, ratio: 0.25, tags: [], labels: {}, nothing: ~}
`,
  'nested/cluster.yaml': `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: reader
rules:
  - apiGroups: [""]
    resources: ["pods"]
    verbs: ["get", "list"]
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: hook
webhooks: []
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: local
  annotations:
    config.kubernetes.io/local-config: "true"
`,
  'go-yaml-numbers.yaml': 'apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: numbers\nspec:\n  octal: 0777\n  hex: 0x1F\n  underscored: 1_000\n  notOctal: 08\n  exp: 1e3\n  plusSign: +12\n  negative: -3\n  dashed: --flag\n  time: "12:30:00"\n  sexagesimal: 12:30:00\n  yaml11bool: on\n',
  'crlf.yaml': 'apiVersion: v1\r\nkind: ConfigMap\r\nmetadata:\r\n  name: crlf\r\n  namespace: a-b\r\ndata:\r\n  k: v\r\n',
  'same-kind.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  namespace: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ntype: Opaque\nstringData:\n  password: "0777"\n',
  'notes.txt': 'not a manifest',
  'values.json': '{"not": "read by Flux"}',
};

test('in-process build equals kustomize on representative manifests', { skip }, async () => {
  await assertParity(REPRESENTATIVE);
});

test('an empty tree builds to nothing in both', { skip }, async () => {
  await assertParity({ 'readme.md': '# hi', 'empty.yaml': '# nothing\n---\n' });
});

test('the in-process build declines what it cannot reproduce exactly', async () => {
  const declined: Record<string, string>[] = [
    { 'a.yaml': 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec: {a: [ (? ]}\n' }, // go-yaml rejects this flow scalar
    { 'a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  annotations:\n    at: 2001-12-14\n' }, // timestamp
    { 'a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: &m\n  name: a\n' }, // anchor
    { 'a.yaml': 'apiVersion: v1\nkind: List\nitems: []\n' }, // List expansion
    { 'a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata: !!map {}\n' }, // explicit tag
    { 'a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels: {n: 1}\n' }, // non-string label
    { 'a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n' }, // duplicate
    { 'a.yaml': 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec:\n  list: [a, null]\n' }, // null list item
    { 'a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n', 'sub/kustomization.yaml': 'resources: []\n' }, // nested kustomization
    { 'a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  big: 12345678901234567890\n' }, // beyond 2^53
    { 'a.yaml': 'kind: ConfigMap\nmetadata:\n  name: a\n' }, // no apiVersion
  ];
  for (const files of declined) {
    await withTree(files, async (root) => {
      assert.equal(await buildInProcess(root), undefined, JSON.stringify(files));
    });
  }
});

// Random manifests over the scalar forms the in-process build accepts.
const safeKey = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_.-]{0,11}$/).filter((k) => k !== '<<');
const scalar = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.stringMatching(/^[a-z][a-z0-9 :-]{0,10}$/),
  fc.integer({ min: -1e9, max: 1e9 }),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }),
  fc.boolean(),
  fc.constant(null),
);
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small' }, scalar, fc.array(tie('leaf'), { maxLength: 3 }), fc.dictionary(safeKey, tie('node'), { maxKeys: 3 })),
  leaf: fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean()),
})).node;
const manifest = fc.record({
  kind: fc.constantFrom('ConfigMap', 'Service', 'Deployment', 'Widget', 'Namespace', 'Role', 'MutatingWebhookConfiguration'),
  name: fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/),
  namespace: fc.option(fc.stringMatching(/^[a-z][a-z0-9-]{0,5}$/), { nil: undefined }),
  labels: fc.dictionary(safeKey, fc.string({ maxLength: 8 }), { maxKeys: 2 }),
  spec: fc.dictionary(safeKey, value, { maxKeys: 4 }),
});

test('in-process build equals kustomize on generated manifests', { skip, timeout: 240_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(manifest, { minLength: 1, maxLength: 5 }), fc.constantFrom(0, 1, 2), async (items, layout) => {
      const seen = new Set<string>();
      const docs = items
        .filter((m) => {
          const id = `${m.kind}/${m.namespace ?? ''}/${m.name}`;
          if (seen.has(id)) return false;
          seen.add(id);
          return true;
        })
        .map((m) => ({
          apiVersion: m.kind === 'Widget' ? 'example.com/v1' : m.kind === 'Deployment' ? 'apps/v1' : m.kind.endsWith('Configuration') ? 'admissionregistration.k8s.io/v1' : m.kind === 'Role' ? 'rbac.authorization.k8s.io/v1' : 'v1',
          kind: m.kind,
          metadata: { name: m.name, ...(m.namespace ? { namespace: m.namespace } : {}), labels: m.labels },
          spec: m.spec,
        }));
      const texts = docs.map((d, i) => stringify(d, { lineWidth: 0, collectionStyle: layout === 1 && i % 2 === 0 ? 'flow' : 'any' }));
      const files: Record<string, string> = layout === 2 ? Object.fromEntries(texts.map((t, i) => [`d${i % 2}/m${i}.yaml`, t])) : { 'all.yaml': texts.join('---\n') };
      const root = await mkdtemp(path.join(os.tmpdir(), 'kustomize-prop-'));
      try {
        await writeTree(root, files);
        const fast = await buildInProcess(root);
        if (fast === undefined) return; // declined: kustomize will build it
        const slow = await kustomizeObjects(root);
        assert.equal(JSON.stringify(fast), JSON.stringify(slow), JSON.stringify(files));
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    }),
    { numRuns: 40 },
  );
});
