import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../runtime/client/objects.ts';
import { CustomHealthChecks, InvalidCelExpression, compileReadyExpr } from './index.ts';

const widget = (status: Record<string, unknown>, generation = 1): KubeObject =>
  ({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'ns', generation }, status }) as KubeObject;

const checks = new CustomHealthChecks([
  {
    apiVersion: 'example.com/v1',
    kind: 'Widget',
    inProgress: "has(status.phase) && status.phase == 'Pending'",
    failed: "status.conditions.exists(c, c.type == 'Ready' && c.status == 'False' && c.reason == 'Broken')",
    current: "status.conditions.filter(c, c.type == 'Ready').all(c, c.status == 'True') && status.replicas == 3",
  },
  { apiVersion: 'other.io/v1', current: "status.?ok.orValue(false)" },
]);

test('RFC 0009 order: stale generation, inProgress, failed, current, else InProgress', () => {
  const ready = { observedGeneration: 1, replicas: 3, conditions: [{ type: 'Ready', status: 'True' }] };
  assert.equal(checks.statusOf(widget(ready))?.status, 'Current');
  assert.equal(checks.statusOf(widget(ready, 2))?.status, 'InProgress', 'observedGeneration behind');
  assert.equal(checks.statusOf(widget({ ...ready, phase: 'Pending' }))?.status, 'InProgress');
  assert.equal(checks.statusOf(widget({ ...ready, conditions: [{ type: 'Ready', status: 'False', reason: 'Broken' }] }))?.status, 'Failed');
  assert.equal(checks.statusOf(widget({ ...ready, replicas: 2 }))?.status, 'InProgress', 'nothing true yet');
});

test('a check without a kind covers its group; other groups are not covered', () => {
  const o = { apiVersion: 'other.io/v1', kind: 'Anything', metadata: { name: 'a' }, status: { ok: true } } as KubeObject;
  assert.equal(checks.statusOf(o)?.status, 'Current');
  assert.equal(checks.statusOf({ ...o, status: {} } as KubeObject)?.status, 'InProgress');
  assert.equal(checks.statusOf({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' } } as KubeObject), undefined);
});

test('a missing field fails the evaluation with the expression named', () => {
  assert.throws(() => checks.statusOf(widget({ observedGeneration: 1 })), /evaluating the failed expression .*conditions/);
});

test('invalid expressions and duplicates are refused up front', () => {
  assert.throws(() => new CustomHealthChecks([{ apiVersion: 'a/v1', kind: 'A', current: 'status.ready ==' }]), InvalidCelExpression);
  assert.throws(() => new CustomHealthChecks([{ apiVersion: 'a/v1', kind: 'A', current: '"yes"' }]), /returns string, not bool/);
  assert.throws(
    () => new CustomHealthChecks([{ apiVersion: 'a/v1', kind: 'A', current: 'true' }, { apiVersion: 'a/v2', kind: 'A', current: 'false' }]),
    /duplicate custom health check for A\.a at healthCheckExprs\[1\]/,
  );
});

test('readyExpr sees self and dep', () => {
  const ready = compileReadyExpr("dep.status.conditions.exists(c, c.type == 'Ready' && c.status == 'True') && dep.metadata.generation == self.metadata.generation", 'dependsOn[0].readyExpr');
  const self = { apiVersion: 'k/v1', kind: 'Kustomization', metadata: { name: 's', generation: 2 } } as KubeObject;
  const dep = (status: string, generation: number) => ({ ...self, metadata: { name: 'd', generation }, status: { conditions: [{ type: 'Ready', status }] } }) as KubeObject;
  assert.equal(ready(self, dep('True', 2)), true);
  assert.equal(ready(self, dep('False', 2)), false);
  assert.equal(ready(self, dep('True', 1)), false);
  assert.throws(() => compileReadyExpr('unknown.x', 'dependsOn[0].readyExpr'), InvalidCelExpression);
});
