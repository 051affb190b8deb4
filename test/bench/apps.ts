import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort, startControlPlane } from '../../src/cli/dev/control-plane.ts';
import { installCrds } from '../../src/cli/dev/crds.ts';
import { createRepo, startGitHttpServer } from '../../src/cli/dev/git-server.ts';
import { crdsDir, packageRoot } from '../../src/config/paths.ts';
import { KubeClient } from '../../src/runtime/client/client.ts';
import type { KubeObject } from '../../src/runtime/client/objects.ts';
import { mapLimit } from '../../src/services/ssa/concurrency.ts';
import { report, type BenchResult } from './run.ts';

const NS = 'bench-apps';

function appFiles(n: number): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    const name = `app-${i}`;
    files[`apps/${name}/resources.yaml`] = [
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${NS}\ndata:\n  index: "${i}"\n`,
      `apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: ${name}\n  namespace: ${NS}\n`,
      `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n  namespace: ${NS}\nspec:\n  selector:\n    app: ${name}\n  ports:\n    - port: 80\n`,
      `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\n  namespace: ${NS}\nspec:\n  replicas: 0\n  selector:\n    matchLabels:\n      app: ${name}\n  template:\n    metadata:\n      labels:\n        app: ${name}\n    spec:\n      containers:\n        - name: app\n          image: nginx:1.27\n`,
    ].join('---\n');
  }
  return files;
}

async function waitHealthy(url: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await fetch(url).then((r) => r.ok, () => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`operator not ready at ${url}`);
}

/** Peak resident set of a process (VmHWM), in MiB. */
async function peakRssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(status.match(/VmHWM:\s+(\d+) kB/)?.[1] ?? NaN);
  return kb / 1024;
}

/** CPU seconds a process used so far: its own, and that of its children it has waited for. */
async function cpuSeconds(pid: number | 'self'): Promise<{ own: number; children: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  const tick = 100; // USER_HZ on Linux
  return { own: ((f[11] ?? 0) + (f[12] ?? 0)) / tick, children: ((f[13] ?? 0) + (f[14] ?? 0)) / tick };
}

/**
 * S4: N apps, each its own GitRepository + Kustomization (4 objects, `wait: true`), all
 * created at once against a running operator process: time until every Kustomization is
 * Ready, and the operator's peak RSS. The goals (60 s, 250 MiB for 500 apps) are the baselines.
 */
async function appsScenario(results: BenchResult[], n: number): Promise<void> {
  const cp = await startControlPlane();
  const work = await mkdtemp(path.join(os.tmpdir(), 'bench-apps-'));
  const git = await startGitHttpServer({ root: path.join(work, 'git') });
  const client = KubeClient.fromFile(cp.kubeconfigPath, { qps: 0 });
  const root = packageRoot();
  const built = path.join(root, 'dist', 'cli.js');
  const entry = existsSync(built) ? [built] : ['--import', 'tsx', path.join(root, 'src', 'cli.ts')];
  let op: ReturnType<typeof spawn> | undefined;
  try {
    await installCrds(client, crdsDir());
    await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    // each app its own repository (one monorepo of N apps would make every reconcile unpack
    // all N apps: quadratic in the benchmark's own setup)
    const all = appFiles(n);
    await mapLimit([...Array(n).keys()], 4, async (i) => {
      const file = `apps/app-${i}/resources.yaml`;
      await createRepo(path.join(work, 'git'), `app-${i}`, { [file]: all[file] as string });
    });
    const [metrics, health, storage] = [await freePort(), await freePort(), await freePort()];
    op = spawn(process.execPath, [
      ...(process.env['BENCH_PROFILE'] ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_PROFILE']}`] : []),
      ...entry, 'operator', '--kubeconfig', cp.kubeconfigPath, '--storage-path', path.join(work, 'store'),
      '--storage-addr', `127.0.0.1:${storage}`, '--storage-adv-addr', `127.0.0.1:${storage}`,
      '--metrics-addr', `127.0.0.1:${metrics}`, '--health-addr', `127.0.0.1:${health}`, '--receiver-addr', '127.0.0.1:0',
      '--concurrent', process.env['BENCH_CONCURRENT'] ?? '20', '--log-level', 'error',
    ], { stdio: 'ignore', env: { ...process.env, RUNTIME_NAMESPACE: NS } });
    await waitHealthy(`http://127.0.0.1:${health}/readyz`);
    const cpuProcs = { operator: op.pid ?? 0, 'control plane': cp.pids, 'bench + git server': 'self' as const };
    const cpuAt = async (): Promise<Record<string, number>> => {
      const out: Record<string, number> = {};
      const opCpu = await cpuSeconds(cpuProcs.operator);
      out['operator'] = opCpu.own;
      out['operator git'] = opCpu.children;
      out['control plane'] = (await Promise.all(cpuProcs['control plane'].map((p) => cpuSeconds(p)))).reduce((a, c) => a + c.own, 0);
      const self = await cpuSeconds('self');
      out['bench + git server'] = self.own + self.children;
      return out;
    };
    const cpu0 = await cpuAt();
    const t0 = performance.now();
    await mapLimit([...Array(n).keys()], 16, async (i) => {
      const name = `app-${i}`;
      await client.create({ apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: { name, namespace: NS }, spec: { interval: '10m', url: git.url(name), ref: { branch: 'main' } } } as KubeObject);
      await client.create({
        apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
        kind: 'Kustomization',
        metadata: { name, namespace: NS },
        spec: { interval: '10m', prune: true, wait: true, timeout: '2m', path: `./apps/${name}`, sourceRef: { kind: 'GitRepository', name } },
      } as KubeObject);
    });
    const created = (performance.now() - t0) / 1000;
    const deadline = Date.now() + 600_000;
    type Flux = KubeObject & { status?: { conditions?: Array<{ type: string; status: string }> } };
    const readyCount = async (apiVersion: string, kind: string): Promise<number> =>
      (await client.list<Flux>(apiVersion, kind, { namespace: NS })).items.filter((k) => k.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
    let lastProgress = 0;
    for (;;) {
      const ready = await readyCount('kustomize.toolkit.fluxcd.io/v1', 'Kustomization');
      if (ready === n) break;
      if (Date.now() > deadline) throw new Error(`only ${ready} of ${n} Kustomizations Ready after 600 s`);
      if (performance.now() - lastProgress > 10_000) {
        // where the time goes: sources first, then Kustomizations
        lastProgress = performance.now();
        const sources = await readyCount('source.toolkit.fluxcd.io/v1', 'GitRepository');
        process.stderr.write(`  ${((lastProgress - t0) / 1000).toFixed(0)} s: ${sources}/${n} GitRepositories, ${ready}/${n} Kustomizations Ready (objects created in ${created.toFixed(1)} s)\n`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu1 = await cpuAt();
    const scraped = await fetch(`http://127.0.0.1:${metrics}/metrics`).then((r) => r.text(), () => '');
    const byMethod = new Map<string, number>();
    for (const m of scraped.matchAll(/^rest_client_requests_total\{([^}]*)\} (\d+)/gm)) {
      const method = /method="([A-Z]+)"/.exec(m[1] ?? '')?.[1] ?? '?';
      byMethod.set(method, (byMethod.get(method) ?? 0) + Number(m[2]));
    }
    process.stderr.write(`  operator API requests per app: ${[...byMethod].map(([k, v]) => `${k} ${(v / n).toFixed(1)}`).join(', ')}\n`);
    process.stderr.write(`  CPU seconds while reconciling (${seconds.toFixed(1)} s wall, ${os.availableParallelism()} cores = ${(seconds * os.availableParallelism()).toFixed(0)} CPU-s): ${Object.keys(cpu1).map((k) => `${k} ${((cpu1[k] ?? 0) - (cpu0[k] ?? 0)).toFixed(1)}`).join(', ')}\n`);
    const rss = op.pid ? await peakRssMiB(op.pid) : NaN;
    report(results, { name: `apps-${n}-to-ready`, value: seconds, unit: 's', baseline: 'goal for 500 apps', baselineValue: 60 });
    report(results, { name: `apps-${n}-operator-peak-rss`, value: rss, unit: 'MiB', baseline: 'goal', baselineValue: 250 });
  } finally {
    op?.kill('SIGTERM');
    await git.close();
    client.close();
    await cp.stop();
    await rm(work, { recursive: true, force: true });
  }
}

export async function appsBenches(results: BenchResult[]): Promise<void> {
  for (const n of (process.env['BENCH_APPS'] ?? '100,500').split(',').map(Number)) await appsScenario(results, n);
}
