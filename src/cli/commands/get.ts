/**
 * `flotilla get`: Flux's status tables (`get sources git`, `get ks`, `get hr`, `get images
 * all`, `get all`, …) with the same columns, filters (`-n`, `-A`, `-l`, `--status-selector`)
 * and wording, plus `--watch` (until `--timeout`) and `-o json|yaml`.
 */
import { Command, Option } from 'commander';
import type { KubeClient } from '../../runtime/client/client.ts';
import { isGone } from '../../runtime/client/errors.ts';
import { isKubeObject, type KubeObject } from '../../runtime/client/objects.ts';
import { connect, globalsOf, namespaceNameOrAny, withGlobals, type Globals } from './globals.ts';
import { toGoYaml } from './go-yaml.ts';
import { action, CliError, type ActionContext, type CliIO } from './io.ts';
import { apiOf, CLI_KINDS, GET_ALL_ORDER, cliKindOf, headersFor, kindsInGroup, nameColumns, type CliKind } from './kinds.ts';
import { isNoMatch, listKind } from './lookup.ts';
import { conditionMatches, stringField } from './status.ts';
import { renderTable } from './table.ts';

type OutputFormat = 'table' | 'json' | 'yaml';

interface GetOptions {
  labelSelector?: string;
  statusSelector?: string;
  watch?: boolean;
  header: boolean;
  output: OutputFormat;
  showSource?: boolean;
}

export interface StatusSelector {
  type: string;
  status: string;
  negate: boolean;
}

export function parseStatusSelector(text: string | undefined): StatusSelector | undefined {
  if (text === undefined || text === '') return undefined;
  // `!=` first: it contains `=` too
  const negate = text.includes('!=');
  const parts = text.split(negate ? '!=' : '=');
  if (parts.length !== 2 || !parts[0]) throw new CliError(`expected status selector in type=status or type!=status format, but found: ${text}`);
  return { type: parts[0], status: parts[1] ?? '', negate };
}

function selectorMatches(k: CliKind, obj: KubeObject, sel: StatusSelector | undefined): boolean {
  if (!sel) return true;
  const matches = k.readyOnlySelector
    ? sel.type.toLowerCase() === 'ready' && sel.status.toLowerCase() === 'true'
    : conditionMatches(obj, sel.type, sel.status);
  return sel.negate ? !matches : matches;
}

function sourceColumn(obj: KubeObject): string {
  const base = obj.kind === 'HelmRelease' && stringField(obj, 'spec', 'chartRef', 'kind') === undefined ? ['spec', 'chart', 'spec', 'sourceRef'] : obj.kind === 'HelmRelease' ? ['spec', 'chartRef'] : ['spec', 'sourceRef'];
  const ns = stringField(obj, ...base, 'namespace') || (obj.metadata.namespace ?? '');
  return `${stringField(obj, ...base, 'kind') ?? ''}/${ns}/${stringField(obj, ...base, 'name') ?? ''}`;
}

/** One row per object, as Flux's summariseItem builds it. */
export function rowsFor(k: CliKind, items: readonly KubeObject[], o: { allNamespaces: boolean; includeKind: boolean; showSource?: boolean | undefined; selector?: StatusSelector | undefined }): string[][] {
  return items
    .filter((obj) => selectorMatches(k, obj, o.selector))
    .map((obj) => [...nameColumns(obj, o.allNamespaces, o.includeKind), ...(o.showSource ? [sourceColumn(obj)] : []), ...k.row(obj)]);
}

export function headerFor(k: CliKind, allNamespaces: boolean, showSource: boolean | undefined): string[] {
  const h = headersFor(k, allNamespaces);
  if (showSource) h.splice(allNamespaces ? 2 : 1, 0, 'Source');
  return h;
}

function listDocument(items: KubeObject[]): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'List', items, metadata: { resourceVersion: '' } };
}

function printObjects(ctx: ActionContext, format: 'json' | 'yaml', items: KubeObject[]): void {
  if (format === 'json') ctx.io.stdout.write(`${JSON.stringify(listDocument(items), null, 4)}\n`);
  else ctx.io.stdout.write(toGoYaml(listDocument(items)));
}

async function watchKind(ctx: ActionContext, client: KubeClient, k: CliKind, g: Globals, name: string | undefined, o: GetOptions): Promise<void> {
  const api = apiOf(k);
  const path = await client.pathFor({ apiVersion: api.apiVersion, kind: api.kind, namespace: g.allNamespaces ? undefined : g.namespace });
  const selector = parseStatusSelector(o.statusSelector);
  const deadline = Date.now() + g.timeoutMs;
  const signal = AbortSignal.timeout(g.timeoutMs);
  let first = true;
  let resourceVersion: string | undefined;
  const print = (obj: KubeObject): void => {
    if (o.output !== 'table') {
      ctx.io.stdout.write(o.output === 'json' ? `${JSON.stringify(obj, null, 4)}\n` : `---\n${toGoYaml(obj)}`);
      return;
    }
    const rows = rowsFor(k, [obj], { allNamespaces: g.allNamespaces, includeKind: false, showSource: o.showSource, selector });
    if (rows.length === 0) return;
    ctx.io.stdout.write(renderTable(first && o.header ? headerFor(k, g.allNamespaces, o.showSource) : [], rows));
    first = false;
  };
  while (!signal.aborted) {
    const remaining = Math.max(1, Math.ceil((deadline - Date.now()) / 1000));
    try {
      await client.transport.stream(
        path,
        {
          signal,
          query: {
            watch: 'true',
            timeoutSeconds: remaining,
            labelSelector: o.labelSelector,
            fieldSelector: name ? `metadata.name=${name}` : undefined,
            resourceVersion,
          },
        },
        (line) => {
          const ev = line as { type?: string; object?: unknown };
          if (ev.type === 'ERROR' || !isKubeObject(ev.object)) return;
          resourceVersion = ev.object.metadata.resourceVersion ?? resourceVersion;
          if (ev.type === 'ADDED' || ev.type === 'MODIFIED' || ev.type === 'DELETED') print({ ...ev.object, apiVersion: api.apiVersion, kind: api.kind });
        },
      );
    } catch (e) {
      if (signal.aborted) break;
      if (isGone(e)) {
        resourceVersion = undefined;
        continue;
      }
      throw e;
    }
  }
}

/** Lists and prints one kind; returns whether anything was printed (for `get all`). */
async function getKind(ctx: ActionContext, client: KubeClient, k: CliKind, g: Globals, name: string | undefined, o: GetOptions, all: boolean): Promise<KubeObject[]> {
  const items = await listKind(client, k, { namespace: g.allNamespaces ? undefined : g.namespace, name, labelSelector: o.labelSelector });
  const api = apiOf(k);
  if (items.length === 0 && !all) {
    if (name) throw new CliError(`${api.kind} object '${name}' not found in ${namespaceNameOrAny(g)} namespace`);
    throw new CliError(`no ${api.kind} objects found in ${namespaceNameOrAny(g)} namespace`);
  }
  if (o.output !== 'table') return items;
  const rows = rowsFor(k, items, { allNamespaces: g.allNamespaces, includeKind: all, showSource: o.showSource, selector: parseStatusSelector(o.statusSelector) });
  if (all && rows.length === 0) return [];
  ctx.io.stdout.write(renderTable(o.header ? headerFor(k, g.allNamespaces, o.showSource) : [], rows));
  if (all) ctx.io.stdout.write('\n');
  return items;
}

function getOptions(cmd: Command, showSource: boolean): Command {
  cmd
    .addOption(new Option('-l, --label-selector <selector>', 'filter objects by label selector'))
    .addOption(new Option('--status-selector <selector>', 'filter by a status condition, e.g. ready=false or ready!=true'))
    .addOption(new Option('-w, --watch', 'after listing, watch for changes until --timeout'))
    .addOption(new Option('--no-header', 'skip the header when printing the results'))
    .addOption(new Option('-o, --output <format>', 'table, json or yaml').choices(['table', 'json', 'yaml']).default('table'));
  if (showSource) cmd.addOption(new Option('--show-source', 'show the source reference of each object'));
  return withGlobals(cmd);
}

function kindCommand(io: CliIO, k: CliKind): Command {
  const cmd = new Command(k.getWord).description(`get ${k.kind} statuses`).argument('[name]', 'object name').aliases(k.getAliases);
  getOptions(cmd, k.kind === 'Kustomization' || k.kind === 'HelmRelease');
  return cmd.action(
    action(io, async (ctx) => {
      const g = globalsOf(ctx.cmd, io);
      const o = ctx.opts as unknown as GetOptions;
      const name = ctx.args[0] as string | undefined;
      parseStatusSelector(o.statusSelector);
      const client = ctx.track(connect(g, io));
      if (o.watch) return watchKind(ctx, client, k, g, name, o);
      const items = await getKind(ctx, client, k, g, name, o, false);
      if (o.output !== 'table') printObjects(ctx, o.output, items);
    }),
  );
}

/** `get all`, `get sources all`, `get images all`: one section per kind, silent for absent kinds. */
function allCommand(io: CliIO, kinds: readonly CliKind[], what: string): Command {
  const cmd = new Command('all').description(`get the statuses of ${what}`).argument('[name]', 'object name');
  getOptions(cmd, false);
  return cmd.action(
    action(io, async (ctx) => {
      const g = globalsOf(ctx.cmd, io);
      const o = ctx.opts as unknown as GetOptions;
      if (o.watch) throw new CliError('expected a single resource type, but found all');
      parseStatusSelector(o.statusSelector);
      const client = ctx.track(connect(g, io));
      const collected: KubeObject[] = [];
      let failed = false;
      for (const k of kinds) {
        try {
          collected.push(...(await getKind(ctx, client, k, g, ctx.args[0] as string | undefined, o, true)));
        } catch (e) {
          if (isNoMatch(e)) continue;
          ctx.progress.failure(e instanceof Error ? e.message : String(e));
          failed = true;
        }
      }
      if (o.output !== 'table') printObjects(ctx, o.output, collected);
      return failed ? 1 : 0;
    }),
  );
}

export function getCommand(io: CliIO): Command {
  const get = new Command('get').description('get the resources and their status');
  const sources = new Command('sources').alias('source').description('get source statuses');
  for (const k of kindsInGroup('source')) sources.addCommand(kindCommand(io, k));
  sources.addCommand(allCommand(io, kindsInGroup('source'), 'all sources'));
  const images = new Command('images').alias('image').description('get image automation object statuses');
  for (const k of kindsInGroup('image')) images.addCommand(kindCommand(io, k));
  images.addCommand(allCommand(io, kindsInGroup('image'), 'all image automation objects'));
  get.addCommand(sources);
  get.addCommand(images);
  for (const k of CLI_KINDS) if (k.group === undefined) get.addCommand(kindCommand(io, k));
  get.addCommand(allCommand(io, GET_ALL_ORDER.map((kind) => cliKindOf(kind)).filter((k): k is CliKind => k !== undefined), 'all resources'));
  return get;
}
