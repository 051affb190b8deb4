import type { OCIRepositorySpec } from '../../api/source.v1.ts';
import type { KubeClient } from '../../runtime/client/client.ts';
import type { FluxObject } from '../../runtime/reconcile/types.ts';
import type { Artifact, ArtifactStore } from '../../services/artifacts/index.ts';
import type { OciConnection, Wanted } from '../../services/oci/index.ts';

export const KIND = 'OCIRepository';
export const API_VERSION = 'source.toolkit.fluxcd.io/v1';

export interface OCIRepositoryObject extends FluxObject {
  spec: OCIRepositorySpec & { [field: string]: unknown };
}

export interface OCIRepositoryDeps {
  client: KubeClient;
  store: ArtifactStore;
  /** The largest layer pulled, in bytes. */
  maxLayerBytes: number;
}

/** Scratch state of one reconcile. */
export interface OCIRepositoryState {
  connection?: OciConnection;
  wanted?: Wanted;
  /** The tag pulled (absent when pulled by digest). */
  tag?: string;
  /** The manifest digest the reference resolved to. */
  digest?: string;
  revision?: string;
  /** The stored artifact is this revision, built with the same inputs: nothing to pull. */
  upToDate: boolean;
  workDir?: string;
  artifact?: Artifact;
}

/** Flux's reasons for OCIRepository conditions. */
export const Reason = {
  AuthenticationFailed: 'AuthenticationFailed',
  OCIArtifactPullFailed: 'OCIArtifactPullFailed',
  OCIArtifactLayerOperationFailed: 'OCIArtifactLayerOperationFailed',
  URLInvalid: 'URLInvalid',
  InvalidSpec: 'InvalidSpec',
  VerificationError: 'VerificationError',
  StorageOperationFailed: 'StorageOperationFailed',
  NewRevision: 'NewRevision',
  Succeeded: 'Succeeded',
} as const;

export const Cond = {
  ArtifactInStorage: 'ArtifactInStorage',
  ArtifactOutdated: 'ArtifactOutdated',
  FetchFailed: 'FetchFailed',
  StorageOperationFailed: 'StorageOperationFailed',
} as const;

/** The layer selector as Flux defaults it. */
export function layerSelector(spec: OCIRepositorySpec): { mediaType?: string; operation: 'extract' | 'copy' } {
  return { ...(spec.layerSelector?.mediaType ? { mediaType: spec.layerSelector.mediaType } : {}), operation: spec.layerSelector?.operation ?? 'extract' };
}
