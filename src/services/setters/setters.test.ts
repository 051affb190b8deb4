import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applySetters, type PolicyImage } from './setters.ts';

const policies = new Map<string, PolicyImage>([
  ['apps:web', { name: 'ghcr.io/org/web', tag: '1.2.3' }],
  ['apps:pinned', { name: 'ghcr.io/org/api', tag: '2.0.0', digest: 'sha256:abc' }],
]);

test('each marker form replaces just its value; quotes, comments and other lines stay', () => {
  const text = [
    'spec:',
    '  containers:',
    '    - name: web',
    '      image: ghcr.io/org/web:1.0.0 # {"$imagepolicy": "apps:web"}',
    '    - image: "ghcr.io/org/api:1.0.0"  # {"$imagepolicy": "apps:pinned"}',
    'images:',
    '  - name: web',
    '    newName: old # {"$imagepolicy": "apps:web:name"}',
    "    newTag: '1.0.0' # {\"$imagepolicy\": \"apps:web:tag\"}",
    '    digest: sha256:old # {"$imagepolicy": "apps:pinned:digest"}',
    '    other: keep # {"$imagepolicy": "apps:unknown"}',
    '# image: ghcr.io/org/web:1.0.0 # {"$imagepolicy": "apps:web"} in a comment is left alone',
  ].join('\n');
  const { text: out, changes } = applySetters('deploy.yaml', text, policies);
  assert.equal(
    out,
    [
      'spec:',
      '  containers:',
      '    - name: web',
      '      image: ghcr.io/org/web:1.2.3 # {"$imagepolicy": "apps:web"}',
      '    - image: "ghcr.io/org/api:2.0.0@sha256:abc"  # {"$imagepolicy": "apps:pinned"}',
      'images:',
      '  - name: web',
      '    newName: ghcr.io/org/web # {"$imagepolicy": "apps:web:name"}',
      "    newTag: '1.2.3' # {\"$imagepolicy\": \"apps:web:tag\"}",
      '    digest: sha256:abc # {"$imagepolicy": "apps:pinned:digest"}',
      '    other: keep # {"$imagepolicy": "apps:unknown"}',
      '# image: ghcr.io/org/web:1.0.0 # {"$imagepolicy": "apps:web"} in a comment is left alone',
    ].join('\n'),
  );
  assert.deepEqual(changes.map((c) => [c.line, c.policy, c.newValue]), [
    [4, 'apps:web', 'ghcr.io/org/web:1.2.3'],
    [5, 'apps:pinned', 'ghcr.io/org/api:2.0.0@sha256:abc'],
    [8, 'apps:web:name', 'ghcr.io/org/web'],
    [9, 'apps:web:tag', '1.2.3'],
    [10, 'apps:pinned:digest', 'sha256:abc'],
  ]);
  assert.deepEqual(applySetters('x.yaml', out, policies).changes, [], 'idempotent');
});
