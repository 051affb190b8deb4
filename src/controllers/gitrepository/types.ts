import type { GitRepositorySpec } from '../../api/source.v1.ts';
import type { ArtifactStore, Artifact } from '../../services/artifacts/index.ts';
import type { BranchTip, GitAuth, GitClient, GitProxy, ResolvedRef } from '../../services/git/types.ts';
import type { KubeClient } from '../../runtime/client/client.ts';
import type { FluxObject } from '../../runtime/reconcile/types.ts';

export const KIND = 'GitRepository';
export const API_VERSION = 'source.toolkit.fluxcd.io/v1';

export interface GitRepositoryObject extends FluxObject {
  spec: GitRepositorySpec & { [field: string]: unknown };
}

export interface GitRepositoryDeps {
  client: KubeClient;
  git: GitClient;
  store: ArtifactStore;
  noCrossNamespaceRefs: boolean;
  /**
   * The artifact last stored for a checkout key (url, commit, ignore, submodules, sparse
   * dirs): GitRepositories that track the same repository and commit reuse it instead of
   * cloning again.
   */
  sameCheckout: Map<string, Artifact>;
}

/** Scratch state passed along the step chain of one reconcile. */
export interface GitRepositoryState {
  auth: GitAuth;
  proxy: GitProxy | undefined;
  resolved?: ResolvedRef;
  /**
   * A first fetch of a branch (nothing stored yet, so nothing to compare with): fetched by
   * name without an `ls-remote` before it.
   */
  direct?: BranchTip;
  /** Set when the remote revision and inputs match the stored artifact: no fetch needed. */
  upToDate: boolean;
  workDir?: string;
  /** Another GitRepository's artifact of the very same checkout, copied instead of cloning. */
  reuse?: Artifact;
  commitSubject?: string;
  included: Artifact[];
  artifact?: Artifact;
}

/** Flux's reasons for GitRepository conditions. */
export const Reason = {
  AuthenticationFailed: 'AuthenticationFailed',
  GitOperationFailed: 'GitOperationFailed',
  URLInvalid: 'URLInvalid',
  ArtifactFailed: 'ArtifactFailed',
  StorageOperationFailed: 'StorageOperationFailed',
  ArchiveOperationFailed: 'ArchiveOperationFailed',
  IncludeUnavailable: 'IncludeUnavailable',
  VerificationError: 'VerificationError',
  NewRevision: 'NewRevision',
  Succeeded: 'Succeeded',
} as const;

export const Cond = {
  ArtifactInStorage: 'ArtifactInStorage',
  ArtifactOutdated: 'ArtifactOutdated',
  FetchFailed: 'FetchFailed',
  IncludeUnavailable: 'IncludeUnavailable',
  StorageOperationFailed: 'StorageOperationFailed',
  SourceVerified: 'SourceVerified',
} as const;

/** True when some checkout of `url` was stored recently: then an `ls-remote` first may save a clone. */
export function urlSeen(sameCheckout: ReadonlyMap<string, unknown>, url: string): boolean {
  const prefix = JSON.stringify([url]).slice(0, -1) + ',';
  for (const key of sameCheckout.keys()) if (key.startsWith(prefix)) return true;
  return false;
}

/** What makes two checkouts identical; undefined when includes make the content object-specific. */
export function checkoutKey(spec: GitRepositoryObject['spec'], commit: string): string | undefined {
  // includes make the content object-specific; verification needs a checkout of its own
  if (spec.include?.length || spec.verify) return undefined;
  return JSON.stringify([spec.url, commit, spec.ignore ?? null, spec.recurseSubmodules ?? false, spec.sparseCheckout ?? []]);
}
