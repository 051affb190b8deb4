import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { crdsDir, packageRoot } from '../../config/paths.ts';
import { KubeClient } from '../../runtime/client/client.ts';
import { createLogger } from '../../runtime/log/logger.ts';
import { freePort, killAll, killPids, startControlPlane } from './control-plane.ts';
import { installCrds } from './crds.ts';
import { FakeKubelet } from './fake-kubelet.ts';
import { startGitHttpServer, type GitHttpServer } from './git-server.ts';

/**
 * `flotilla dev`: the embedded default. `up` starts a detached supervisor process that owns
 * the control plane, the fake kubelet and the operator, and writes `kubeconfig` and
 * `endpoints.json` into the dev dir; `down` stops the supervisor, which stops the rest.
 */

export interface Endpoints {
  apiserver: string;
  artifacts: string;
  metrics: string;
  health: string;
  receiver: string;
  /** Smart-HTTP Git server for bare repositories in `<dir>/git` (the demo pushes examples there). */
  git: string;
}

export interface DevOptions {
  dir: string;
  operator: boolean;
  fakeKubelet: boolean;
  /** Extra operator flags. */
  operatorArgs?: string[];
}

interface DevState {
  supervisorPid: number;
  pids: number[];
}

const STATE = 'state.json';
const ENDPOINTS = 'endpoints.json';

function cliEntry(): { node: string; args: string[] } {
  const root = packageRoot();
  const built = path.join(root, 'dist', 'cli.js');
  // from a source checkout without a build, run the TypeScript entry through tsx
  if (import.meta.url.endsWith('.ts') || !existsSync(built)) {
    return { node: process.execPath, args: ['--import', 'tsx', path.join(root, 'src', 'cli.ts')] };
  }
  return { node: process.execPath, args: [built] };
}

export async function readEndpoints(dir: string): Promise<Endpoints | undefined> {
  try {
    return JSON.parse(await readFile(path.join(dir, ENDPOINTS), 'utf8')) as Endpoints;
  } catch {
    return undefined;
  }
}

async function readState(dir: string): Promise<DevState | undefined> {
  try {
    return JSON.parse(await readFile(path.join(dir, STATE), 'utf8')) as DevState;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function devStatus(dir: string): Promise<{ running: boolean; endpoints?: Endpoints }> {
  const st = await readState(dir);
  const running = !!st && alive(st.supervisorPid);
  const endpoints = running ? await readEndpoints(dir) : undefined;
  return endpoints ? { running, endpoints } : { running };
}

/** Starts the supervisor in the background and waits until it reports ready. */
export async function devUp(opts: DevOptions, out: (s: string) => void): Promise<Endpoints> {
  const dir = path.resolve(opts.dir);
  const status = await devStatus(dir);
  if (status.running && status.endpoints) {
    out(`dev environment already running in ${dir}`);
    return status.endpoints;
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const logFd = openSync(path.join(dir, 'supervisor.log'), 'a');
  const { node, args } = cliEntry();
  const child = spawn(
    node,
    [...args, 'dev', 'supervise', '--dir', dir, ...(opts.operator ? [] : ['--no-operator']), ...(opts.fakeKubelet ? [] : ['--no-fake-kubelet']),
      ...(opts.operatorArgs?.length ? ['--', ...opts.operatorArgs] : [])],
    { detached: true, stdio: ['ignore', logFd, logFd], cwd: packageRoot() },
  );
  closeSync(logFd);
  child.unref();
  const started = Date.now();
  for (;;) {
    const ep = await readEndpoints(dir);
    if (ep) {
      out(`dev environment up in ${((Date.now() - started) / 1000).toFixed(1)}s (${dir})`);
      return ep;
    }
    if (child.exitCode !== null || (child.pid !== undefined && !alive(child.pid))) {
      const log = await readFile(path.join(dir, 'supervisor.log'), 'utf8').catch(() => '');
      throw new Error(`dev supervisor exited before it was ready:\n${log.split('\n').slice(-20).join('\n')}`);
    }
    if (Date.now() - started > 120_000) throw new Error(`dev environment not ready after 120s; see ${path.join(dir, 'supervisor.log')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function devDown(dir: string, out: (s: string) => void): Promise<void> {
  const st = await readState(path.resolve(dir));
  if (!st) {
    out(`no dev environment in ${dir}`);
    return;
  }
  await killPids([st.supervisorPid], 20_000);
  // anything the supervisor could not stop (it was killed hard) goes too
  await killPids(st.pids, 5_000);
  await rm(path.join(dir, STATE), { force: true });
  await rm(path.join(dir, ENDPOINTS), { force: true });
  out(`dev environment in ${dir} stopped`);
}

/** The long-running supervisor (`flotilla dev supervise`), started by `devUp`. */
export async function devSupervise(opts: DevOptions): Promise<void> {
  const dir = path.resolve(opts.dir);
  const log = createLogger('info');
  const cp = await startControlPlane({ dir: path.join(dir, 'cluster'), log: (m) => log.info(m) });
  const kubeconfig = path.join(dir, 'kubeconfig');
  await writeFile(kubeconfig, await readFile(cp.kubeconfigPath, 'utf8'), { mode: 0o600 });
  const client = KubeClient.fromFile(kubeconfig);
  const children: ChildProcess[] = [];
  let kubelet: FakeKubelet | undefined;
  let gitServer: GitHttpServer | undefined;
  const state: DevState = { supervisorPid: process.pid, pids: [...cp.pids] };
  await writeFile(path.join(dir, STATE), JSON.stringify(state));

  let stopping = false;
  const shutdown = async (code: number): Promise<never> => {
    if (!stopping) {
      stopping = true;
      await kubelet?.stop().catch(() => undefined);
      await gitServer?.close().catch(() => undefined);
      await killAll(children).catch(() => undefined);
      client.close();
      await cp.stop().catch(() => undefined);
    }
    process.exit(code);
  };
  process.on('SIGTERM', () => void shutdown(0));
  process.on('SIGINT', () => void shutdown(0));

  try {
    const crds = await installCrds(client, crdsDir());
    log.info({ crds: crds.length }, 'CRDs installed');
    await client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'flotilla-system' } }, { fieldManager: 'flotilla' });
    await client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'flux-system' } }, { fieldManager: 'flotilla' });
    if (opts.fakeKubelet) {
      kubelet = new FakeKubelet(client, log);
      await kubelet.start();
    }
    await mkdir(path.join(dir, 'git'), { recursive: true });
    gitServer = await startGitHttpServer({ root: path.join(dir, 'git') });
    const [artifacts, metrics, health, receiver] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const endpoints: Endpoints = {
      apiserver: cp.server,
      artifacts: `http://127.0.0.1:${artifacts}`,
      metrics: `http://127.0.0.1:${metrics}`,
      health: `http://127.0.0.1:${health}`,
      receiver: `http://127.0.0.1:${receiver}`,
      git: gitServer.baseUrl,
    };
    if (opts.operator) {
      const { node, args } = cliEntry();
      const opLog = openSync(path.join(dir, 'operator.log'), 'a');
      const op = spawn(
        node,
        [
          ...args, 'operator',
          '--kubeconfig', kubeconfig,
          '--storage-path', path.join(dir, 'artifacts'),
          '--storage-addr', `127.0.0.1:${artifacts}`,
          '--storage-adv-addr', `127.0.0.1:${artifacts}`,
          '--metrics-addr', `127.0.0.1:${metrics}`,
          '--health-addr', `127.0.0.1:${health}`,
          '--receiver-addr', `127.0.0.1:${receiver}`,
          ...(opts.operatorArgs ?? []),
        ],
        { stdio: ['ignore', opLog, opLog], env: { ...process.env, RUNTIME_NAMESPACE: 'flotilla-system' } },
      );
      closeSync(opLog);
      children.push(op);
      if (op.pid) state.pids.push(op.pid);
      await writeFile(path.join(dir, STATE), JSON.stringify(state));
      op.on('exit', (code) => {
        if (!stopping) log.error({ code }, 'operator exited; see operator.log');
      });
      await waitHttp(`${endpoints.health}/readyz`, 60_000);
    }
    await writeFile(path.join(dir, ENDPOINTS), JSON.stringify(endpoints, null, 2));
    log.info({ endpoints }, 'dev environment ready');
  } catch (e) {
    log.error({ err: e instanceof Error ? e.message : String(e) }, 'dev environment failed to start');
    await shutdown(1);
  }
  await new Promise(() => undefined); // until a signal
}

async function waitHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} not ready after ${timeoutMs}ms`);
}
