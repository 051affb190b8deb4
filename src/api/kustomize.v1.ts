/**
 * kustomize.toolkit.fluxcd.io/v1: Kustomization, which builds a directory of a source
 * artifact with kustomize and applies the result with server-side apply.
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import {
  CommonMetadataSchema,
  DependencyReferenceSchema,
  IgnoreRuleSchema,
  KubeConfigReferenceSchema,
  KustomizeImageSchema,
  KustomizePatchSchema,
  NamespacedObjectKindReferenceSchema,
  ResourceInventorySchema,
  duration,
  healthCheckExprs,
  int64,
  reconciledStatus,
  secretRef,
  stringEnum,
  stringMap,
  timestamp,
} from './common.ts';
import {
  ageColumn,
  defineKind,
  ignoredField,
  objectSchema,
  olderVersionsRemoving,
  readyColumn,
  removedListField,
  statusColumn,
} from './kind.ts';

export const kustomizeGroup = 'kustomize.toolkit.fluxcd.io';
export const kustomizeVersion = 'v1';
export const kustomizeApiVersion = `${kustomizeGroup}/${kustomizeVersion}`;

export const KustomizationSourceReferenceSchema = Type.Object(
  {
    apiVersion: Type.Optional(Type.String({ description: 'API version of the source.' })),
    kind: stringEnum(['OCIRepository', 'GitRepository', 'Bucket', 'ExternalArtifact'], {
      description: 'Kind of the source.',
    }),
    name: Type.String({ description: 'Name of the source.' }),
    namespace: Type.Optional(
      Type.String({ description: 'Namespace of the source; the namespace of the Kustomization when empty.' }),
    ),
  },
  { description: 'The source whose artifact holds the manifests.' },
);
export type KustomizationSourceReference = Static<typeof KustomizationSourceReferenceSchema>;

export const DecryptionSchema = Type.Object(
  {
    provider: stringEnum(['sops'], { description: 'The decryption tool; only sops.' }),
    secretRef: Type.Optional(
      secretRef(
        'Secret with the decryption keys: age keys under keys ending in .agekey, PGP keys under .asc, and credentials for cloud key services.',
      ),
    ),
    serviceAccountName: Type.Optional(
      Type.String({ description: 'Service account whose workload identity is used to reach a cloud key service.' }),
    ),
  },
  { description: 'Decrypt SOPS-encrypted manifests before applying them.' },
);
export type Decryption = Static<typeof DecryptionSchema>;

export const SubstituteReferenceSchema = Type.Object({
  kind: stringEnum(['Secret', 'ConfigMap'], { description: 'Kind of the object holding the variables.' }),
  name: Type.String({
    minLength: 1,
    maxLength: 253,
    description: 'Name of the object, in the namespace of the Kustomization.',
  }),
  optional: Type.Optional(
    Type.Boolean({
      default: false,
      description: 'Carry on without these variables when the object does not exist.',
    }),
  ),
});
export type SubstituteReference = Static<typeof SubstituteReferenceSchema>;

export const PostBuildSchema = Type.Object(
  {
    substitute: Type.Optional(
      stringMap('Variables replacing ${name} in the built manifests; they win over substituteFrom.'),
    ),
    substituteFrom: Type.Optional(
      Type.Array(SubstituteReferenceSchema, {
        description: 'ConfigMaps and Secrets whose data become variables; later entries win over earlier ones.',
      }),
    ),
    substituteStrategy: Type.Optional(
      stringEnum(['WithVariables', 'Always'], {
        description:
          'WithVariables (the default) substitutes only when variables are defined; Always also replaces ${name:=default} forms when none are.',
      }),
    ),
  },
  { description: 'Variable substitution in the built manifests, before they are applied.' },
);
export type PostBuild = Static<typeof PostBuildSchema>;

export const KustomizationSpecSchema = Type.Object(
  {
    buildMetadata: Type.Optional(
      Type.Array(stringEnum(['originAnnotations', 'transformerAnnotations']), {
        description: 'kustomize build metadata to add to the objects as annotations.',
      }),
    ),
    commonMetadata: Type.Optional(CommonMetadataSchema),
    components: Type.Optional(
      Type.Array(Type.String(), { description: 'kustomize Components to include, relative to path.' }),
    ),
    decryption: Type.Optional(DecryptionSchema),
    deletionPolicy: Type.Optional(
      stringEnum(['MirrorPrune', 'Delete', 'WaitForTermination', 'Orphan'], {
        description:
          'What happens to the applied objects when the Kustomization is deleted: follow prune (MirrorPrune, the default), Delete, delete and wait until they are gone (WaitForTermination), or keep them (Orphan).',
      }),
    ),
    dependsOn: Type.Optional(
      Type.Array(DependencyReferenceSchema, {
        description: 'Kustomizations that must be ready before this one is applied.',
      }),
    ),
    force: Type.Optional(
      Type.Boolean({
        default: false,
        description: 'Delete and recreate objects whose immutable fields changed, instead of failing.',
      }),
    ),
    healthCheckExprs: Type.Optional(healthCheckExprs()),
    healthChecks: Type.Optional(
      Type.Array(NamespacedObjectKindReferenceSchema, {
        description: 'Objects that must become healthy before the Kustomization reports Ready.',
      }),
    ),
    ignore: Type.Optional(
      Type.Array(IgnoreRuleSchema, {
        description: 'Fields that are not applied and not corrected when they drift.',
      }),
    ),
    ignoreMissingComponents: Type.Optional(
      Type.Boolean({ description: 'Skip components that do not exist instead of failing the build.' }),
    ),
    images: Type.Optional(
      Type.Array(KustomizeImageSchema, { description: 'Image name, tag and digest overrides.' }),
    ),
    interval: duration(
      'How often the manifests are applied again, which also corrects drift. A little jitter is added.',
    ),
    kubeConfig: Type.Optional(KubeConfigReferenceSchema),
    namePrefix: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'Prefix added to the name of every object.' }),
    ),
    nameSuffix: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'Suffix added to the name of every object.' }),
    ),
    patches: Type.Optional(
      Type.Array(KustomizePatchSchema, { description: 'Strategic merge or JSON 6902 patches applied to the objects.' }),
    ),
    path: Type.Optional(
      Type.String({
        description:
          'Directory in the artifact holding a kustomization.yaml or plain manifests; the artifact root when empty.',
      }),
    ),
    postBuild: Type.Optional(PostBuildSchema),
    prune: Type.Boolean({
      description: 'Delete objects that were applied before and are no longer part of the build.',
    }),
    retryInterval: Type.Optional(
      duration('How soon to try again after a failure; the interval when empty.'),
    ),
    serviceAccountName: Type.Optional(
      Type.String({ description: 'Service account, in the namespace of the Kustomization, to apply as.' }),
    ),
    sourceRef: KustomizationSourceReferenceSchema,
    suspend: Type.Optional(
      Type.Boolean({ description: 'Stops applying while true; applied objects are left as they are.' }),
    ),
    targetNamespace: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 63,
        description: 'Namespace set on every namespaced object, overriding the one in the manifests.',
      }),
    ),
    timeout: Type.Optional(
      duration('Time limit for building, applying and health checking; derived from the interval when empty.'),
    ),
    wait: Type.Optional(
      Type.Boolean({
        description: 'Wait for every applied object to become healthy; healthChecks is ignored when set.',
      }),
    ),
  },
  { description: 'Which manifests to build and how to apply them.' },
);
export type KustomizationSpec = Static<typeof KustomizationSpecSchema>;

export const HistorySnapshotSchema = Type.Object({
  digest: Type.String({ description: 'Checksum of the applied objects.' }),
  firstReconciled: timestamp('When this set of objects was first applied.'),
  lastReconciled: timestamp('When this set of objects was last applied.'),
  lastReconciledDuration: Type.String({ description: 'How long the last reconciliation took.' }),
  lastReconciledStatus: Type.String({ description: 'How the last reconciliation ended.' }),
  metadata: Type.Optional(
    stringMap('Details of the reconciliation, such as the source revision and origin revision.'),
  ),
  totalReconciliations: int64('How many reconciliations applied this set of objects.'),
});
export type HistorySnapshot = Static<typeof HistorySnapshotSchema>;

export const KustomizationStatusSchema = reconciledStatus('Kustomization', 'What the controller last observed and applied.', {
  history: Type.Optional(
    Type.Array(HistorySnapshotSchema, { description: 'Recent distinct reconciliation results, newest first.' }),
  ),
  inventory: Type.Optional(ResourceInventorySchema),
  lastAppliedOriginRevision: Type.Optional(
    Type.String({ description: 'The origin revision (from the artifact metadata) last applied successfully.' }),
  ),
  lastAppliedRevision: Type.Optional(
    Type.String({ description: 'The source revision last applied successfully.' }),
  ),
  lastAttemptedRevision: Type.Optional(Type.String({ description: 'The source revision last tried.' })),
});
export type KustomizationStatus = Static<typeof KustomizationStatusSchema>;

export const KustomizationSchema = objectSchema(
  'Kustomization',
  'A set of manifests built from a source artifact and kept applied to the cluster.',
  KustomizationSpecSchema,
  KustomizationStatusSchema,
);
export type Kustomization = Static<typeof KustomizationSchema>;

/**
 * v1beta1/v1beta2 differ from v1 by `validation` (no effect since Flux v0.26: accepted and
 * dropped) and by patchesStrategicMerge/patchesJson6902, which still patched: rejected.
 */
const kustomizationRemovedFields = [
  { parent: 'spec', name: 'validation', schema: ignoredField(stringEnum(['none', 'client', 'server'])) },
  { parent: 'spec', name: 'patchesStrategicMerge', schema: removedListField('spec.patches') },
  { parent: 'spec', name: 'patchesJson6902', schema: removedListField('spec.patches') },
];

export const kustomizationApi = defineKind({
  group: kustomizeGroup,
  version: kustomizeVersion,
  kind: 'Kustomization',
  plural: 'kustomizations',
  shortNames: ['ks'],
  categories: ['all', 'fluxcd', 'fluxcd-appliers'],
  schema: KustomizationSchema,
  printerColumns: [ageColumn, readyColumn, statusColumn],
  olderVersions: olderVersionsRemoving(kustomizationRemovedFields, 'v1beta1', 'v1beta2'),
});
