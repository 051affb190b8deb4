/**
 * The flags every cluster command takes, named as Flux names them: `--kubeconfig`,
 * `--context`, `-n/--namespace` (default flux-system), `-A/--all-namespaces`,
 * `--timeout` and `--verbose`. They are accepted both before the command
 * (`flotilla -n apps get ks`) and after it (`flotilla get ks -n apps`).
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { KubeClient } from '../../runtime/client/client.ts';
import { Kubeconfig } from '../../runtime/client/kubeconfig.ts';
import { CliError, type CliIO } from './io.ts';
import { parseGoDuration } from '../../runtime/go-duration.ts';

export const DEFAULT_NAMESPACE = 'flux-system';
const DEFAULT_TIMEOUT_MS = 5 * 60_000;
/** Where `flotilla dev up` keeps its state, relative to the working directory. */
export const DEV_DIR = path.join('.flotilla', 'dev');

export interface Globals {
  kubeconfig: string | undefined;
  context: string | undefined;
  namespace: string;
  allNamespaces: boolean;
  timeoutMs: number;
  verbose: boolean;
}

export function globalOptions(opts: { allNamespaces?: boolean } = {}): Option[] {
  const list = [
    new Option('--kubeconfig <path>', 'path to the kubeconfig file (default: $KUBECONFIG, ~/.kube/config, then the dev environment)'),
    new Option('--context <name>', 'the kubeconfig context to use'),
    new Option('-n, --namespace <namespace>', `the namespace scope for this operation (default "${DEFAULT_NAMESPACE}")`),
    new Option('--timeout <duration>', 'timeout for this operation (default 5m0s)'),
    new Option('--verbose', 'print more detail'),
  ];
  if (opts.allNamespaces !== false) list.push(new Option('-A, --all-namespaces', 'across all namespaces'));
  return list;
}

/** Adds the global flags to a leaf command. */
export function withGlobals(cmd: Command, opts: { allNamespaces?: boolean } = {}): Command {
  for (const o of globalOptions(opts)) cmd.addOption(o);
  return cmd;
}

/** The value given closest to the leaf command wins; nothing here has a commander default. */
function lookup(cmd: Command, key: string): unknown {
  for (let c: Command | null = cmd; c; c = c.parent) {
    const v = c.getOptionValue(key) as unknown;
    if (v !== undefined) return v;
  }
  return undefined;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function globalsOf(cmd: Command, io: CliIO): Globals {
  const namespace = (lookup(cmd, 'namespace') as string | undefined) ?? io.env['FLUX_SYSTEM_NAMESPACE'] ?? DEFAULT_NAMESPACE;
  if (!DNS_LABEL.test(namespace) || namespace.length > 63) throw new CliError(`namespace must be a valid DNS label: "${namespace}"`);
  const timeout = lookup(cmd, 'timeout') as string | undefined;
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  if (timeout !== undefined) {
    const ns = parseGoDuration(timeout);
    if (ns === undefined || ns <= 0n) throw new CliError(`invalid argument "${timeout}" for "--timeout" flag: not a duration (examples: 30s, 5m, 1h)`);
    timeoutMs = Number(ns / 1_000_000n);
  }
  return {
    kubeconfig: lookup(cmd, 'kubeconfig') as string | undefined,
    context: lookup(cmd, 'context') as string | undefined,
    namespace,
    allNamespaces: lookup(cmd, 'allNamespaces') === true,
    timeoutMs,
    verbose: lookup(cmd, 'verbose') === true,
  };
}

/**
 * Loads the kubeconfig the way kubectl finds it (flag, $KUBECONFIG, ~/.kube/config), then
 * falls back to the dev environment's, so `flotilla dev up` is all a newcomer needs.
 */
export function loadKubeConfig(g: Pick<Globals, 'kubeconfig' | 'context'>, io: CliIO): Kubeconfig {
  let kc: Kubeconfig | undefined;
  const envPath = io.env['KUBECONFIG'];
  const home = path.join(os.homedir(), '.kube', 'config');
  const dev = path.resolve(io.cwd, DEV_DIR, 'kubeconfig');
  try {
    if (g.kubeconfig) {
      if (!existsSync(g.kubeconfig)) throw new CliError(`kubeconfig ${g.kubeconfig} does not exist`);
      kc = Kubeconfig.fromFile(g.kubeconfig);
    } else if (envPath) {
      const files = envPath.split(path.delimiter).filter((f) => f && existsSync(f));
      if (files.length === 0) throw new CliError(`no kubeconfig file found in KUBECONFIG=${envPath}`);
      kc = Kubeconfig.fromFile(files[0] as string);
    } else if (existsSync(home)) {
      kc = Kubeconfig.fromFile(home);
    } else if (existsSync(dev)) {
      kc = Kubeconfig.fromFile(dev);
    } else {
      throw new CliError('no kubeconfig found: pass --kubeconfig, set KUBECONFIG, or start a local cluster with `flotilla dev up`');
    }
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`cannot load the kubeconfig: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!kc) throw new CliError('no kubeconfig found');
  if (g.context) {
    if (!kc.hasContext(g.context)) throw new CliError(`context "${g.context}" does not exist in the kubeconfig`);
    kc.useContext(g.context);
  }
  if (!kc.cluster()) throw new CliError('the kubeconfig has no current cluster');
  return kc;
}

export function connect(g: Globals, io: CliIO): KubeClient {
  return KubeClient.fromKubeConfig(loadKubeConfig(g, io));
}

/** `"flux-system"` or `any`, as Flux words "not found" errors. */
export function namespaceNameOrAny(g: Pick<Globals, 'allNamespaces' | 'namespace'>): string {
  return g.allNamespaces ? 'any' : `"${g.namespace}"`;
}
