import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Indexer } from './indexer.ts';

interface Obj { ns: string; name: string; secret?: string }

test('indexes follow updates and deletes', () => {
  const ix = new Indexer<Obj>();
  ix.addIndex('secret', (o) => (o.secret ? [`${o.ns}/${o.secret}`] : []));
  ix.set('a/x', { ns: 'a', name: 'x', secret: 's1' });
  ix.set('a/y', { ns: 'a', name: 'y', secret: 's1' });
  ix.set('b/z', { ns: 'b', name: 'z', secret: 's1' });
  assert.deepEqual(ix.byIndex('secret', 'a/s1').map((o) => o.name).sort(), ['x', 'y']);
  ix.set('a/y', { ns: 'a', name: 'y', secret: 's2' });
  assert.deepEqual(ix.byIndex('secret', 'a/s1').map((o) => o.name), ['x']);
  assert.deepEqual(ix.byIndex('secret', 'a/s2').map((o) => o.name), ['y']);
  ix.delete('a/x');
  assert.deepEqual(ix.byIndex('secret', 'a/s1'), []);
  assert.equal(ix.list('a').length, 1);
  assert.equal(ix.list().length, 2);
});

test('an index added late covers existing items', () => {
  const ix = new Indexer<Obj>();
  ix.set('a/x', { ns: 'a', name: 'x', secret: 'k' });
  ix.addIndex('secret', (o) => (o.secret ? [o.secret] : []));
  assert.equal(ix.byIndex('secret', 'k').length, 1);
});
