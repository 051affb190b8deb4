/**
 * `flotilla export <kind> [name|--all]`: the objects as a user would commit them, without
 * status and server-set metadata, in the YAML `flux export` prints. Flux round-trips specs
 * through Go types, so durations come out as Go prints them (`5m` → `5m0s`) and optional
 * `false` booleans disappear; the schema in src/api tells which fields are which.
 */
import { Command, Option } from 'commander';
import { durationPattern, shortDurationPattern, type ApiKind } from '../../api/index.ts';
import type { KubeObject } from '../../runtime/client/objects.ts';
import { connect, globalsOf, withGlobals } from './globals.ts';
import { normalizeGoDuration } from '../../runtime/go-duration.ts';
import { exportDocument } from './go-yaml.ts';
import { action, CliError, type CliIO } from './io.ts';
import { apiOf, type CliKind } from './kinds.ts';
import { getObject, listKind } from './lookup.ts';
import { leafCommand, verbTree } from './verbs.ts';

const DURATION_PATTERNS = new Set([durationPattern, shortDurationPattern]);

type Schema = Record<string, unknown>;

function asSchema(v: unknown): Schema | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Schema) : undefined;
}

/**
 * Rewrites `value` the way a round-trip through Flux's Go types prints it: durations in
 * Go's format, and `false` dropped from optional booleans (Go's omitempty), which the API
 * server's defaulting adds (`force: false`) but `flux export` never shows.
 */
export function goRoundTrip(value: unknown, schema: unknown): unknown {
  const s = asSchema(schema);
  if (!s) return value;
  if (typeof value === 'string') return typeof s['pattern'] === 'string' && DURATION_PATTERNS.has(s['pattern']) ? normalizeGoDuration(value) : value;
  for (const alt of ['anyOf', 'oneOf', 'allOf'] as const) {
    const list = s[alt];
    if (Array.isArray(list)) for (const sub of list) value = goRoundTrip(value, sub);
  }
  if (Array.isArray(value)) return value.map((v) => goRoundTrip(v, s['items']));
  if (typeof value === 'object' && value !== null) {
    const props = asSchema(s['properties']) ?? {};
    const required = Array.isArray(s['required']) ? (s['required'] as unknown[]) : [];
    const extra = asSchema(s['additionalProperties']);
    const patterned = asSchema(s['patternProperties']);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const known = props[k] !== undefined;
      if (known && v === false && !required.includes(k)) continue;
      const sub = props[k] ?? extra ?? (patterned ? Object.values(patterned)[0] : undefined);
      out[k] = goRoundTrip(v, sub);
    }
    return out;
  }
  return value;
}

/** The object as `flux export` writes it: apiVersion, kind, name, namespace, labels, annotations, spec. */
export function exportObject(api: ApiKind, obj: KubeObject): Record<string, unknown> {
  const metadata: Record<string, unknown> = { name: obj.metadata.name, namespace: obj.metadata.namespace };
  if (obj.metadata.labels && Object.keys(obj.metadata.labels).length > 0) metadata['labels'] = obj.metadata.labels;
  if (obj.metadata.annotations && Object.keys(obj.metadata.annotations).length > 0) metadata['annotations'] = obj.metadata.annotations;
  const out: Record<string, unknown> = { apiVersion: api.apiVersion, kind: api.kind, metadata };
  if (obj['spec'] !== undefined) out['spec'] = goRoundTrip(obj['spec'], api.spec);
  return out;
}

function leaf(io: CliIO, k: CliKind): Command {
  const cmd = leafCommand(k, `export ${k.kind} objects in YAML format`)
    .argument('[name]', 'object name')
    .addOption(new Option('--all', 'export all objects of the kind in the namespace'));
  withGlobals(cmd, { allNamespaces: false });
  return cmd.action(
    action(io, async (ctx) => {
      const g = globalsOf(ctx.cmd, io);
      const name = ctx.args[0] as string | undefined;
      const all = ctx.opts['all'] === true;
      if (!all && !name) throw new CliError('name is required');
      const api = apiOf(k);
      const client = ctx.track(connect(g, io));
      const items = all ? await listKind(client, k, { namespace: g.namespace }) : [await getObject(client, k, g.namespace, name as string)];
      if (items.length === 0) throw new CliError(`no objects found in ${g.namespace} namespace`);
      for (const obj of items) io.stdout.write(exportDocument(exportObject(api, obj)));
    }),
  );
}

export function exportCommand(io: CliIO): Command {
  return verbTree('export', 'export resources in YAML format', (k) => leaf(io, k));
}
