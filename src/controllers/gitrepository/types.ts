import type { GitRepositorySpec } from '../../api/source.v1.ts';
import type { ArtifactStore, Artifact } from '../../services/artifacts/index.ts';
import type { GitAuth, GitClient, GitProxy, ResolvedRef } from '../../services/git/types.ts';
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
}

/** Scratch state passed along the step chain of one reconcile. */
export interface GitRepositoryState {
  auth: GitAuth;
  proxy: GitProxy | undefined;
  resolved?: ResolvedRef;
  /** Set when the remote revision and inputs match the stored artifact: no fetch needed. */
  upToDate: boolean;
  workDir?: string;
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
