import { randomBytes } from 'node:crypto';
import { after, before } from 'node:test';
import { startControlPlane, type ControlPlane } from '../../src/cli/dev/control-plane.ts';
import { installCrds } from '../../src/cli/dev/crds.ts';
import { crdsDir } from '../../src/config/paths.ts';
import { KubeClient } from '../../src/runtime/client/client.ts';

export interface TestCluster {
  kubeconfigPath: string;
  etcdUrl: string;
  client: KubeClient;
  /** Creates a uniquely named namespace for this test file and deletes it afterwards. */
  namespace(prefix?: string): Promise<string>;
}

/**
 * The cluster for an integration test file: the run's shared control plane
 * (FLOTILLA_TEST_KUBECONFIG, set by test/run.ts), or one started for this file alone when
 * the file is run by itself. Registers before/after hooks; call at the top of the file.
 */
export function useCluster(): { get(): TestCluster } {
  let cluster: TestCluster | undefined;
  let own: ControlPlane | undefined;
  const namespaces: string[] = [];
  before(async () => {
    let kubeconfigPath = process.env['FLOTILLA_TEST_KUBECONFIG'];
    let etcdUrl = process.env['FLOTILLA_TEST_ETCD'] ?? '';
    if (!kubeconfigPath) {
      own = await startControlPlane();
      kubeconfigPath = own.kubeconfigPath;
      etcdUrl = own.etcdUrl;
    }
    const client = KubeClient.fromFile(kubeconfigPath);
    if (own) await installCrds(client, crdsDir());
    cluster = {
      kubeconfigPath,
      etcdUrl,
      client,
      async namespace(prefix = 'test') {
        const name = `${prefix}-${randomBytes(3).toString('hex')}`;
        await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
        namespaces.push(name);
        return name;
      },
    };
  });
  after(async () => {
    if (cluster) {
      for (const ns of namespaces) await cluster.client.delete({ apiVersion: 'v1', kind: 'Namespace', name: ns }).catch(() => undefined);
      cluster.client.close();
    }
    await own?.stop();
  });
  return {
    get() {
      if (!cluster) throw new Error('useCluster(): the before hook has not run');
      return cluster;
    },
  };
}

/** Polls `fn` until it returns a value that is not undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${lastErr ? `: ${lastErr instanceof Error ? lastErr.message : String(lastErr)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
