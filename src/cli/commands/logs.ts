/**
 * `flotilla logs`: the operator's JSON log lines, filtered by level, kind, name and
 * namespace and printed one per line the way `flux logs` prints them:
 *   2026-01-02T10:00:00.000Z info GitRepository/podinfo.flux-system - stored artifact
 * The lines come from a file (`--log-file`, or the dev environment's operator.log) or from
 * the operator's pods through the API (`pods/log`), with `--follow` until `--timeout`.
 */
import { createReadStream, existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Command, Option } from 'commander';
import type { KubeClient } from '../../runtime/client/client.ts';
import type { KubeObject } from '../../runtime/client/objects.ts';
import { connect, DEV_DIR, globalsOf, withGlobals, type Globals } from './globals.ts';
import { parseGoDuration } from '../../runtime/go-duration.ts';
import { action, CliError, paint, type ActionContext, type CliIO, type CliWriter } from './io.ts';
import { field, sleep, stringField } from './status.ts';

export const OPERATOR_NAMESPACE = 'flotilla-system';
export const OPERATOR_SELECTOR = 'app.kubernetes.io/name=flotilla';

export interface LogEntry {
  ts: string;
  level: string;
  msg: string;
  error: string;
  kind: string;
  name: string;
  namespace: string;
}

export interface LogFilter {
  level: string | undefined;
  kind: string | undefined;
  name: string | undefined;
  /** undefined: every namespace. */
  namespace: string | undefined;
  sinceMs: number | undefined;
}

const PINO_LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

function text(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';
}

/** Reads one log line (Flotilla's pino keys, or Flux's controller-runtime keys); undefined when it is not JSON. */
export function parseLogLine(line: string): LogEntry | undefined {
  if (!line.startsWith('{')) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  const level = typeof r['level'] === 'number' ? (PINO_LEVELS[r['level']] ?? String(r['level'])) : text(r['level']);
  const err = r['error'] ?? r['err'];
  const error = typeof err === 'string' ? err : text(field(err, 'message'));
  const ts = typeof r['ts'] === 'number' ? new Date(r['ts']).toISOString() : text(r['ts'] ?? r['time']);
  return {
    ts,
    level,
    msg: text(r['msg']),
    error,
    kind: text(r['reconciler kind']) || text(r['controllerKind']) || text(r['kind']),
    name: text(r['name']),
    namespace: text(r['namespace']),
  };
}

export function matchesFilter(e: LogEntry, f: LogFilter, now: Date): boolean {
  if (f.level && f.level !== e.level) return false;
  if (f.kind && f.kind.toLowerCase() !== e.kind.toLowerCase()) return false;
  if (f.name && f.name.toLowerCase() !== e.name.toLowerCase()) return false;
  if (f.namespace !== undefined && f.namespace.toLowerCase() !== e.namespace.toLowerCase()) return false;
  if (f.sinceMs !== undefined) {
    const t = Date.parse(e.ts);
    if (Number.isNaN(t) || t < now.getTime() - f.sinceMs) return false;
  }
  return true;
}

/** `ts level Kind/name.namespace - message error`, as `flux logs` prints an entry. */
export function formatLogEntry(e: LogEntry, w?: CliWriter): string {
  const object = e.kind ? `${e.kind}${e.name ? `/${e.name}.${e.namespace}` : ''}` : '';
  const level = w ? paint(w, e.level === 'error' || e.level === 'fatal' ? 'red' : e.level === 'warn' ? 'yellow' : 'gray', e.level) : e.level;
  return `${e.ts} ${level} ${object} - ${e.msg}${e.error ? ` ${e.error}` : ''}`;
}

/** Splits a byte stream into lines, handing each complete one to `onLine`. */
class LineSplitter {
  private rest = '';
  constructor(private readonly onLine: (line: string) => void) {}
  push(chunk: string): void {
    const parts = (this.rest + chunk).split('\n');
    this.rest = parts.pop() ?? '';
    for (const p of parts) this.onLine(p.replace(/\r$/, ''));
  }
  flush(): void {
    if (this.rest) this.onLine(this.rest);
    this.rest = '';
  }
}

async function readRange(file: string, start: number, splitter: LineSplitter, end?: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const s = createReadStream(file, { start, ...(end !== undefined ? { end: end - 1 } : {}), encoding: 'utf8' });
    s.on('data', (c) => splitter.push(c as string));
    s.on('end', () => resolve());
    s.on('error', reject);
  });
}

/** Reads the file, keeps the last `tail` lines, then follows appended lines until `signal` aborts. */
async function fileLogs(file: string, tail: number | undefined, follow: boolean, signal: AbortSignal, emit: (line: string) => void): Promise<void> {
  if (!existsSync(file)) throw new CliError(`log file ${file} does not exist`);
  const lines: string[] = [];
  const initial = new LineSplitter((l) => lines.push(l));
  let offset = (await stat(file)).size;
  await readRange(file, 0, initial, offset);
  initial.flush();
  for (const l of tail !== undefined && tail >= 0 ? lines.slice(Math.max(0, lines.length - tail)) : lines) emit(l);
  if (!follow) return;
  const splitter = new LineSplitter(emit);
  while (!signal.aborted) {
    await sleep(200, signal);
    const size = (await stat(file).catch(() => undefined))?.size ?? offset;
    if (size < offset) offset = 0; // truncated or rotated
    if (size > offset) {
      await readRange(file, offset, splitter, size);
      offset = size;
    }
  }
  splitter.flush();
}

function podReady(p: KubeObject): boolean {
  return stringField(p, 'status', 'phase') === 'Running';
}

async function podLogs(client: KubeClient, namespace: string, selector: string, o: { tail: number | undefined; follow: boolean; sinceMs: number | undefined }, signal: AbortSignal, emit: (line: string) => void): Promise<void> {
  const pods = (await client.list('v1', 'Pod', { namespace, labelSelector: selector })).items;
  if (pods.length === 0) throw new CliError(`no Flotilla pods found in namespace "${namespace}" with the label selector ${selector}`);
  const chosen = pods.some(podReady) ? pods.filter(podReady) : pods;
  await Promise.all(
    chosen.map(async (pod) => {
      const containers = field(pod, 'spec', 'containers');
      const container = Array.isArray(containers) && containers.length > 1 ? stringField(containers[0], 'name') : undefined;
      const logPath = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod.metadata.name)}/log`;
      try {
        // the transport streams JSON lines; a pino log is one JSON object per line
        await client.transport.stream(
          logPath,
          {
            signal,
            query: {
              follow: o.follow ? 'true' : undefined,
              tailLines: o.tail !== undefined && o.tail >= 0 ? o.tail : undefined,
              sinceSeconds: o.sinceMs !== undefined ? Math.max(1, Math.round(o.sinceMs / 1000)) : undefined,
              container,
            },
          },
          (obj) => emit(JSON.stringify(obj)),
        );
      } catch (e) {
        if (signal.aborted) return;
        if (e instanceof SyntaxError) throw new CliError(`the log of pod ${pod.metadata.name} has a line that is not JSON; read it with kubectl logs`);
        throw e;
      }
    }),
  );
}

interface LogsOptions {
  level?: string;
  kind?: string;
  name?: string;
  follow?: boolean;
  tail?: string;
  since?: string;
  logFile?: string;
  fluxNamespace: string;
}

/** The dev environment's log file unless a cluster was named explicitly. */
function logSource(o: LogsOptions, g: Globals, io: CliIO): { file: string } | { pods: true } {
  if (o.logFile) return { file: path.resolve(io.cwd, o.logFile) };
  const clusterChosen = g.kubeconfig !== undefined || g.context !== undefined;
  const devLog = path.resolve(io.cwd, DEV_DIR, 'operator.log');
  if (!clusterChosen && existsSync(devLog)) return { file: devLog };
  return { pods: true };
}

export function logsCommand(io: CliIO): Command {
  const cmd = new Command('logs')
    .description("display the operator's logs, filtered and formatted")
    .addOption(new Option('--level <level>', 'only this log level').choices(['trace', 'debug', 'info', 'warn', 'error']))
    .addOption(new Option('--kind <kind>', 'only entries about this kind, e.g. GitRepository'))
    .addOption(new Option('--name <name>', 'only entries about objects with this name'))
    .addOption(new Option('-f, --follow', 'stream new entries until --timeout'))
    .addOption(new Option('--tail <lines>', 'only the last lines of the log'))
    .addOption(new Option('--since <duration>', 'only entries newer than this, e.g. 5m'))
    .addOption(new Option('--log-file <path>', `read this file instead of the pods (default ${path.join(DEV_DIR, 'operator.log')} when the dev environment has one)`))
    .addOption(new Option('--flux-namespace <namespace>', 'the namespace the operator runs in').default(OPERATOR_NAMESPACE));
  withGlobals(cmd);
  return cmd.action(
    action(io, async (ctx: ActionContext) => {
      const g = globalsOf(ctx.cmd, io);
      const o = ctx.opts as unknown as LogsOptions;
      const tail = o.tail !== undefined ? Number(o.tail) : undefined;
      if (tail !== undefined && !Number.isInteger(tail)) throw new CliError(`invalid argument "${o.tail}" for "--tail" flag: not a number`);
      const sinceNs = o.since !== undefined ? parseGoDuration(o.since) : undefined;
      if (o.since !== undefined && sinceNs === undefined) throw new CliError(`invalid argument "${o.since}" for "--since" flag: not a duration`);
      const sinceMs = sinceNs !== undefined ? Number(sinceNs / 1_000_000n) : undefined;
      // like flux logs: without -A only entries about objects in --namespace
      const filter: LogFilter = { level: o.level, kind: o.kind, name: o.name, namespace: g.allNamespaces ? undefined : g.namespace, sinceMs };
      const emit = (line: string): void => {
        const e = parseLogLine(line);
        if (e && matchesFilter(e, filter, io.now())) io.stdout.write(`${formatLogEntry(e, io.stdout)}\n`);
      };
      const signal = AbortSignal.timeout(g.timeoutMs);
      const source = logSource(o, g, io);
      if ('file' in source) return fileLogs(source.file, tail, o.follow === true, signal, emit);
      const client = ctx.track(connect(g, io));
      return podLogs(client, o.fluxNamespace, OPERATOR_SELECTOR, { tail, follow: o.follow === true, sinceMs }, signal, emit);
    }),
  );
}
