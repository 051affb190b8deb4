import type { KustomizationSpec } from '../../api/kustomize.v1.ts';
import type { Artifact, ArtifactStore } from '../../services/artifacts/index.ts';
import type { ClientFactory, TenantClient } from '../../services/tenancy/clients.ts';
import type { BuildCache } from '../../services/kustomize/pipeline.ts';
import type { CustomHealthChecks } from '../../services/cel/index.ts';
import type { KubeClient } from '../../runtime/client/client.ts';
import type { KubeObject } from '../../runtime/client/objects.ts';
import type { FluxObject } from '../../runtime/reconcile/types.ts';

export const KIND = 'Kustomization';
export const API_VERSION = 'kustomize.toolkit.fluxcd.io/v1';
export const FIELD_MANAGER = 'kustomize-controller';
export const NAME_LABEL = 'kustomize.toolkit.fluxcd.io/name';
export const NAMESPACE_LABEL = 'kustomize.toolkit.fluxcd.io/namespace';
/**
 * Flotilla's guard against wiping a namespace by accident: a build with zero objects while
 * the inventory is not empty is refused unless the Kustomization carries this annotation.
 */
export const ALLOW_EMPTY_ANNOTATION = 'flotilla.io/allow-empty-build';

export interface KustomizationObject extends FluxObject {
  spec: KustomizationSpec & { [field: string]: unknown };
}

export interface SourceObject extends FluxObject {
  status?: FluxObject['status'] & { artifact?: Artifact };
}

/** Looks up a source (GitRepository, OCIRepository) or a Kustomization in the shared caches. */
export type Lookup<T> = (kind: string, namespace: string, name: string) => T | undefined;

export interface InventoryEntry {
  id: string;
  v: string;
}

export interface ApplyOutcome {
  entries: InventoryEntry[];
  /** Flux's change-set lines, e.g. `Deployment/apps/web configured`. */
  changeSet: string[];
  /** Whether anything was created or configured. */
  changed: boolean;
}

/** The server-side apply service as the controller sees it (src/services/ssa behind it). */
export interface Applier {
  apply(client: KubeClient, objects: KubeObject[], opts: { force: boolean; ownerLabels: Record<string, string>; identity: string }): Promise<ApplyOutcome>;
  /** Entries of `before` that are not in `after`. */
  stale(before: readonly InventoryEntry[], after: readonly InventoryEntry[]): InventoryEntry[];
  /** Deletes stale objects that still carry the owner labels; returns change-set lines. */
  prune(client: KubeClient, stale: readonly InventoryEntry[], ownerLabels: Record<string, string>): Promise<string[]>;
  /** Waits until the objects are healthy (kstatus) or the timeout passes. */
  health(
    client: KubeClient,
    entries: readonly InventoryEntry[],
    timeoutMs: number,
    opts?: {
      signal?: AbortSignal;
      onPending?: () => Promise<void>;
      statusOf?: (obj: KubeObject) => { status: 'Current' | 'InProgress' | 'Failed'; message: string } | undefined;
    },
  ): Promise<{ healthy: boolean; message: string; canceled?: boolean }>;
}

export interface KustomizationDeps {
  applier: Applier;
  buildCache: BuildCache;
  /** `--default-service-account`, for the finalizer's check that the identity still exists. */
  defaultServiceAccount?: string | undefined;
  client: KubeClient;
  store: ArtifactStore;
  clients: ClientFactory;
  kubectl: string;
  noRemoteBases: boolean;
  strictSubstitution: boolean;
  /** AdditiveCELDependencyCheck: a `readyExpr` adds to the built-in dependency checks instead of replacing them. */
  additiveCelDependencyCheck?: boolean;
  /** CancelHealthCheckOnNewRevision: a new source revision aborts a health wait in progress. */
  cancelHealthCheckOnNewRevision?: boolean;
  /** Parallel requests per apply stage. */
  applyConcurrency: number;
}

export interface KustomizationState {
  artifact?: Artifact;
  workDir?: string;
  objects: KubeObject[];
  /** `healthCheckExprs`, checked by the validate step. */
  healthChecks?: CustomHealthChecks;
  /** `sha256:<hex>` of the build output, for `status.history`; set once the build succeeded. */
  buildDigest?: string;
  tenant?: TenantClient;
  /** Inventory entries of this build. */
  inventory: Array<{ id: string; v: string }>;
  changeSet: string[];
  /** Something changed in the cluster (objects configured, created or pruned). */
  changed: boolean;
  startedAt: number;
}

export const Reason = {
  ArtifactFailed: 'ArtifactFailed',
  BuildFailed: 'BuildFailed',
  DependencyNotReady: 'DependencyNotReady',
  HealthCheckFailed: 'HealthCheckFailed',
  ReconciliationFailed: 'ReconciliationFailed',
  ReconciliationSucceeded: 'ReconciliationSucceeded',
  PruneFailed: 'PruneFailed',
  InvalidSpec: 'InvalidSpec',
  InvalidCELExpression: 'InvalidCELExpression',
  Progressing: 'Progressing',
  Succeeded: 'Succeeded',
} as const;

export const Cond = { Healthy: 'Healthy' } as const;
