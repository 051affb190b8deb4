import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../runtime/client/objects.ts';
import { headerFor, rowsFor, parseStatusSelector } from './get.ts';
import { cliKindOf, type CliKind } from './kinds.ts';
import { displayWidth, headerTitle, renderTable } from './table.ts';
import { NO_GOLDENS, readGolden } from './testing.ts';

const SHA = '696f056df216eea4f9401adbee0ff744d4df390f';

function gitRepo(name: string, ready: { status: string; message: string } | undefined, revision?: string): KubeObject {
  return {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'GitRepository',
    metadata: { name, namespace: 'flux-system' },
    spec: { url: 'ssh://git@github.com/example/repo', interval: '5m', ref: { branch: 'main' } },
    status: {
      ...(revision ? { artifact: { revision, digest: `sha1:${SHA}`, path: 'example', url: 'example' } } : {}),
      conditions: ready ? [{ type: 'Ready', reason: 'X', lastTransitionTime: '2021-07-20T00:48:16Z', ...ready }] : [],
    },
  };
}

const git = cliKindOf('GitRepository') as CliKind;
const fetched = { status: 'True', message: `Fetched revision: main@sha1:${SHA}` };

function table(items: KubeObject[], selector?: string): string {
  return renderTable(headerFor(git, false, false), rowsFor(git, items, { allNamespaces: false, includeKind: false, selector: parseStatusSelector(selector) }));
}

test('get sources git: padded cells, a tab after every data cell, a space after the last header cell', () => {
  const got = table(['podinfo', 'podinfo-shard1', 'podinfo-shard2'].map((n) => gitRepo(n, fetched, `main@sha1:${SHA}`)));
  const expected = [
    'NAME          \tREVISION          \tSUSPENDED\tREADY\tMESSAGE                              ',
    'podinfo       \tmain@sha1:696f056d\tFalse    \tTrue \tFetched revision: main@sha1:696f056d\t',
    'podinfo-shard1\tmain@sha1:696f056d\tFalse    \tTrue \tFetched revision: main@sha1:696f056d\t',
    'podinfo-shard2\tmain@sha1:696f056d\tFalse    \tTrue \tFetched revision: main@sha1:696f056d\t',
    '',
  ].join('\n');
  assert.equal(got, expected);
});

test('get sources git matches Flux goldens (status selectors)', (t) => {
  const golden = readGolden('get/get.golden');
  if (golden === undefined) return t.skip(NO_GOLDENS);
  assert.equal(table(['podinfo', 'podinfo-shard1', 'podinfo-shard2'].map((n) => gitRepo(n, fetched, `main@sha1:${SHA}`))), golden);
  const objs = [
    gitRepo('gr-failed', { status: 'False', message: 'failed to checkout and determine revision' }),
    gitRepo('gr-ready', fetched, `main@sha1:${SHA}`),
    gitRepo('gr-unknown', { status: 'Unknown', message: 'reconciliation in progress' }),
  ];
  assert.equal(table(objs, 'Ready=True'), readGolden('get/get_status_ready_true.golden'));
  assert.equal(table(objs, 'Ready=False'), readGolden('get/get_status_ready_false.golden'));
  assert.equal(table(objs, 'Ready!=True'), readGolden('get/get_status_ready_not_true.golden'));
});

test('status selector: case-insensitive, negation, bad format rejected', () => {
  const objs = [gitRepo('a', { status: 'False', message: 'x' }), gitRepo('b', fetched, 'main@sha1:abc')];
  assert.match(table(objs, 'ready=false'), /^a /m);
  assert.doesNotMatch(table(objs, 'ready=false'), /^b /m);
  assert.match(table(objs, 'READY!=false'), /^b /m);
  assert.throws(() => parseStatusSelector('ready'), /type=status or type!=status/);
});

test('an object without a Ready condition reads False, "waiting to be reconciled"', () => {
  const row = rowsFor(git, [gitRepo('new', undefined)], { allNamespaces: true, includeKind: true })[0];
  assert.deepEqual(row, ['flux-system', 'gitrepository/new', '', 'False', 'False', 'waiting to be reconciled']);
});

test('a multi-line cell spans lines; other cells pad blank', () => {
  assert.equal(renderTable(['a', 'b'], [['x', 'one\ntwo']]), 'A\tB   \nx\tone\t\n \ttwo\t\n');
});

test('no header prints rows only; header titles follow tablewriter', () => {
  assert.equal(renderTable([], [['a', 'b']]), 'a\tb\t\n');
  assert.equal(headerTitle('Last scan'), 'LAST SCAN');
  assert.equal(headerTitle('last_seen'), 'LAST SEEN');
  assert.equal(headerTitle('v1.2'), 'V1.2');
  assert.equal(displayWidth('\u001b[32mTrue\u001b[0m'), 4);
});
