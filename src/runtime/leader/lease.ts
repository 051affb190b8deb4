import type { KubeClient } from '../client/client.ts';
import { isConflict, isNotFound } from '../client/errors.ts';
import type { KubeObject } from '../client/objects.ts';
import type { Logger } from '../log/logger.ts';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

/** Flux's controller defaults (`--leader-election-lease-duration` etc.). */
export const DEFAULT_LEASE = { leaseDurationMs: 35_000, renewDeadlineMs: 30_000, retryPeriodMs: 5_000 };

interface Lease extends KubeObject {
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string; leaseTransitions?: number };
}

/** metav1.MicroTime: RFC 3339 with microseconds. */
function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go does it: take the
 * lease when it is free or expired, renew it every retry period, and give up leadership
 * (calling `onLost`) when a renewal has not succeeded within the renew deadline.
 */
export class LeaderElector {
  private stopped = false;
  private leading = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: LeaderElectionOptions,
    private readonly log: Logger,
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }

  /** Resolves once this process leads; then keeps renewing until stop() or loss. */
  async run(onLost: () => void): Promise<void> {
    while (!this.stopped) {
      if (await this.tryAcquireOrRenew()) break;
      await sleep(this.opts.retryPeriodMs);
    }
    if (this.stopped) return;
    this.leading = true;
    this.log.info({ lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.opts.identity }, 'became leader');
    let lastRenew = Date.now();
    const renew = async (): Promise<void> => {
      if (this.stopped) return;
      const ok = await this.tryAcquireOrRenew().catch(() => false);
      if (ok) lastRenew = Date.now();
      if (!ok && Date.now() - lastRenew > this.opts.renewDeadlineMs) {
        this.leading = false;
        this.log.error('lost leadership: lease not renewed within the renew deadline');
        onLost();
        return;
      }
      this.timer = setTimeout(() => void renew(), this.opts.retryPeriodMs);
    };
    this.timer = setTimeout(() => void renew(), this.opts.retryPeriodMs);
  }

  /** Stops renewing and releases the lease so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    const ref = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: this.opts.namespace, name: this.opts.name };
    const lease = await this.client.get<Lease>(ref).catch(() => undefined);
    if (lease?.spec?.holderIdentity === this.opts.identity) {
      await this.client
        .update({ ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(new Date(0)) } })
        .catch(() => undefined);
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const ref = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: this.opts.namespace, name: this.opts.name };
    const now = new Date();
    const spec = {
      holderIdentity: this.opts.identity,
      leaseDurationSeconds: Math.ceil(this.opts.leaseDurationMs / 1000),
      renewTime: microTime(now),
    };
    try {
      const lease = await this.client.get<Lease>(ref);
      if (!lease) {
        await this.client.create({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: ref.namespace }, spec: { ...spec, acquireTime: microTime(now), leaseTransitions: 0 } });
        return true;
      }
      const holder = lease.spec?.holderIdentity ?? '';
      const renewed = lease.spec?.renewTime ? Date.parse(lease.spec.renewTime) : 0;
      const duration = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
      const expired = renewed + duration < now.getTime();
      if (holder && holder !== this.opts.identity && !expired) return false;
      const takeover = holder !== this.opts.identity;
      await this.client.update({
        ...lease,
        spec: {
          ...lease.spec,
          ...spec,
          acquireTime: takeover ? microTime(now) : (lease.spec?.acquireTime ?? microTime(now)),
          leaseTransitions: (lease.spec?.leaseTransitions ?? 0) + (takeover ? 1 : 0),
        },
      });
      return true;
    } catch (e) {
      if (isConflict(e) || isNotFound(e)) return false;
      this.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'leader election request failed');
      return false;
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
