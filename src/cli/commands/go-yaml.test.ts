import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exportDocument, goKeyLess, goStringStyle, resolvesToNonString, toGoYaml } from './go-yaml.ts';

test('strings YAML 1.1 reads as other types are double-quoted, like go-yaml', () => {
  for (const s of ['true', 'yes', 'On', 'null', '~', '', '1', '0x1F', '1_000', '1.5', '1e3', '.inf', '2021-08-01', '2021-08-01T04:28:42Z', '1:20', '09']) {
    assert.equal(resolvesToNonString(s), true, s);
    assert.equal(goStringStyle(s), 'QUOTE_DOUBLE', s);
  }
  for (const s of ['5m0s', 'main', 'v1.2.3', '1.2.3', 'ssh://git@github.com/x', '-foo', 'sha1:abc', '2021-13-01']) {
    assert.equal(resolvesToNonString(s), false, s);
  }
});

test('strings that cannot be plain are single-quoted; multi-line ones are literal blocks', () => {
  assert.equal(goStringStyle('*'), 'QUOTE_SINGLE');
  assert.equal(goStringStyle('---x'), 'QUOTE_SINGLE');
  assert.equal(goStringStyle('a: b'), 'QUOTE_SINGLE');
  assert.equal(goStringStyle('a #b'), 'QUOTE_SINGLE');
  assert.equal(goStringStyle(' lead'), 'QUOTE_SINGLE');
  assert.equal(goStringStyle('a#b'), 'PLAIN');
  assert.equal(goStringStyle('a\tb'), 'QUOTE_DOUBLE');
  assert.equal(goStringStyle('one\ntwo'), 'BLOCK_LITERAL');
  assert.equal(goStringStyle('one \ntwo'), 'QUOTE_DOUBLE');
  assert.equal(
    toGoYaml({ version: '*', ignore: '.cosign\nnon-existent-dir/', on: 'on', empty: '', quote: "'q" }),
    "empty: \"\"\nignore: |-\n  .cosign\n  non-existent-dir/\n\"on\": \"on\"\nquote: '''q'\nversion: '*'\n",
  );
});

test('keys sort like go-yaml: digit runs numerically, letters after other characters', () => {
  assert.equal(goKeyLess('a2', 'a10'), true);
  assert.equal(goKeyLess('a10', 'a2'), false);
  assert.equal(goKeyLess('A_', 'AB'), true);
  assert.equal(goKeyLess('ab', 'abc'), true);
  assert.equal(toGoYaml({ b: 1, a10: 2, a2: 3, '1': 4 }), "\"1\": 4\na2: 3\na10: 2\nb: 1\n");
});

test('sequences are not indented under their key; empty collections are flow style', () => {
  assert.equal(
    toGoYaml({ spec: { list: [{ kind: 'GitRepository', name: '*' }, 'x'], empty: {}, none: [] } }),
    "spec:\n  empty: {}\n  list:\n  - kind: GitRepository\n    name: '*'\n  - x\n  none: []\n",
  );
});

test('exportDocument starts with --- and ends with one newline', () => {
  assert.equal(exportDocument({ kind: 'X', apiVersion: 'v1' }), '---\napiVersion: v1\nkind: X\n');
});
