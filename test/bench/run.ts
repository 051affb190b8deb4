/**
 * `make bench`: each scenario is measured against a baseline run in the same process on
 * the same inputs, and printed as `bench <name>: <value> <unit> (<ratio>× <baseline>)`.
 * Results also go to bench/results.json so runs can be compared.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '../../src/config/paths.ts';
import { ArtifactStore } from '../../src/services/artifacts/index.ts';
import { CliGitClient } from '../../src/services/git/index.ts';
import type { GitAuth } from '../../src/services/git/types.ts';
import { commitFiles, createRepo, startGitHttpServer } from '../harness/git-server.ts';
import { appsBenches } from './apps.ts';
import { kustomizationBenches } from './kustomization.ts';
import { ociBenches } from './oci.ts';

const run = promisify(execFile);

export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  baseline: string;
  baselineValue: number;
  ratio: number;
}

/** Median of `n` timed runs (after one warm-up), in milliseconds. */
export async function median(n: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  await fn(-1);
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? NaN;
}

export function report(results: BenchResult[], r: Omit<BenchResult, 'ratio'>): void {
  const full = { ...r, ratio: r.value / r.baselineValue };
  results.push(full);
  console.log(`bench ${r.name}: ${r.value.toFixed(1)} ${r.unit} (${full.ratio.toFixed(2)}× ${r.baseline}: ${r.baselineValue.toFixed(1)} ${r.unit})`);
}

async function gitBenches(results: BenchResult[]): Promise<void> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'bench-git-'));
  const work = await mkdtemp(path.join(os.tmpdir(), 'bench-work-'));
  const server = await startGitHttpServer({ root, username: 'bench', password: 'bench-secret' });
  try {
    const files: Record<string, string> = {};
    for (let i = 0; i < 300; i++) files[`apps/app-${i % 30}/res-${i}.yaml`] = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c${i}\ndata:\n  v: "${'x'.repeat(200)}"\n`;
    await createRepo(root, 'bench', files);
    const url = server.url('bench');
    const auth: GitAuth = { type: 'basic', username: 'bench', password: 'bench-secret' };
    const git = new CliGitClient({ searchPath: process.env['PATH'] ?? '/usr/bin:/bin' });
    const store = new ArtifactStore({ storagePath: path.join(work, 'store'), advertisedBaseUrl: 'http://bench' });
    const resolved = await git.resolveRef(url, auth, { branch: 'main' });
    const first = await git.checkout(url, auth, resolved, path.join(work, 'first'));
    const artifact = await store.put({ kind: 'GitRepository', namespace: 'bench', name: 'bench', revision: first.revision, sourceDir: path.join(work, 'first') });
    const authedUrl = url.replace('://', '://bench:bench-secret@');
    const gitEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0' };

    // no-op poll: what a GitRepository reconcile does when nothing changed (ls-remote + a
    // check that the stored artifact is there), against a bare `git ls-remote`
    const poll = await median(15, async () => {
      const r = await git.resolveRef(url, auth, { branch: 'main' });
      if (r.revision !== artifact.revision || !(await store.has(artifact))) throw new Error('unexpected change');
    });
    const lsRemote = await median(15, () => run('git', ['ls-remote', authedUrl, 'refs/heads/main'], { env: gitEnv }));
    report(results, { name: 'gitrepository-noop-poll', value: poll, unit: 'ms', baseline: 'git ls-remote', baselineValue: lsRemote });

    // commit to artifact: resolve + shallow checkout + deterministic archive into the store,
    // against `git fetch --depth 1` + `tar czf` of the same commit
    let n = 0;
    const ours = await median(7, async (i) => {
      await commitFiles(root, 'bench', { [`apps/new-${i}-${n++}.yaml`]: 'kind: ConfigMap\n' });
      const r = await git.resolveRef(url, auth, { branch: 'main' });
      const dir = path.join(work, `co-${i}-${n}`);
      const c = await git.checkout(url, auth, r, dir);
      await store.put({ kind: 'GitRepository', namespace: 'bench', name: 'bench', revision: c.revision, sourceDir: dir });
      await rm(dir, { recursive: true, force: true });
    });
    const baseline = await median(7, async (i) => {
      await commitFiles(root, 'bench', { [`apps/base-${i}-${n++}.yaml`]: 'kind: ConfigMap\n' });
      const dir = path.join(work, `base-${i}-${n}`);
      await mkdir(dir);
      await run('git', ['init', '-q', dir], { env: gitEnv });
      await run('git', ['-C', dir, 'fetch', '-q', '--depth', '1', authedUrl, 'refs/heads/main'], { env: gitEnv });
      await run('git', ['-C', dir, 'checkout', '-q', 'FETCH_HEAD'], { env: gitEnv });
      await run('tar', ['czf', `${dir}.tar.gz`, '--exclude=.git', '-C', dir, '.']);
      await rm(dir, { recursive: true, force: true });
    });
    report(results, { name: 'gitrepository-commit-to-artifact', value: ours, unit: 'ms', baseline: 'git fetch --depth 1 + tar czf', baselineValue: baseline });
  } finally {
    await server.close();
    await rm(root, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const results: BenchResult[] = [];
  const only = process.argv[2];
  if (!only || only === 'git') await gitBenches(results);
  if (!only || only === 'oci') await ociBenches(results);
  if (!only || only === 'kustomization') await kustomizationBenches(results);
  if (!only || only === 'apps') await appsBenches(results);
  const out = path.join(packageRoot(), 'bench', 'results.json');
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(out, JSON.stringify({ at: new Date().toISOString(), node: process.version, results }, null, 2));
  console.log(`results written to ${path.relative(process.cwd(), out)}`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
