import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import https from 'node:https';

/**
 * A real local Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager)
 * as child processes on free loopback ports, for tests and for `flotilla dev up`.
 * There is no kubelet or scheduler; see fake-kubelet.ts for the stand-in.
 */

export interface ControlPlaneBinaries {
  etcd: string;
  apiserver: string;
  controllerManager: string;
}

export interface ControlPlane {
  dir: string;
  server: string;
  /** etcd's client URL (tests compact it to provoke 410 Gone). */
  etcdUrl: string;
  token: string;
  caData: string;
  kubeconfigPath: string;
  pids: number[];
  stop(): Promise<void>;
}

export function defaultCacheDir(): string {
  return path.join(os.homedir(), '.cache', 'flotilla');
}

export function defaultBinaries(cacheDir = defaultCacheDir()): ControlPlaneBinaries {
  const k8s = path.join(cacheDir, 'k8s-1.20.2-r2');
  return {
    etcd: '/usr/bin/etcd',
    apiserver: path.join(k8s, 'kube-apiserver'),
    controllerManager: path.join(k8s, 'kube-controller-manager'),
  };
}

export function missingBinaries(b: ControlPlaneBinaries): string[] {
  return Object.values(b).filter((p) => !existsSync(p));
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export function kubeconfigYaml(server: string, token: string, caData: string, name = 'flotilla-dev'): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${name}`,
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${caData}`,
    'users:',
    '- name: admin',
    '  user:',
    `    token: ${token}`,
    'contexts:',
    `- name: ${name}`,
    '  context:',
    `    cluster: ${name}`,
    '    user: admin',
    `current-context: ${name}`,
    '',
  ].join('\n');
}

interface StartOptions {
  /** Where state, logs and the kubeconfig go; a temp dir when absent. */
  dir?: string;
  binaries?: ControlPlaneBinaries;
  /** Detach processes from this one (dev up): they survive the caller's exit. */
  detached?: boolean;
  log?: (msg: string) => void;
  readyTimeoutMs?: number;
}

async function waitReady(server: string, token: string, ca: string, timeoutMs: number, procs: ChildProcess[]): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const dead = procs.find((p) => p.exitCode !== null);
    if (dead) throw new Error(`${dead.spawnfile} exited with code ${dead.exitCode} while starting; ${last}`);
    try {
      const code = await new Promise<number>((resolve, reject) => {
        const req = https.get(`${server}/readyz`, { ca, headers: { Authorization: `Bearer ${token}` }, timeout: 2000 }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', reject);
      });
      if (code === 200) return;
      last = `readyz answered ${code}`;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`kube-apiserver not ready after ${timeoutMs}ms: ${last}`);
}

export async function startControlPlane(opts: StartOptions = {}): Promise<ControlPlane> {
  const bins = opts.binaries ?? defaultBinaries();
  const missing = missingBinaries(bins);
  if (missing.length) {
    throw new Error(`control plane binaries missing: ${missing.join(', ')}; run test/harness/install-deps.sh (or make deps) first`);
  }
  const log = opts.log ?? (() => undefined);
  const ownsDir = !opts.dir;
  const dir = opts.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'flotilla-cp-')));
  await mkdir(path.join(dir, 'certs'), { recursive: true });
  await mkdir(path.join(dir, 'logs'), { recursive: true });

  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  await writeFile(path.join(dir, 'sa.key'), privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
  await writeFile(path.join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  const token = randomBytes(24).toString('hex');
  await writeFile(path.join(dir, 'tokens.csv'), `${token},admin,admin,"system:masters"\n`, { mode: 0o600 });

  const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const procs: ChildProcess[] = [];
  const run = (name: string, bin: string, args: string[]): ChildProcess => {
    const out = createWriteStream(path.join(dir, 'logs', `${name}.log`));
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: opts.detached ?? false });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    if (opts.detached) child.unref();
    procs.push(child);
    return child;
  };

  const started = Date.now();
  run('etcd', bins.etcd, [
    '--name', 'flotilla', '--data-dir', path.join(dir, 'etcd'),
    '--listen-client-urls', `http://127.0.0.1:${etcdPort}`, '--advertise-client-urls', `http://127.0.0.1:${etcdPort}`,
    '--listen-peer-urls', `http://127.0.0.1:${peerPort}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
    '--initial-cluster', `flotilla=http://127.0.0.1:${peerPort}`,
    '--quota-backend-bytes', String(4 * 1024 ** 3), '--log-level', 'warn',
  ]);
  const server = `https://127.0.0.1:${apiPort}`;
  run('kube-apiserver', bins.apiserver, [
    `--etcd-servers=http://127.0.0.1:${etcdPort}`,
    `--secure-port=${apiPort}`, '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1',
    `--cert-dir=${path.join(dir, 'certs')}`,
    `--token-auth-file=${path.join(dir, 'tokens.csv')}`,
    '--authorization-mode=RBAC',
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${path.join(dir, 'sa.pub')}`,
    `--service-account-signing-key-file=${path.join(dir, 'sa.key')}`,
    '--api-audiences=https://kubernetes.default.svc.cluster.local',
    // a /24 runs out at ~250 Services; benchmarks create thousands
    '--service-cluster-ip-range=10.96.0.0/12',
    '--allow-privileged=true',
    '--profiling=false',
    '--event-ttl=2h',
    // PodTemplates are watched straight from etcd, so compacting etcd gives a real 410 Gone
    // (the watch cache would otherwise keep serving old versions); nothing else uses them
    '--watch-cache-sizes=podtemplates#0',
    '--v=0',
  ]);
  const certFile = path.join(dir, 'certs', 'apiserver.crt');
  // the apiserver writes its self-signed serving certificate on start; wait for it
  for (let i = 0; i < 200 && !existsSync(certFile); i++) await new Promise((r) => setTimeout(r, 100));
  if (!existsSync(certFile)) {
    await killAll(procs);
    throw new Error(`kube-apiserver did not write ${certFile}; see ${path.join(dir, 'logs', 'kube-apiserver.log')}`);
  }
  const ca = await readFile(certFile, 'utf8');
  try {
    await waitReady(server, token, ca, opts.readyTimeoutMs ?? 60_000, procs);
  } catch (e) {
    await killAll(procs);
    throw e;
  }
  const caData = Buffer.from(ca).toString('base64');
  const kubeconfigPath = path.join(dir, 'kubeconfig');
  await writeFile(kubeconfigPath, kubeconfigYaml(server, token, caData), { mode: 0o600 });
  run('kube-controller-manager', bins.controllerManager, [
    `--kubeconfig=${kubeconfigPath}`,
    `--service-account-private-key-file=${path.join(dir, 'sa.key')}`,
    `--root-ca-file=${certFile}`,
    '--controllers=*,-nodeipam,-nodelifecycle',
    '--leader-elect=false',
    '--use-service-account-credentials=false',
    // the default client limit (20 requests/s) throttles Deployment and ReplicaSet status
    // once hundreds of apps arrive together; a production controller-manager has its own node
    '--kube-api-qps=200', '--kube-api-burst=400',
    '--secure-port=0', '--port=0',
    '--v=0',
  ]);
  log(`control plane ready in ${((Date.now() - started) / 1000).toFixed(1)}s at ${server}`);

  const pids = procs.map((p) => p.pid).filter((p): p is number => typeof p === 'number');
  let stopped = false;
  return {
    dir,
    server,
    etcdUrl: `http://127.0.0.1:${etcdPort}`,
    token,
    caData,
    kubeconfigPath,
    pids,
    async stop() {
      if (stopped) return;
      stopped = true;
      await killAll(procs);
      if (ownsDir) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** SIGTERM, then SIGKILL whatever has not exited after a grace period. */
export async function killAll(procs: ChildProcess[], graceMs = 5000): Promise<void> {
  const alive = procs.filter((p) => p.exitCode === null && p.signalCode === null);
  await Promise.all(
    alive.reverse().map(
      (p) =>
        new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            p.kill('SIGKILL');
          }, graceMs);
          p.once('exit', () => {
            clearTimeout(t);
            resolve();
          });
          p.kill('SIGTERM');
        }),
    ),
  );
}

/** Stops processes by pid (for `dev down`, where this process did not start them). */
export async function killPids(pids: number[], graceMs = 5000): Promise<void> {
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && pids.some(alive)) await new Promise((r) => setTimeout(r, 100));
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
}
