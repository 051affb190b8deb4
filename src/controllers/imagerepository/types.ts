import type { ImageRepositorySpec } from '../../api/image.v1.ts';
import type { KubeClient } from '../../runtime/client/client.ts';
import type { FluxObject } from '../../runtime/reconcile/types.ts';
import type { ImageTagStore } from '../../services/imagetags/store.ts';

export const KIND = 'ImageRepository';
export const API_VERSION = 'image.toolkit.fluxcd.io/v1';
/** Flux leaves cosign signature tags out unless told otherwise. */
export const DEFAULT_EXCLUSIONS = ['^.*\\.sig$'];
export const LATEST_TAGS = 10;

export interface ImageRepositoryObject extends FluxObject {
  spec: ImageRepositorySpec & { [field: string]: unknown };
}

export interface ImageRepositoryDeps {
  client: KubeClient;
  tags: ImageTagStore;
}

export interface ImageRepositoryState {
  found?: number;
  checksum?: string;
}
