/**
 * The kinds the CLI knows, by the words Flux's CLI uses for them (`source git`,
 * `kustomization|ks`, `helmrelease|hr`, `image repository`, `alert-provider`, …), with
 * what `get` shows for each and what `reconcile`/`resume` report on success. Group,
 * version and plural come from the API registry in src/api.
 */
import { apiKindOf, type ApiKind, type FluxKind } from '../../api/index.ts';
import type { KubeObject } from '../../runtime/client/objects.ts';
import { field, numberField, readyStatusAndMessage, rfc3339, stringField, titleBool, truncateHex, isSuspended } from './status.ts';

export interface SourceRef {
  kind: string;
  name: string;
  namespace: string;
}

export interface CliKind {
  readonly kind: FluxKind;
  /** The sub-group word for verbs (`reconcile source git`); `get` uses the plural (`sources`). */
  readonly group: 'source' | 'image' | undefined;
  /** The verb form: `git`, `kustomization`, `repository`, `alert-provider`. */
  readonly word: string;
  readonly aliases: readonly string[];
  /** The `get` form: `git`, `kustomizations`, `alert-providers`. */
  readonly getWord: string;
  readonly getAliases: readonly string[];
  /** How progress lines name the kind: `source git`, `kustomization`, `image policy`. */
  readonly humanKind: string;
  /** No reconciler and no status: Alert and Provider. */
  readonly isStatic: boolean;
  /** Columns after NAME (and NAMESPACE with -A). */
  readonly headers: readonly string[];
  row(obj: KubeObject): string[];
  /** Alert and Provider have no conditions; `--status-selector` only matches ready=true. */
  readonly readyOnlySelector: boolean;
  successMessage(obj: KubeObject): string;
  /** For `reconcile --with-source`: the source this object reads from. */
  sourceOf?(obj: KubeObject): SourceRef | undefined;
}

const revisionOf = (obj: KubeObject): string => stringField(obj, 'status', 'artifact', 'revision') ?? '';

function sourceRow(truncateRevision: boolean) {
  return (obj: KubeObject): string[] => {
    const [status, msg] = readyStatusAndMessage(obj);
    const revision = revisionOf(obj);
    return [truncateRevision ? truncateHex(revision) : revision, titleBool(isSuspended(obj)), status, truncateHex(msg)];
  };
}

const REVISION_COLUMNS = ['Revision', 'Suspended', 'Ready', 'Message'] as const;

/** A HelmRelease's revision: the chart version of its latest release, else the last attempted one. */
export function helmReleaseRevision(obj: KubeObject): string {
  const history = field(obj, 'status', 'history');
  if (Array.isArray(history) && history.length > 0) return stringField(history[0], 'chartVersion') ?? '';
  return stringField(obj, 'status', 'lastAttemptedRevision') ?? '';
}

function refIn(obj: KubeObject, ...path: string[]): SourceRef | undefined {
  const kind = stringField(obj, ...path, 'kind');
  const name = stringField(obj, ...path, 'name');
  if (!kind || !name) return undefined;
  return { kind, name, namespace: stringField(obj, ...path, 'namespace') || (obj.metadata.namespace ?? '') };
}

function helmReleaseSource(obj: KubeObject): SourceRef | undefined {
  const chartRef = refIn(obj, 'spec', 'chartRef');
  if (chartRef) return chartRef;
  const template = refIn(obj, 'spec', 'chart', 'spec', 'sourceRef');
  if (!template) return undefined;
  // the HelmChart the helm controller generates for a chart template: <namespace>-<name>, in the source's namespace
  return { kind: 'HelmChart', name: `${obj.metadata.namespace ?? ''}-${obj.metadata.name}`, namespace: template.namespace };
}

export const CLI_KINDS: readonly CliKind[] = [
  {
    kind: 'GitRepository', group: 'source', word: 'git', aliases: [], getWord: 'git', getAliases: [], humanKind: 'source git',
    isStatic: false, headers: REVISION_COLUMNS, row: sourceRow(true), readyOnlySelector: false,
    successMessage: (o) => `fetched revision ${revisionOf(o)}`,
  },
  {
    kind: 'OCIRepository', group: 'source', word: 'oci', aliases: [], getWord: 'oci', getAliases: [], humanKind: 'source oci',
    isStatic: false, headers: REVISION_COLUMNS, row: sourceRow(true), readyOnlySelector: false,
    successMessage: (o) => `fetched revision ${revisionOf(o)}`,
  },
  {
    kind: 'HelmRepository', group: 'source', word: 'helm', aliases: [], getWord: 'helm', getAliases: [], humanKind: 'source helm',
    isStatic: false, headers: REVISION_COLUMNS, readyOnlySelector: false,
    row: (o) => {
      // an OCI HelmRepository has no artifact and no reconciler work to report
      if (stringField(o, 'spec', 'type') === 'oci') return [truncateHex(revisionOf(o)), titleBool(isSuspended(o)), 'True', 'Helm repository is Ready'];
      return sourceRow(true)(o);
    },
    successMessage: (o) =>
      stringField(o, 'spec', 'type') === 'oci' ? readyStatusAndMessage(o)[1] : `fetched revision ${revisionOf(o)}`,
  },
  {
    kind: 'HelmChart', group: 'source', word: 'chart', aliases: [], getWord: 'chart', getAliases: [], humanKind: 'source chart',
    isStatic: false, headers: REVISION_COLUMNS, row: sourceRow(false), readyOnlySelector: false,
    successMessage: (o) => `fetched revision ${revisionOf(o)}`,
    sourceOf: (o) => refIn(o, 'spec', 'sourceRef'),
  },
  {
    kind: 'Kustomization', group: undefined, word: 'kustomization', aliases: ['ks'], getWord: 'kustomizations', getAliases: ['ks', 'kustomization'],
    humanKind: 'kustomization', isStatic: false, headers: REVISION_COLUMNS, readyOnlySelector: false,
    row: (o) => {
      const [status, msg] = readyStatusAndMessage(o);
      return [truncateHex(stringField(o, 'status', 'lastAppliedRevision') ?? ''), titleBool(isSuspended(o)), status, truncateHex(msg)];
    },
    successMessage: (o) => `applied revision ${stringField(o, 'status', 'lastAppliedRevision') ?? ''}`,
    sourceOf: (o) => refIn(o, 'spec', 'sourceRef'),
  },
  {
    kind: 'HelmRelease', group: undefined, word: 'helmrelease', aliases: ['hr'], getWord: 'helmreleases', getAliases: ['hr', 'helmrelease'],
    humanKind: 'helmrelease', isStatic: false, headers: REVISION_COLUMNS, readyOnlySelector: false,
    row: (o) => {
      const [status, msg] = readyStatusAndMessage(o);
      return [helmReleaseRevision(o), titleBool(isSuspended(o)), status, msg];
    },
    successMessage: (o) => `applied revision ${helmReleaseRevision(o)}`,
    sourceOf: helmReleaseSource,
  },
  {
    kind: 'ImageRepository', group: 'image', word: 'repository', aliases: [], getWord: 'repository', getAliases: [], humanKind: 'image repository',
    isStatic: false, headers: ['Last scan', 'Suspended', 'Ready', 'Message'], readyOnlySelector: false,
    row: (o) => {
      const [status, msg] = readyStatusAndMessage(o);
      return [rfc3339(stringField(o, 'status', 'lastScanResult', 'scanTime')), titleBool(isSuspended(o)), status, msg];
    },
    successMessage: (o) => `scan fetched ${numberField(o, 'status', 'lastScanResult', 'tagCount') ?? 0} tags`,
  },
  {
    kind: 'ImagePolicy', group: 'image', word: 'policy', aliases: [], getWord: 'policy', getAliases: [], humanKind: 'image policy',
    isStatic: false, headers: ['Image', 'Tag', 'Ready', 'Message'], readyOnlySelector: false,
    row: (o) => {
      const [status, msg] = readyStatusAndMessage(o);
      return [stringField(o, 'status', 'latestRef', 'name') ?? '', stringField(o, 'status', 'latestRef', 'tag') ?? '', status, msg];
    },
    successMessage: (o) => {
      const name = stringField(o, 'status', 'latestRef', 'name') ?? '';
      const tag = stringField(o, 'status', 'latestRef', 'tag');
      const digest = stringField(o, 'status', 'latestRef', 'digest');
      return `selected ref ${name}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`;
    },
  },
  {
    kind: 'ImageUpdateAutomation', group: 'image', word: 'update', aliases: [], getWord: 'update', getAliases: [], humanKind: 'image update',
    isStatic: false, headers: ['Last run', 'Suspended', 'Ready', 'Message'], readyOnlySelector: false,
    row: (o) => {
      const [status, msg] = readyStatusAndMessage(o);
      return [rfc3339(stringField(o, 'status', 'lastAutomationRunTime')), titleBool(isSuspended(o)), status, msg];
    },
    successMessage: (o) => {
      const last = stringField(o, 'status', 'lastAutomationRunTime');
      return last ? `last run ${rfc3339(last)}` : 'automation not yet run';
    },
  },
  {
    kind: 'Receiver', group: undefined, word: 'receiver', aliases: [], getWord: 'receivers', getAliases: ['receiver'], humanKind: 'receiver',
    isStatic: false, headers: ['Suspended', 'Ready', 'Message'], readyOnlySelector: false,
    row: (o) => {
      const [status, msg] = readyStatusAndMessage(o);
      return [titleBool(isSuspended(o)), status, msg];
    },
    successMessage: () => 'Receiver reconciliation completed',
  },
  {
    kind: 'Provider', group: undefined, word: 'alert-provider', aliases: [], getWord: 'alert-providers', getAliases: ['alert-provider'],
    humanKind: 'alert-provider', isStatic: true, headers: ['Ready', 'Message'], readyOnlySelector: true,
    row: () => ['True', 'Provider is Ready'],
    successMessage: () => 'Provider reconciliation completed',
  },
  {
    kind: 'Alert', group: undefined, word: 'alert', aliases: [], getWord: 'alerts', getAliases: ['alert'], humanKind: 'alert',
    isStatic: true, headers: ['Suspended', 'Ready', 'Message'], readyOnlySelector: true,
    row: (o) => [titleBool(isSuspended(o)), 'True', 'Alert is Ready'],
    successMessage: () => 'Alert reconciliation completed',
  },
];

export function apiOf(k: CliKind): ApiKind {
  return apiKindOf(k.kind);
}

export function cliKindOf(kind: string): CliKind | undefined {
  return CLI_KINDS.find((k) => k.kind.toLowerCase() === kind.toLowerCase());
}

/** The order `get all` prints its sections in, as Flux does: sources, images, then the rest. */
export const GET_ALL_ORDER: readonly FluxKind[] = [
  'OCIRepository', 'GitRepository', 'HelmRepository', 'HelmChart',
  'ImageRepository', 'ImagePolicy', 'ImageUpdateAutomation',
  'HelmRelease', 'Kustomization', 'Receiver', 'Provider', 'Alert',
];

export function kindsInGroup(group: 'source' | 'image'): CliKind[] {
  return GET_ALL_ORDER.map((k) => cliKindOf(k)).filter((k): k is CliKind => k !== undefined && k.group === group);
}

/** NAME (and NAMESPACE first with -A); `kind/name` in `get all`, like Flux. */
export function nameColumns(obj: KubeObject, includeNamespace: boolean, includeKind: boolean): string[] {
  const name = includeKind ? `${obj.kind.toLowerCase()}/${obj.metadata.name}` : obj.metadata.name;
  return includeNamespace ? [obj.metadata.namespace ?? '', name] : [name];
}

export function headersFor(k: CliKind, includeNamespace: boolean): string[] {
  return includeNamespace ? ['Namespace', 'Name', ...k.headers] : ['Name', ...k.headers];
}
