import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StallingError } from '../../runtime/errors.ts';
import { applyCommonMetadata } from './common-metadata.ts';
import { envsubst, VariableNotSetError } from './envsubst.ts';
import { collectVars, substitute } from './substitute.ts';

const vars: Record<string, string> = { NAME: 'web', EMPTY: '', PATH_VAR: 'a/b/c.txt', NUM: '8080' };
const strict = (s: string): string => envsubst(s, (n) => vars[n]);
const lenient = (s: string): string => envsubst(s, (n) => vars[n] ?? '');

test('envsubst: plain references, defaults and escapes', () => {
  assert.equal(strict('name: ${NAME}'), 'name: web');
  assert.equal(strict('${NAME}-${NUM}'), 'web-8080');
  assert.equal(strict('${MISSING:=fallback}'), 'fallback');
  assert.equal(strict('${MISSING:-fallback}'), 'fallback');
  assert.equal(strict('${EMPTY:=fallback}'), 'fallback', 'an empty value takes the default');
  assert.equal(strict('${MISSING=x}'), 'x');
  assert.equal(strict('${MISSING:=${NAME}}'), 'web', 'nested default');
  assert.equal(strict('$${NAME}'), '${NAME}', '$$ escapes a reference');
  assert.equal(strict('price: $$5'), 'price: $5', 'any $$ becomes $, as in Flux');
  assert.equal(strict('$NAME and $ alone'), '$NAME and $ alone', 'bare $var is not substituted');
  assert.equal(strict('${MISSING:=a b c}'), 'a b c');
});

test('envsubst: bash string functions', () => {
  assert.equal(strict('${#NAME}'), '3');
  assert.equal(strict('${NAME^}'), 'Web');
  assert.equal(strict('${NAME^^}'), 'WEB');
  assert.equal(envsubst('${X,}', () => 'ABC'), 'aBC');
  assert.equal(envsubst('${X,,}', () => 'ABC'), 'abc');
  assert.equal(strict('${NAME:1}'), 'eb');
  assert.equal(strict('${NAME:0:2}'), 'we');
  assert.equal(strict('${NAME:-2}'), 'web', ':- is the default operator, not a negative offset');
  assert.equal(strict('${PATH_VAR#*/}'), 'b/c.txt');
  assert.equal(strict('${PATH_VAR##*/}'), 'c.txt');
  assert.equal(strict('${PATH_VAR%.*}'), 'a/b/c');
  assert.equal(strict('${PATH_VAR%%/*}'), 'a');
  assert.equal(strict('${PATH_VAR/\\//-}'), 'a-b/c.txt');
  assert.equal(strict('${PATH_VAR//\\//-}'), 'a-b-c.txt');
  assert.equal(strict('${PATH_VAR/#a/z}'), 'z/b/c.txt');
  assert.equal(strict('${PATH_VAR/%txt/md}'), 'a/b/c.md');
  assert.equal(envsubst('${X/a/$&}', () => 'abc'), '$&bc', 'replacement text is literal');
});

test('envsubst: strict mode and syntax errors', () => {
  assert.throws(() => strict('${MISSING}'), (e: unknown) => e instanceof VariableNotSetError && e.variable === 'MISSING' && /variable not set \(strict mode\): "MISSING"/.test(e.message));
  assert.throws(() => strict('${#MISSING}'), VariableNotSetError, 'operators that read the value need it');
  assert.throws(() => strict('${MISSING:=${ALSO_MISSING}}'), VariableNotSetError, 'nested references are evaluated');
  assert.equal(lenient('a${MISSING}b'), 'ab', 'lenient mode substitutes an empty string');
  assert.throws(() => strict('${NAME'), /bad substitution|missing closing brace/);
  assert.throws(() => strict('${ NAME}'), /unable to parse variable name/);
  assert.throws(() => strict('${NAME-x}'), /missing closing brace/, "'-' without ':' is not in Flux's grammar");
});

test('substitute works on the YAML text of each object and reads it back as Flux does', () => {
  const objects = [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cm-${NAME}', namespace: '${NS:=default}' },
      data: { port: '${NUM}', enabled: '${FLAG}', text: 'keep $$HOME and $${ESCAPED}', quoted: '${QUOTE}${NUM}${QUOTE}' },
    },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', annotations: { 'kustomize.toolkit.fluxcd.io/substitute': 'disabled' } }, stringData: { x: '${NAME}' } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's2', labels: { 'kustomize.toolkit.fluxcd.io/substitute': 'disabled' } }, stringData: { x: '${NAME}' } },
  ];
  const out = substitute(objects, { NAME: 'web', NUM: '8080', FLAG: 'yes', QUOTE: '"' }, { strict: true });
  assert.deepEqual(out[0], {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'cm-web', namespace: 'default' },
    // Re-read with YAML 1.1 rules, like Flux: numbers and yes/no change type unless quoted.
    data: { port: 8080, enabled: true, text: 'keep $HOME and ${ESCAPED}', quoted: '8080' },
  });
  assert.equal(out[1], objects[1], 'annotated objects are skipped');
  assert.equal(out[2], objects[2], 'labelled objects are skipped');
  assert.equal(objects[0]?.metadata.name, 'cm-${NAME}', 'inputs are not modified');
});

test('substitute: no variables means no substitution unless always; errors are clear and carry no values', () => {
  const objects = [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' }, data: { x: '${MISSING:=def}', y: '${UNSET}' } }];
  assert.deepEqual(substitute(objects, {}, { strict: true }), objects);
  assert.throws(
    () => substitute(objects, {}, { strict: true, always: true }),
    (e: unknown) => e instanceof StallingError && e.reason === 'BuildFailed' && /ConfigMap\/a.*variable not set \(strict mode\): "UNSET"/.test(e.message),
  );
  const lenient = substitute(objects, { OTHER: 'v' }, { strict: false });
  assert.deepEqual((lenient[0] as { data: unknown }).data, { x: 'def', y: null }, 'an empty substitution reads back as null, as in Flux');
  assert.throws(() => substitute(objects, { 'bad-name': 'v' }, { strict: true }), /'bad-name' var name is invalid/);
  const broken = [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' }, data: { x: '${V}' } }];
  assert.throws(
    () => substitute(broken, { V: 'topsecret: [' }, { strict: true }),
    (e: unknown) => e instanceof StallingError && /substituted YAML is invalid/.test(e.message) && !e.message.includes('topsecret'),
  );
});

test('collectVars: substituteFrom in order, later wins, inline substitute wins over all, newlines dropped', () => {
  const vars = collectVars({ B: 'inline', C: 'multi\nline' }, [
    { kind: 'ConfigMap', name: 'one', data: { A: 'cm-a', B: 'cm-b' } },
    { kind: 'Secret', name: 'two', data: { A: Buffer.from('secret-a\n').toString('base64') } },
    { kind: 'ConfigMap', name: 'optional-missing', data: undefined },
  ]);
  assert.deepEqual(vars, { A: 'secret-a', B: 'inline', C: 'multiline' });
});

test('applyCommonMetadata sets labels and annotations on every object', () => {
  const objects = [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', labels: { keep: 'x', env: 'old' } } }];
  const out = applyCommonMetadata(objects, { labels: { env: 'prod' }, annotations: { team: 'core' } });
  assert.deepEqual(out[0]?.metadata, { name: 'a', labels: { keep: 'x', env: 'prod' }, annotations: { team: 'core' } });
  assert.deepEqual(objects[0]?.metadata.labels, { keep: 'x', env: 'old' });
});
