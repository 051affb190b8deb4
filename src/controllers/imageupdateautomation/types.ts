import type { ImageUpdateAutomationSpec } from '../../api/image.v1.ts';
import type { KubeClient } from '../../runtime/client/client.ts';
import type { KubeObject } from '../../runtime/client/objects.ts';
import type { FluxObject } from '../../runtime/reconcile/types.ts';
import type { GitClient } from '../../services/git/types.ts';
import type { PolicyImage } from '../../services/setters/setters.ts';

export const KIND = 'ImageUpdateAutomation';
export const API_VERSION = 'image.toolkit.fluxcd.io/v1';
export const DEFAULT_MESSAGE = 'Update from image update automation';

export interface ImageUpdateAutomationObject extends FluxObject {
  spec: ImageUpdateAutomationSpec & { [field: string]: unknown };
}

export interface GitRepositoryView extends KubeObject {
  spec: { url: string; secretRef?: { name: string }; ref?: { branch?: string } };
  status?: { artifact?: { revision?: string }; [k: string]: unknown };
}

export interface PolicyView extends KubeObject {
  status?: { latestRef?: PolicyImage; [k: string]: unknown };
}

export interface Lookups {
  gitRepository(namespace: string, name: string): GitRepositoryView | undefined;
  policies(namespace: string): PolicyView[];
}

export interface ImageUpdateAutomationDeps {
  client: KubeClient;
  git: GitClient;
  noCrossNamespaceRefs: boolean;
}

export interface ImageUpdateAutomationState {
  workDir?: string;
  pushed?: { commit: string; branch: string };
}
