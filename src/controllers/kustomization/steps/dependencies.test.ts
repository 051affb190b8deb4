import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StepContext } from '../../../runtime/reconcile/types.ts';
import type { ClientFactory } from '../../../services/tenancy/clients.ts';
import type { KustomizationObject, KustomizationState, SourceObject } from '../types.ts';
import { dependenciesStep } from './dependencies.ts';

// step-level test: the lookups stand in for the informer caches
const clients = { checkReference: () => undefined } as unknown as ClientFactory;

function ks(name: string, opts: { source?: string; dependsOn?: Array<{ name: string; readyExpr?: string }>; ready?: boolean; applied?: string; labels?: Record<string, string> } = {}): KustomizationObject {
  return {
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: { name, namespace: 'ns', generation: 1, ...(opts.labels ? { labels: opts.labels } : {}) },
    spec: { interval: '1m', prune: true, sourceRef: { kind: 'GitRepository', name: opts.source ?? 'repo' }, ...(opts.dependsOn ? { dependsOn: opts.dependsOn } : {}) },
    status: { observedGeneration: 1, conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True', reason: 'x', message: '', lastTransitionTime: '' }], ...(opts.applied ? { lastAppliedRevision: opts.applied } : {}) },
  } as unknown as KustomizationObject;
}

async function check(self: KustomizationObject, others: KustomizationObject[], revision = 'main@sha1:2', additive = false): Promise<string | undefined> {
  const byName = new Map(others.map((o) => [o.metadata.name, o]));
  const source = { status: { artifact: { revision } } } as unknown as SourceObject;
  const step = dependenciesStep(clients, (_k, _ns, name) => byName.get(name), (_k, _ns, name) => (name === 'repo' ? source : undefined), { additive });
  const ctx = { obj: self, state: {}, status: { conditions: [] }, log: { debug: () => undefined } } as unknown as StepContext<KustomizationObject, KustomizationState>;
  try {
    await step.run(ctx);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

test('a dependency on the same source must have applied its current revision', async () => {
  const me = ks('app', { dependsOn: [{ name: 'infra' }] });
  assert.equal(await check(me, [ks('infra', { applied: 'main@sha1:1' })]), "dependency 'ns/infra' revision is not up to date");
  assert.equal(await check(me, [ks('infra', { applied: 'main@sha1:2' })]), undefined);
  // another source: its own revision is not compared
  assert.equal(await check(me, [ks('infra', { source: 'other', applied: 'main@sha1:1' })]), undefined);
  assert.equal(await check(me, [ks('infra', { ready: false, applied: 'main@sha1:2' })]), "dependency 'ns/infra' is not ready");
  assert.equal(await check(me, []), "dependency 'ns/infra' not found");
});

test('readyExpr replaces the built-in readiness check', async () => {
  const expr = "dep.metadata.?labels.?tier.orValue('') == 'base'";
  const me = ks('app', { dependsOn: [{ name: 'infra', readyExpr: expr }] });
  assert.equal(await check(me, [ks('infra', { ready: false, labels: { tier: 'base' } })]), undefined, 'not Ready, but the expression holds');
  assert.equal(await check(me, [ks('infra', { labels: { tier: 'edge' } })]), "dependency 'ns/infra' is not ready according to readyExpr eval");
  const failing = ks('app', { dependsOn: [{ name: 'infra', readyExpr: 'dep.status.missing == 1' }] });
  assert.match((await check(failing, [ks('infra')])) ?? '', /dependency 'ns\/infra': .*missing/);
});

test('AdditiveCELDependencyCheck: readyExpr and the built-in checks must both hold', async () => {
  const me = ks('app', { dependsOn: [{ name: 'infra', readyExpr: "dep.metadata.?labels.?tier.orValue('') == 'base'" }] });
  const notReady = ks('infra', { ready: false, labels: { tier: 'base' } });
  assert.equal(await check(me, [notReady], 'main@sha1:2', true), "dependency 'ns/infra' is not ready");
  assert.equal(await check(me, [ks('infra', { labels: { tier: 'base' }, applied: 'main@sha1:2' })], 'main@sha1:2', true), undefined);
});
