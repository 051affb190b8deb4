/**
 * Plays a Flux controller for the CLI's integration tests: whenever an object of one kind
 * carries a reconcile request it has not handled, or a generation it has not observed, it
 * writes the status `react` returns, with `lastHandledReconcileAt` and
 * `observedGeneration` filled in as a controller would. The CLI then sees what it would
 * see from Flotilla's real controllers, without running them.
 */
import type { KubeClient } from '../../src/runtime/client/client.ts';
import type { KubeObject } from '../../src/runtime/client/objects.ts';

export type React = (obj: KubeObject) => Record<string, unknown> | undefined;

export function condition(type: string, status: 'True' | 'False' | 'Unknown', reason: string, message: string, observedGeneration?: number): Record<string, unknown> {
  return { type, status, reason, message, lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), ...(observedGeneration !== undefined ? { observedGeneration } : {}) };
}

export function artifact(revision: string): Record<string, unknown> {
  return { revision, digest: `sha256:${'a'.repeat(64)}`, path: 'x.tar.gz', url: 'http://localhost/x.tar.gz', lastUpdateTime: '2026-01-01T00:00:00Z' };
}

export class FakeController {
  private stopped = false;
  private loop: Promise<void> | undefined;
  /** How many reconciliations it performed, by object name. */
  readonly handled = new Map<string, number>();

  constructor(
    private readonly client: KubeClient,
    private readonly apiVersion: string,
    private readonly kind: string,
    private readonly namespace: string,
    private readonly react: React,
  ) {}

  start(): this {
    this.loop = (async () => {
      while (!this.stopped) {
        await this.tick().catch(() => undefined);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    return this;
  }

  private async tick(): Promise<void> {
    const list = await this.client.list(this.apiVersion, this.kind, { namespace: this.namespace });
    for (const obj of list.items) {
      const requested = obj.metadata.annotations?.['reconcile.fluxcd.io/requestedAt'];
      const status = (obj['status'] ?? {}) as Record<string, unknown>;
      const generation = obj.metadata.generation ?? 0;
      const pendingRequest = requested !== undefined && status['lastHandledReconcileAt'] !== requested;
      const pendingGeneration = typeof status['observedGeneration'] !== 'number' || status['observedGeneration'] < generation;
      if (!pendingRequest && !pendingGeneration) continue;
      if (obj['spec'] && (obj['spec'] as Record<string, unknown>)['suspend'] === true) continue;
      const next = this.react(obj);
      if (!next) continue;
      await this.client.patchStatus(
        { apiVersion: this.apiVersion, kind: this.kind, namespace: this.namespace, name: obj.metadata.name },
        { ...next, observedGeneration: generation, ...(requested !== undefined ? { lastHandledReconcileAt: requested } : {}) },
        'fake-controller',
      );
      this.handled.set(obj.metadata.name, (this.handled.get(obj.metadata.name) ?? 0) + 1);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}
