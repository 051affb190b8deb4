import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findCondition, setCondition, sortConditions, type Condition } from './conditions.ts';

test('lastTransitionTime moves only on status change', () => {
  const conds: Condition[] = [];
  setCondition(conds, { type: 'Ready', status: 'False', reason: 'A', message: 'a' }, new Date('2026-01-01T00:00:00Z'));
  setCondition(conds, { type: 'Ready', status: 'False', reason: 'B', message: 'b' }, new Date('2026-01-01T00:05:00Z'));
  assert.equal(findCondition(conds, 'Ready')?.lastTransitionTime, '2026-01-01T00:00:00Z');
  assert.equal(findCondition(conds, 'Ready')?.reason, 'B');
  setCondition(conds, { type: 'Ready', status: 'True', reason: 'C', message: 'c', observedGeneration: 3 }, new Date('2026-01-01T00:10:00Z'));
  assert.equal(findCondition(conds, 'Ready')?.lastTransitionTime, '2026-01-01T00:10:00Z');
  assert.equal(findCondition(conds, 'Ready')?.observedGeneration, 3);
  assert.equal(conds.length, 1);
});

test('Ready sorts first', () => {
  const conds: Condition[] = [];
  for (const t of ['ArtifactInStorage', 'Stalled', 'Ready', 'Reconciling']) setCondition(conds, { type: t, status: 'True', reason: 'r', message: 'm' });
  assert.deepEqual(sortConditions(conds).map((c) => c.type), ['Ready', 'Reconciling', 'Stalled', 'ArtifactInStorage']);
});
