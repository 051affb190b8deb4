import type { ImagePolicySpec } from '../../api/image.v1.ts';
import type { KubeClient } from '../../runtime/client/client.ts';
import type { KubeObject } from '../../runtime/client/objects.ts';
import type { FluxObject } from '../../runtime/reconcile/types.ts';
import type { ImageTagStore } from '../../services/imagetags/store.ts';

export const KIND = 'ImagePolicy';
export const API_VERSION = 'image.toolkit.fluxcd.io/v1';

export interface ImagePolicyObject extends FluxObject {
  spec: ImagePolicySpec & { [field: string]: unknown };
}

/** What the policy needs of an ImageRepository (read from the shared cache). */
export interface RepositoryView extends KubeObject {
  spec: { accessFrom?: { namespaceSelectors?: Array<{ matchLabels?: Record<string, string> }> } };
  status?: { canonicalImageName?: string; [k: string]: unknown };
}

export interface ImagePolicyDeps {
  client: KubeClient;
  tags: ImageTagStore;
  noCrossNamespaceRefs: boolean;
}

export interface ImagePolicyState {
  latest?: { name: string; tag: string };
  previous?: { name: string; tag: string };
}
