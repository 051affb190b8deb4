import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { applySetters, isSetterFile, type PolicyImage } from '../../src/services/setters/setters.ts';

/**
 * Conformance with Flux's image-automation-controller setter tests
 * (internal/update/testdata/setters): the original files, updated with the policies
 * Flux's test uses, equal its expected files byte for byte.
 */

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = path.resolve(repoRoot, '..', 'shared', 'fixtures', 'flux', 'image-automation-controller', 'internal', 'update', 'testdata', 'setters');
const absent = existsSync(dir) ? false : `the Flux fixtures are not present at ${dir} (../shared is absent); setters conformance skipped`;
if (absent) console.log(`# SKIP: ${absent}`);

const policies = new Map<string, PolicyImage>([
  ['automation-ns:policy', { name: 'index.repo.fake/updated', tag: 'v1.0.1' }],
  ['automation-ns:unchanged', { name: 'image', tag: 'v1.0.0' }],
  ['automation-ns:policy-with-digest', { name: 'image', tag: 'v1.0.0', digest: 'sha256:6745aaad46d795c9836632e1fb62f24b7e7f4c843144da8e47a5465c411a14be' }],
]);

for (const file of ['marked.yaml', 'kustomization.yml', 'Kustomization']) {
  test(`setters: ${file} becomes Flux's expected file`, { skip: absent }, async () => {
    const original = await readFile(path.join(dir, 'original', file), 'utf8');
    const expected = await readFile(path.join(dir, 'expected', file), 'utf8');
    const out = isSetterFile(file) ? applySetters(file, original, policies).text : original;
    assert.equal(out, expected);
  });
}
