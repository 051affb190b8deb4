import { Informer } from '../../runtime/cache/informer.ts';
import type { KubeClient } from '../../runtime/client/client.ts';
import { isConflict, isNotFound } from '../../runtime/client/errors.ts';
import type { KubeObject } from '../../runtime/client/objects.ts';
import type { Logger } from '../../runtime/log/logger.ts';

export const FAKE_NODE = 'fake-node';

interface Pod extends KubeObject {
  spec?: { nodeName?: string; containers?: Array<{ name: string; image?: string }> };
  status?: { phase?: string };
}

/**
 * Plays the kubelet and the scheduler for a control plane that has neither: one Ready
 * Node, every new Pod bound to it and reported Running and Ready. The controller-manager
 * then marks ReplicaSets, Deployments and StatefulSets available, so health checks and
 * `helm --wait` behave as on a real cluster.
 */
export class FakeKubelet {
  private readonly pods: Informer<Pod>;
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly client: KubeClient,
    private readonly log: Logger,
  ) {
    this.pods = new Informer<Pod>(client, { apiVersion: 'v1', kind: 'Pod' }, log);
    const handle = (p: Pod): void => void this.handle(p);
    this.pods.on('add', handle).on('update', handle);
  }

  async start(): Promise<void> {
    await this.ensureNode();
    this.pods.start();
    await this.pods.synced;
  }

  stop(): Promise<void> {
    return this.pods.stop();
  }

  private async ensureNode(): Promise<void> {
    const existing = await this.client.get({ apiVersion: 'v1', kind: 'Node', name: FAKE_NODE });
    if (!existing) {
      await this.client.create({
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: FAKE_NODE, labels: { 'kubernetes.io/hostname': FAKE_NODE, 'kubernetes.io/os': 'linux' } },
      });
    }
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    await this.client.patchStatus(
      { apiVersion: 'v1', kind: 'Node', name: FAKE_NODE },
      {
        capacity: { cpu: '64', memory: '256Gi', pods: '10000' },
        allocatable: { cpu: '64', memory: '256Gi', pods: '10000' },
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'fake kubelet is ready', lastHeartbeatTime: now, lastTransitionTime: now }],
        nodeInfo: { kubeletVersion: 'v1.20.2', architecture: 'amd64', operatingSystem: 'linux', containerRuntimeVersion: 'fake://1', kernelVersion: '', osImage: 'flotilla', kubeProxyVersion: 'v1.20.2', machineID: '', systemUUID: '', bootID: '' },
      },
      'fake-kubelet',
    );
  }

  private async handle(pod: Pod): Promise<void> {
    if (pod.metadata.deletionTimestamp) {
      // a kubelet confirms a graceful deletion once the containers stopped: at once, here
      if (pod.spec?.nodeName === FAKE_NODE) {
        const ns = encodeURIComponent(pod.metadata.namespace ?? 'default');
        await this.client
          .raw('DELETE', `/api/v1/namespaces/${ns}/pods/${encodeURIComponent(pod.metadata.name)}`, { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0 })
          .catch(() => undefined);
      }
      return;
    }
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    if (this.inFlight.has(key)) return;
    const needsBinding = !pod.spec?.nodeName;
    const needsStatus = pod.spec?.nodeName === FAKE_NODE && pod.status?.phase !== 'Running';
    if (!needsBinding && !needsStatus) return;
    this.inFlight.add(key);
    try {
      const ns = pod.metadata.namespace ?? 'default';
      if (needsBinding) {
        await this.client.raw('POST', `/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(pod.metadata.name)}/binding`, {
          apiVersion: 'v1',
          kind: 'Binding',
          metadata: { name: pod.metadata.name, namespace: ns },
          target: { apiVersion: 'v1', kind: 'Node', name: FAKE_NODE },
        });
      }
      const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
      const cond = (type: string) => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: now });
      await this.client.patchStatus(
        { apiVersion: 'v1', kind: 'Pod', namespace: ns, name: pod.metadata.name },
        {
          phase: 'Running',
          hostIP: '127.0.0.1',
          podIP: '127.0.0.1',
          startTime: now,
          conditions: [cond('PodScheduled'), cond('Initialized'), cond('ContainersReady'), cond('Ready')],
          containerStatuses: (pod.spec?.containers ?? []).map((c) => ({
            name: c.name,
            image: c.image ?? '',
            imageID: '',
            ready: true,
            started: true,
            restartCount: 0,
            state: { running: { startedAt: now } },
          })),
        },
        'fake-kubelet',
      );
    } catch (e) {
      if (!isNotFound(e) && !isConflict(e)) this.log.warn({ pod: key, err: e instanceof Error ? e.message : String(e) }, 'fake kubelet could not start pod');
    } finally {
      this.inFlight.delete(key);
    }
  }
}
