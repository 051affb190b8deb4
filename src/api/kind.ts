/**
 * The description of one served kind: names, schema, printer columns and the older
 * versions served alongside the storage version. `crdgen.ts` turns an ApiKind into a
 * CustomResourceDefinition; the runtime uses the names to build URLs and informers.
 */
import { Type } from '@sinclair/typebox';
import type { TLiteral, TObject, TSchema, TString } from '@sinclair/typebox';
import { ObjectMetaSchema } from './common.ts';

export interface PrinterColumn {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  readonly jsonPath: string;
  readonly priority?: number;
  readonly description?: string;
}

/**
 * A field an older version had and the storage version dropped. With conversion strategy
 * None the API server prunes it when it stores the object (pruning follows the schema of
 * the storage version), so declaring it on the older version only decides what a request
 * at that version may contain:
 * - a field that had stopped doing anything is declared with its old schema, so old
 *   manifests still pass validation (kubectl validates unknown fields) and lose nothing;
 * - a field that still did something is declared with a schema that only admits an empty
 *   value, so a manifest using it is rejected with an error naming the field, instead of
 *   being accepted and then behaving differently.
 */
export interface RemovedField {
  /** Dotted path of the object that held the field, e.g. `spec.postRenderers[].kustomize`. */
  readonly parent: string;
  readonly name: string;
  readonly schema: TSchema;
}

/**
 * An older version served with the storage version's schema plus its `removedFields`.
 * Conversion is None: the API server only rewrites apiVersion, so a version may be served
 * only when every field it accepts means the same in the storage version.
 */
export interface OlderVersion {
  readonly name: string;
  readonly removedFields: readonly RemovedField[];
}

export interface ApiKind<K extends string = string> {
  readonly group: string;
  /** The storage version. */
  readonly version: string;
  /** `<group>/<version>` of the storage version. */
  readonly apiVersion: string;
  readonly kind: K;
  readonly listKind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  readonly namespaced: boolean;
  /** The whole object: apiVersion, kind, metadata, spec and (when the kind has one) status. */
  readonly schema: TObject;
  readonly spec: TSchema;
  /** Undefined for kinds without status (Alert and Provider, as in Flux v1beta3). */
  readonly status: TSchema | undefined;
  readonly printerColumns: readonly PrinterColumn[];
  /** Served, non-storage, deprecated versions. */
  readonly olderVersions: readonly OlderVersion[];
}

export interface KindDefinition<K extends string> {
  group: string;
  version: string;
  kind: K;
  plural: string;
  shortNames?: readonly string[];
  categories: readonly string[];
  schema: TObject;
  printerColumns: readonly PrinterColumn[];
  olderVersions?: readonly OlderVersion[];
}

export function defineKind<const K extends string>(d: KindDefinition<K>): ApiKind<K> {
  const spec = d.schema.properties['spec'];
  if (spec === undefined) throw new Error(`${d.kind}: schema has no spec`);
  return {
    group: d.group,
    version: d.version,
    apiVersion: `${d.group}/${d.version}`,
    kind: d.kind,
    listKind: `${d.kind}List`,
    plural: d.plural,
    singular: d.kind.toLowerCase(),
    shortNames: d.shortNames ?? [],
    categories: d.categories,
    namespaced: true,
    schema: d.schema,
    spec,
    status: d.schema.properties['status'],
    printerColumns: d.printerColumns,
    olderVersions: d.olderVersions ?? [],
  };
}

/** The full object schema of a kind with a status. */
export function objectSchema<K extends string, Sp extends TSchema, St extends TSchema>(
  kind: K,
  description: string,
  spec: Sp,
  status: St,
) {
  return Type.Object(
    { apiVersion: Type.String(), kind: Type.Literal(kind), metadata: ObjectMetaSchema, spec, status: Type.Optional(status) },
    { description },
  );
}

/** The full object schema of a kind without status. */
export function statuslessObjectSchema<K extends string, Sp extends TSchema>(
  kind: K,
  description: string,
  spec: Sp,
): TObject<{ apiVersion: TString; kind: TLiteral<K>; metadata: typeof ObjectMetaSchema; spec: Sp }> {
  return Type.Object(
    { apiVersion: Type.String(), kind: Type.Literal(kind), metadata: ObjectMetaSchema, spec },
    { description },
  );
}

export const readyColumn: PrinterColumn = {
  name: 'Ready',
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Ready")].status',
};
export const statusColumn: PrinterColumn = {
  name: 'Status',
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Ready")].message',
};
export const ageColumn: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

/** The older versions, by name, that carry no removed fields. */
export function plainOlderVersions(...names: string[]): OlderVersion[] {
  return olderVersionsRemoving([], ...names);
}

/** The older versions, by name, that all carry the same removed fields. */
export function olderVersionsRemoving(removedFields: readonly RemovedField[], ...names: string[]): OlderVersion[] {
  return names.map((name) => ({ name, removedFields }));
}

/** Schema for a removed field that no longer did anything: accepted, then pruned on storage. */
export function ignoredField<T extends TSchema>(schema: T): T {
  return { ...schema, description: 'Has no effect; accepted so that older manifests stay valid, and dropped when stored.' };
}

/** Schema for a removed list field that still did something: only an empty list (or no list) is accepted. */
export function removedListField(replacement: string) {
  return Type.Array(Type.Object({}, { 'x-kubernetes-preserve-unknown-fields': true }), {
    maxItems: 0,
    description: `Removed in the storage version of this API; rejected when not empty. Use ${replacement} instead.`,
  });
}

/** Schema for a removed string field that still did something: only an empty string (or no value) is accepted. */
export function removedStringField(replacement: string) {
  return Type.String({
    maxLength: 0,
    description: `Removed in the storage version of this API; rejected when not empty. Use ${replacement} instead.`,
  });
}
