import { spawn } from 'node:child_process';
import { realpath, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { StallingError, TransientError } from '../../runtime/errors.ts';
import { BUILD_FAILED_REASON, findKustomizationFile, generateKustomization, hasOverrides, type KustomizeOverrides } from './generate.ts';
import { buildInProcess } from './in-process.ts';
import { scanReferences } from './references.ts';
import { kubectlPath } from './tools.ts';

/** A built Kubernetes object: plain data, as parsed from kustomize's output. */
export type KubeObject = Record<string, unknown>;

export const ARTIFACT_FAILED_REASON = 'ArtifactFailed';

export type LoadRestrictor = 'LoadRestrictionsNone' | 'LoadRestrictionsRootOnly';

export interface BuildRequest {
  /** The extracted artifact root (a per-reconcile copy: the kustomization file is written into it). */
  readonly dir: string;
  /** spec.path, relative to the artifact root ('' or './' for the root). */
  readonly path: string;
  /** Spec fields Flux writes into kustomization.yaml. */
  readonly options?: KustomizeOverrides;
  /** Path to kubectl; defaults to kubectlPath(). */
  readonly kubectl?: string;
  readonly timeoutMs?: number;
  readonly maxOutputBytes?: number;
  /** Flux builds with LoadRestrictionsNone (confined to the artifact by scanReferences). */
  readonly loadRestrictor?: LoadRestrictor;
  /** --no-remote-bases: refuse remote resources/components. */
  readonly noRemoteBases?: boolean;
  /** Build a plain directory of manifests in process (proven equal to kustomize's output). Default true. */
  readonly inProcess?: boolean;
  readonly signal?: AbortSignal;
}

export interface BuildResult {
  readonly objects: KubeObject[];
  /** How the objects were produced. */
  readonly builder: 'kustomize' | 'in-process';
  /** Whether a kustomization.yaml had to be generated (no file in the path). */
  readonly generated: boolean;
  /** The build's directory (absolute), where decryption of generator inputs must happen first. */
  readonly buildDir: string;
}

const DEFAULT_TIMEOUT_MS = 120_000;
const DEFAULT_MAX_OUTPUT_BYTES = 128 << 20;
const MAX_STDERR_BYTES = 64 << 10;

/** Resolves spec.path inside the artifact; refuses `..` and symlinks that leave it. */
export async function resolveBuildDir(root: string, specPath: string): Promise<string> {
  const realRoot = await realpath(root);
  const escapes = (p: string): boolean => p !== realRoot && !p.startsWith(realRoot + path.sep);
  const lexical = path.resolve(realRoot, specPath.replace(/^\/+/, ''));
  if (escapes(lexical)) {
    throw new StallingError(ARTIFACT_FAILED_REASON, `spec.path '${specPath}' points outside the source artifact`);
  }
  let real: string;
  try {
    real = await realpath(lexical);
  } catch {
    throw new StallingError(ARTIFACT_FAILED_REASON, `kustomization path not found: '${specPath}' does not exist in the source artifact`);
  }
  if (escapes(real)) {
    throw new StallingError(ARTIFACT_FAILED_REASON, `spec.path '${specPath}' is a symlink that points outside the source artifact`);
  }
  const st = await stat(real);
  if (!st.isDirectory()) throw new StallingError(ARTIFACT_FAILED_REASON, `kustomization path '${specPath}' is not a directory`);
  return real;
}

/** Removes the temporary-directory prefix from kustomize's messages so users see artifact paths. */
function cleanMessage(text: string, roots: readonly string[]): string {
  let out = text;
  for (const r of roots) out = out.split(`${r}${path.sep}`).join('').split(r).join('.');
  return out
    .split('\n')
    .map((l) => l.replace(/^E\d{4} [\d:.]+\s+\d+ run\.go:\d+\] /, '').replace(/^(error|Error): /, ''))
    .map((l) => l.replace(/^"command failed" err="(.*)"$/, '$1'))
    .filter((l) => l.trim() !== '')
    .join('\n')
    .trim();
}

interface RunResult {
  readonly stdout: Buffer;
  readonly stderr: string;
  readonly code: number | null;
}

function runKustomize(kubectl: string, buildDir: string, restrictor: LoadRestrictor, timeoutMs: number, maxOutputBytes: number, signal?: AbortSignal): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(kubectl, ['kustomize', buildDir, `--load-restrictor=${restrictor}`], {
      cwd: buildDir,
      stdio: ['ignore', 'pipe', 'pipe'],
      // No kubeconfig or credentials from the operator's environment reach kustomize.
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: os.tmpdir(), TMPDIR: os.tmpdir(), KUBECONFIG: '/dev/null' },
      ...(signal ? { signal } : {}),
    });
    // Our own timer: spawn's `timeout` option is only cleared on 'exit', which never comes
    // when the binary cannot be started, and would then hold the process open.
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const chunks: Buffer[] = [];
    let size = 0;
    let stderr = '';
    let overflow = false;
    child.stdout.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxOutputBytes) {
        overflow = true;
        child.kill('SIGKILL');
        return;
      }
      chunks.push(c);
    });
    child.stderr.on('data', (c: Buffer) => {
      if (stderr.length < MAX_STDERR_BYTES) stderr += c.toString('utf8');
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e.code === 'ENOENT') reject(new TransientError(BUILD_FAILED_REASON, `kustomize build failed: kubectl not found at '${kubectl}'`));
      else if (e.name === 'AbortError') reject(new TransientError(BUILD_FAILED_REASON, 'kustomize build was cancelled'));
      else reject(new TransientError(BUILD_FAILED_REASON, `kustomize build failed: ${e.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (overflow) {
        reject(new StallingError(BUILD_FAILED_REASON, `kustomize build failed: the output exceeds ${maxOutputBytes} bytes`));
      } else if (timedOut) {
        reject(new TransientError(BUILD_FAILED_REASON, `kustomize build failed: timed out after ${Math.round(timeoutMs / 1000)}s`));
      } else {
        resolve({ stdout: Buffer.concat(chunks), stderr, code });
      }
    });
  });
}

/** Parses kustomize output and applies Flux's check that every object has apiVersion, kind and name. */
export function parseBuildOutput(text: string): KubeObject[] {
  const objects: KubeObject[] = [];
  const docs = parseAllDocuments(text, { prettyErrors: false });
  for (const doc of Array.isArray(docs) ? docs : []) {
    if (doc.errors.length > 0) throw new StallingError(BUILD_FAILED_REASON, `kustomize build failed: invalid output: ${doc.errors[0]?.message.split('\n')[0] ?? ''}`);
    const value: unknown = doc.toJS({ maxAliasCount: 1000 });
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) throw new StallingError(BUILD_FAILED_REASON, 'kustomize build failed: a built document is not an object');
    const obj = value as KubeObject;
    const meta = obj['metadata'] as Record<string, unknown> | undefined;
    if (typeof obj['apiVersion'] !== 'string' || !obj['apiVersion'] || typeof obj['kind'] !== 'string' || !obj['kind'] || typeof meta?.['name'] !== 'string' || !meta['name']) {
      throw new StallingError(
        BUILD_FAILED_REASON,
        `failed to decode Kubernetes apiVersion, kind and name from an object of kind '${String(obj['kind'] ?? '')}' named '${String(meta?.['name'] ?? '')}'`,
      );
    }
    objects.push(obj);
  }
  return objects;
}

/**
 * Builds spec.path of an extracted artifact as Flux's kustomize-controller does: generate
 * or patch kustomization.yaml with the spec overrides, confine every reference to the
 * artifact, then run `kubectl kustomize` (argv only, bounded time and output). A plain
 * directory of manifests without overrides is built in process when that is proven to give
 * kustomize's output. build() is prepareBuild + runBuild; when decryption is configured,
 * call those two yourself and run SopsDecryptor.decryptFilesInDir(dir, buildDir) between
 * them, then decryptObjects on the result (as Flux does).
 */
export async function build(request: BuildRequest): Promise<BuildResult> {
  const prepared = await prepareBuild(request);
  return runBuild(request, prepared);
}

export interface PreparedBuild {
  readonly buildDir: string;
  readonly generated: boolean;
  /** Set when the in-process builder produced the objects already. */
  readonly objects?: KubeObject[];
}

/** Resolves the path, generates the kustomization file, and tries the in-process build. */
export async function prepareBuild(request: BuildRequest): Promise<PreparedBuild> {
  const buildDir = await resolveBuildDir(request.dir, request.path);
  const hadFile = (await findKustomizationFile(buildDir)) !== undefined;
  if (!hadFile && !hasOverrides(request.options) && request.inProcess !== false) {
    const objects = await buildInProcess(buildDir);
    if (objects) return { buildDir, generated: true, objects };
  }
  const generated = await generateKustomization(buildDir, request.options ?? {});
  return { buildDir, generated: generated.action === 'created' };
}

/** Runs kustomize on a prepared directory (or returns the in-process result). */
export async function runBuild(request: BuildRequest, prepared: PreparedBuild): Promise<BuildResult> {
  const { buildDir, generated } = prepared;
  if (prepared.objects) return { objects: prepared.objects, builder: 'in-process', generated, buildDir };
  await scanReferences(request.dir, buildDir, { noRemoteBases: request.noRemoteBases ?? false });
  const timeoutMs = request.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxOutputBytes = request.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const result = await runKustomize(
    request.kubectl ?? kubectlPath(),
    buildDir,
    request.loadRestrictor ?? 'LoadRestrictionsNone',
    timeoutMs,
    maxOutputBytes,
    request.signal,
  );
  const roots = [...new Set([buildDir, path.resolve(request.dir), await realpath(request.dir)])].sort((a, b) => b.length - a.length);
  if (result.code !== 0) {
    const message = cleanMessage(result.stderr, roots) || `kubectl exited with code ${String(result.code)}`;
    throw new StallingError(BUILD_FAILED_REASON, `kustomize build failed: ${message}`);
  }
  return { objects: parseBuildOutput(result.stdout.toString('utf8')), builder: 'kustomize', generated, buildDir };
}
