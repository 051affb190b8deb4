import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startControlPlane } from '../../src/cli/dev/control-plane.ts';
import { installCrds } from '../../src/cli/dev/crds.ts';
import { DEFAULT_BURST, DEFAULT_QPS, toolPaths } from '../../src/config/config.ts';
import { crdsDir } from '../../src/config/paths.ts';
import { KubeClient } from '../../src/runtime/client/client.ts';
import { BuildCache, buildCacheKey, buildKustomization } from '../../src/services/kustomize/pipeline.ts';
import { SsaApplier } from '../../src/services/ssa/index.ts';
import type { KustomizationSpec } from '../../src/api/kustomize.v1.ts';
import { report, type BenchResult } from './run.ts';

const run = promisify(execFile);

/** `APPS` × (ConfigMap, ServiceAccount, Service, Deployment with 0 replicas) in one namespace. */
async function writeManifests(dir: string, ns: string, APPS: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  const resources: string[] = [];
  for (let i = 0; i < APPS; i++) {
    const f = `app-${i}.yaml`;
    resources.push(f);
    await writeFile(
      path.join(dir, f),
      [
        `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-${i}\n  namespace: ${ns}\ndata:\n  config: "${'x'.repeat(100)}"\n`,
        `apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: app-${i}\n  namespace: ${ns}\n`,
        `apiVersion: v1\nkind: Service\nmetadata:\n  name: app-${i}\n  namespace: ${ns}\nspec:\n  selector:\n    app: app-${i}\n  ports:\n    - port: 80\n      protocol: TCP\n      targetPort: 8080\n`,
        `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-${i}\n  namespace: ${ns}\nspec:\n  replicas: 0\n  selector:\n    matchLabels:\n      app: app-${i}\n  template:\n    metadata:\n      labels:\n        app: app-${i}\n    spec:\n      containers:\n        - name: app\n          image: nginx:1.27\n          ports:\n            - containerPort: 8080\n              protocol: TCP\n`,
      ].join('---\n'),
    );
  }
  await writeFile(path.join(dir, 'kustomization.yaml'), `resources:\n${resources.map((r) => `  - ${r}`).join('\n')}\n`);
}

/**
 * A Kustomization's build + server-side apply of 240 objects, first apply and no-op
 * re-apply, against `kubectl apply --server-side -k` of the same directory.
 */
export async function kustomizationBenches(results: BenchResult[]): Promise<void> {
  for (const objects of (process.env['BENCH_OBJECTS'] ?? '1000,4000').split(',').map(Number)) await scenario(results, objects / 4);
}

async function scenario(results: BenchResult[], APPS: number): Promise<void> {
  const cp = await startControlPlane();
  const work = await mkdtemp(path.join(os.tmpdir(), 'bench-ks-'));
  // the operator's default client budget (--kube-api-qps, --kube-api-burst)
  const client = KubeClient.fromFile(cp.kubeconfigPath, { qps: DEFAULT_QPS, burst: DEFAULT_BURST });
  const kubectl = toolPaths().kubectl;
  try {
    await installCrds(client, crdsDir());
    for (const ns of ['bench-ours', 'bench-kubectl']) {
      await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
      await writeManifests(path.join(work, ns), ns, APPS);
    }
    const applier = new SsaApplier({ fieldManager: 'kustomize-controller', concurrency: 8 });
    const spec = { interval: '10m', prune: true, path: './', sourceRef: { kind: 'GitRepository', name: 'x' } } as KustomizationSpec;
    // as in the operator: kustomize's output is cached by artifact digest and options
    const cache = { store: new BuildCache(), key: buildCacheKey(`sha256:bench-${APPS}`, spec) };
    const reconcile = async (): Promise<number> => {
      const t = performance.now();
      const objects = await buildKustomization({
        root: path.join(work, 'bench-ours'),
        cache,
        spec,
        namespace: 'bench-ours',
        client,
        kubectl,
        noRemoteBases: true,
        strictSubstitution: true,
        secrets: 'decrypt',
      });
      await applier.apply(client, objects, { force: false, ownerLabels: { 'kustomize.toolkit.fluxcd.io/name': 'bench', 'kustomize.toolkit.fluxcd.io/namespace': 'bench-ours' }, identity: 'controller' });
      return performance.now() - t;
    };
    const kubectlApply = async (): Promise<number> => {
      const t = performance.now();
      await run(kubectl, ['--kubeconfig', cp.kubeconfigPath, 'apply', '--server-side', '--field-manager', 'bench', '-k', path.join(work, 'bench-kubectl')], { maxBuffer: 64 * 1024 * 1024 });
      return performance.now() - t;
    };
    const firstOurs = await reconcile();
    const firstKubectl = await kubectlApply();
    report(results, { name: `kustomization-first-apply-${APPS * 4}-objects`, value: firstOurs, unit: 'ms', baseline: 'kubectl apply --server-side -k', baselineValue: firstKubectl });
    const noop: number[] = [];
    const noopKubectl: number[] = [];
    for (let i = 0; i < 5; i++) {
      noop.push(await reconcile());
      noopKubectl.push(await kubectlApply());
    }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
    report(results, { name: `kustomization-noop-reconcile-${APPS * 4}-objects`, value: med(noop), unit: 'ms', baseline: 'kubectl apply --server-side -k (no changes)', baselineValue: med(noopKubectl) });
    const rss = process.memoryUsage().rss / 1024 / 1024;
    console.log(`bench process RSS after the kustomization scenarios: ${rss.toFixed(0)} MiB`);
  } finally {
    client.close();
    await cp.stop();
    await rm(work, { recursive: true, force: true });
  }
}
