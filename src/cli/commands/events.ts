/**
 * `flotilla events`: the Kubernetes Events of Flux objects, oldest first, in Flux's table
 * (LAST SEEN, TYPE, REASON, OBJECT, MESSAGE; NAMESPACE first with -A). `--for Kind/name`
 * narrows to one object and adds the events of what it depends on (a Kustomization's
 * source, an Alert's provider, …); `--watch` streams new events until `--timeout`.
 */
import { Command, Option } from 'commander';
import type { KubeClient } from '../../runtime/client/client.ts';
import { isGone } from '../../runtime/client/errors.ts';
import type { KubeObject } from '../../runtime/client/objects.ts';
import { connect, globalsOf, withGlobals, type Globals } from './globals.ts';
import { action, CliError, type ActionContext, type CliIO } from './io.ts';
import { cliKindOf, CLI_KINDS } from './kinds.ts';
import { getObject } from './lookup.ts';
import { field, numberField, stringField } from './status.ts';
import { renderTable } from './table.ts';

/** Kinds whose events the command shows: Flotilla's plus Flux kinds it does not serve yet. */
const EVENT_KINDS = new Set([...CLI_KINDS.map((k) => k.kind), 'Bucket', 'ExternalArtifact', 'ArtifactGenerator']);

export interface EventScope {
  namespace: string | undefined;
  kind?: string;
  name?: string;
}

/** k8s.io/apimachinery's HumanDuration: `45s`, `3m20s`, `15m`, `5h30m`, `3d4h`, `2y`. */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(seconds / 3600);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${hours / 24}d` : `${Math.trunc(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const days = Math.trunc(hours / 24) % 365;
    return days === 0 ? `${Math.trunc(hours / 24 / 365)}y` : `${Math.trunc(hours / 24 / 365)}y${days}d`;
  }
  return `${Math.trunc(hours / 24 / 365)}y`;
}

function since(now: Date, text: string | undefined): string {
  if (!text) return '<unknown>';
  const t = Date.parse(text);
  return Number.isNaN(t) ? '<unknown>' : humanDuration(now.getTime() - t);
}

/** The time an event is sorted by: its series' last observation, else lastTimestamp, else eventTime. */
export function eventTime(e: KubeObject): number {
  const text = stringField(e, 'series', 'lastObservedTime') ?? stringField(e, 'lastTimestamp') ?? stringField(e, 'eventTime');
  const t = text ? Date.parse(text) : NaN;
  return Number.isNaN(t) ? 0 : t;
}

/** kubectl's LAST SEEN: age, plus `(xN over AGE)` for repeated events. */
export function lastSeen(e: KubeObject, now: Date): string {
  const first = stringField(e, 'eventTime') ? since(now, stringField(e, 'eventTime')) : since(now, stringField(e, 'firstTimestamp'));
  const seriesCount = numberField(e, 'series', 'count');
  if (field(e, 'series') !== undefined && seriesCount !== undefined) {
    return `${since(now, stringField(e, 'series', 'lastObservedTime'))} (x${seriesCount} over ${first})`;
  }
  const count = numberField(e, 'count') ?? 0;
  if (count > 1) return `${since(now, stringField(e, 'lastTimestamp'))} (x${count} over ${first})`;
  return first;
}

export function eventRow(e: KubeObject, showNamespace: boolean, now: Date): string[] {
  const object = `${stringField(e, 'involvedObject', 'kind') ?? ''}/${stringField(e, 'involvedObject', 'name') ?? ''}`;
  const row = [lastSeen(e, now), stringField(e, 'type') ?? '', stringField(e, 'reason') ?? '', object, stringField(e, 'message') ?? ''];
  return showNamespace ? [e.metadata.namespace ?? '', ...row] : row;
}

export function eventHeader(showNamespace: boolean): string[] {
  const h = ['Last seen', 'Type', 'Reason', 'Object', 'Message'];
  return showNamespace ? ['Namespace', ...h] : h;
}

function fieldSelector(s: EventScope): string | undefined {
  const parts: string[] = [];
  if (s.kind) parts.push(`involvedObject.kind=${s.kind}`);
  if (s.name) parts.push(`involvedObject.name=${s.name}`);
  return parts.length ? parts.join(',') : undefined;
}

/** The objects whose events belong with `--for Kind/name`: the object and what it reads from. */
async function relatedScopes(client: KubeClient, kind: string, name: string, namespace: string): Promise<EventScope[]> {
  const k = cliKindOf(kind);
  if (!k || !['Kustomization', 'HelmChart', 'HelmRelease', 'Alert', 'ImagePolicy'].includes(k.kind)) return [];
  const obj = await getObject(client, k, namespace, name);
  const scopes: EventScope[] = [];
  const ref = (path: string[], fixedKind?: string): void => {
    const refName = stringField(obj, ...path, 'name');
    const refKind = fixedKind ?? stringField(obj, ...path, 'kind');
    if (refName && refKind) scopes.push({ kind: refKind, name: refName, namespace: stringField(obj, ...path, 'namespace') || namespace });
  };
  switch (k.kind) {
    case 'Kustomization':
    case 'HelmChart':
      ref(['spec', 'sourceRef']);
      break;
    case 'HelmRelease':
      if (field(obj, 'spec', 'chartRef') !== undefined) ref(['spec', 'chartRef']);
      else {
        ref(['spec', 'chart', 'spec', 'sourceRef']);
        const srcNs = stringField(obj, 'spec', 'chart', 'spec', 'sourceRef', 'namespace') || namespace;
        scopes.push({ kind: 'HelmChart', name: `${namespace}-${name}`, namespace: srcNs });
      }
      break;
    case 'Alert':
      ref(['spec', 'providerRef'], 'Provider');
      scopes.forEach((s) => (s.namespace = namespace));
      break;
    case 'ImagePolicy':
      ref(['spec', 'imageRepositoryRef'], 'ImageRepository');
      break;
    default:
      break;
  }
  return scopes;
}

async function listEvents(client: KubeClient, scope: EventScope): Promise<KubeObject[]> {
  const sel = fieldSelector(scope);
  return (await client.list('v1', 'Event', { namespace: scope.namespace, ...(sel ? { fieldSelector: sel } : {}) })).items;
}

export function keepEvent(e: KubeObject, types: readonly string[]): boolean {
  const kind = stringField(e, 'involvedObject', 'kind') ?? '';
  if (!EVENT_KINDS.has(kind)) return false;
  if (types.length === 0) return true;
  const t = (stringField(e, 'type') ?? '').toLowerCase();
  return types.some((x) => x.toLowerCase() === t);
}

interface EventOptions {
  for?: string;
  watch?: boolean;
  types: string[];
}

function parseFor(text: string): { kind: string; name: string | undefined } {
  const i = text.indexOf('/');
  const kind = i < 0 ? text : text.slice(0, i);
  const name = i < 0 ? undefined : text.slice(i + 1) || undefined;
  if (!kind) throw new CliError('--for selector must be of format <kind>[/<name>]');
  const known = [...EVENT_KINDS].find((k) => k.toLowerCase() === kind.toLowerCase());
  if (!known) throw new CliError(`'${kind}' is not a recognized Flux kind`);
  return { kind: known, name };
}

async function watchEvents(ctx: ActionContext, client: KubeClient, g: Globals, scopes: EventScope[], showNamespace: boolean, types: string[]): Promise<void> {
  const signal = AbortSignal.timeout(g.timeoutMs);
  const deadline = Date.now() + g.timeoutMs;
  let first = true;
  const print = (e: KubeObject): void => {
    if (!keepEvent(e, types)) return;
    ctx.io.stdout.write(renderTable(first ? eventHeader(showNamespace) : [], [eventRow(e, showNamespace, ctx.io.now())]));
    first = false;
  };
  await Promise.all(
    scopes.map(async (scope) => {
      const path = await client.pathFor({ apiVersion: 'v1', kind: 'Event', namespace: scope.namespace });
      let resourceVersion: string | undefined;
      while (!signal.aborted) {
        const sel = fieldSelector(scope);
        try {
          await client.transport.stream(
            path,
            { signal, query: { watch: 'true', timeoutSeconds: Math.max(1, Math.ceil((deadline - Date.now()) / 1000)), fieldSelector: sel, resourceVersion } },
            (line) => {
              const ev = line as { type?: string; object?: KubeObject };
              if (!ev.object || ev.type === 'ERROR') return;
              resourceVersion = ev.object.metadata.resourceVersion ?? resourceVersion;
              if (ev.type !== 'DELETED') print(ev.object);
            },
          );
        } catch (e) {
          if (signal.aborted) return;
          if (isGone(e)) {
            resourceVersion = undefined;
            continue;
          }
          throw e;
        }
      }
    }),
  );
}

export function eventsCommand(io: CliIO): Command {
  const cmd = new Command('events')
    .description('display Kubernetes events of Flux resources, oldest first')
    .addOption(new Option('--for <kind/name>', 'events of one object (or of one kind) and of the sources it reads'))
    .addOption(new Option('-w, --watch', 'stream new events until --timeout'))
    .addOption(new Option('--types <types>', 'only these event types (Normal, Warning), comma-separated').argParser((v: string, prev: string[]) => [...prev, ...v.split(',').filter(Boolean)]).default([]));
  withGlobals(cmd);
  return cmd.action(
    action(io, async (ctx) => {
      const g = globalsOf(ctx.cmd, io);
      const o = ctx.opts as unknown as EventOptions;
      for (const t of o.types) if (!['normal', 'warning'].includes(t.toLowerCase())) throw new CliError(`type '${t}' not supported. Supported types are Normal, Warning`);
      const namespace = g.allNamespaces ? undefined : g.namespace;
      const client = ctx.track(connect(g, io));
      const scopes: EventScope[] = [{ namespace }];
      if (o.for) {
        const f = parseFor(o.for);
        scopes[0] = { namespace, kind: f.kind, ...(f.name ? { name: f.name } : {}) };
        if (f.name) scopes.push(...(await relatedScopes(client, f.kind, f.name, g.namespace)));
      }
      const showNamespace = namespace === undefined || scopes.some((s) => s.namespace !== namespace);
      if (o.watch) return watchEvents(ctx, client, g, scopes, showNamespace, o.types);

      const seen = new Set<string>();
      const events: KubeObject[] = [];
      for (const scope of scopes) {
        for (const e of await listEvents(client, scope)) {
          const key = e.metadata.uid ?? `${e.metadata.namespace ?? ''}/${e.metadata.name}`;
          if (seen.has(key)) continue;
          seen.add(key);
          events.push(e);
        }
      }
      const rows = events
        .filter((e) => keepEvent(e, o.types))
        .sort((a, b) => eventTime(a) - eventTime(b))
        .map((e) => eventRow(e, showNamespace, io.now()));
      if (rows.length === 0) {
        ctx.progress.failure(namespace === undefined ? 'No events found.' : `No events found in ${namespace} namespace.`);
        return;
      }
      io.stdout.write(renderTable(eventHeader(showNamespace), rows));
    }),
  );
}
