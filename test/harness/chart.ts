/**
 * The Helm chart under test: render it with the real helm binary and apply what it renders
 * to a control plane with the real kubectl, as a platform team would.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { toolPaths } from '../../src/config/config.ts';
import { packageRoot } from '../../src/config/paths.ts';
import { isKubeObject, type KubeObject } from '../../src/runtime/client/objects.ts';

export const chartDir = path.join(packageRoot(), 'helm', 'flotilla');

export interface ToolRun {
  code: number;
  stdout: string;
  stderr: string;
}

const TIMEOUT_MS = 60_000;
const MAX_OUTPUT = 16 * 1024 * 1024;

/** Runs a binary with an argv array (no shell); resolves with the exit code instead of throwing. */
function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv, input?: string): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { env, timeout: TIMEOUT_MS, maxBuffer: MAX_OUTPUT, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') {
        // not an exit status: the binary is missing, timed out or overflowed the buffer
        reject(new Error(`${path.basename(file)} ${args.join(' ')}: ${err.message}\n${stderr}`));
        return;
      }
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/**
 * Runs helm with its cache, config and data directories in a temp dir, so that nothing
 * from the developer's ~/.config/helm (repositories, registries) changes the result.
 */
export async function helm(args: readonly string[]): Promise<ToolRun> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'flotilla-helm-'));
  try {
    return await run(toolPaths().helm, args, {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: home,
      HELM_CACHE_HOME: path.join(home, 'cache'),
      HELM_CONFIG_HOME: path.join(home, 'config'),
      HELM_DATA_HOME: path.join(home, 'data'),
      KUBECONFIG: '/dev/null',
    });
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/** Runs kubectl against `kubeconfigPath`, its discovery cache in a temp dir. */
export async function kubectl(kubeconfigPath: string, args: readonly string[], input?: string): Promise<ToolRun> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'flotilla-kubectl-'));
  try {
    return await run(toolPaths().kubectl, ['--kubeconfig', kubeconfigPath, ...args], { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: home }, input);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/** Runs helm with `values` written to a values file (`-f`), so types survive as YAML would carry them. */
export async function helmWithValues(args: readonly string[], values: Record<string, unknown> | undefined): Promise<ToolRun> {
  if (values === undefined) return helm(args);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'flotilla-values-'));
  try {
    const file = path.join(dir, 'values.yaml');
    await writeFile(file, JSON.stringify(values));
    return await helm([...args, '-f', file]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface RenderOptions {
  namespace: string;
  releaseName?: string;
  values?: Record<string, unknown>;
  /** Leave out crds/ (the test control plane already has them). */
  skipCrds?: boolean;
}

export interface Rendered {
  /** The YAML stream helm printed. */
  yaml: string;
  objects: KubeObject[];
}

/** `helm template`; throws with helm's message when rendering fails. */
export async function renderChart(opts: RenderOptions): Promise<Rendered> {
  const args = ['template', opts.releaseName ?? 'flotilla', chartDir, '--namespace', opts.namespace, opts.skipCrds ? '--skip-crds' : '--include-crds'];
  const r = await helmWithValues(args, opts.values);
  if (r.code !== 0) throw new Error(`helm template failed: ${r.stderr.trim()}`);
  const objects: KubeObject[] = [];
  for (const doc of parseAllDocuments(r.stdout)) {
    if (doc.errors.length > 0) throw new Error(`helm template printed invalid YAML: ${doc.errors[0]?.message ?? ''}`);
    const v: unknown = doc.toJS();
    if (v === null || v === undefined) continue;
    if (!isKubeObject(v)) throw new Error(`helm template printed something that is not a Kubernetes object: ${JSON.stringify(v).slice(0, 200)}`);
    objects.push(v);
  }
  return { yaml: r.stdout, objects };
}

/** Server-side applies `objects` with kubectl (what `helm install` amounts to, minus the release record). */
export async function applyWithKubectl(kubeconfigPath: string, objects: readonly KubeObject[], fieldManager = 'flotilla-chart-test'): Promise<ToolRun> {
  const stream = objects.map((o) => JSON.stringify(o)).join('\n---\n');
  return kubectl(kubeconfigPath, ['apply', '--server-side', '--force-conflicts', `--field-manager=${fieldManager}`, '-f', '-'], stream);
}

export function findObject(objects: readonly KubeObject[], kind: string, name?: string): KubeObject | undefined {
  return objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
}

export function objectsOfKind(objects: readonly KubeObject[], kind: string): KubeObject[] {
  return objects.filter((o) => o.kind === kind);
}
