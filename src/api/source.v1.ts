/**
 * source.toolkit.fluxcd.io/v1: GitRepository, OCIRepository, HelmRepository, HelmChart.
 * Sources fetch something from outside the cluster and publish it as an artifact.
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import {
  AccessFromSchema,
  ArtifactSchema,
  LocalObjectReferenceSchema,
  OidcIdentityMatchSchema,
  registryFields,
  signatureVerificationProperties,
  duration,
  reconciledStatus,
  secretRef,
  shortDuration,
  stringEnum,
} from './common.ts';
import {
  ageColumn,
  defineKind,
  ignoredField,
  objectSchema,
  olderVersionsRemoving,
  plainOlderVersions,
  readyColumn,
  removedStringField,
  statusColumn,
} from './kind.ts';

export const sourceGroup = 'source.toolkit.fluxcd.io';
export const sourceVersion = 'v1';
export const sourceApiVersion = `${sourceGroup}/${sourceVersion}`;
const sourceCategories = ['all', 'fluxcd', 'fluxcd-sources'] as const;

function intervalField(kind: string) {
  return duration(`How often the ${kind} checks its origin for a new revision. A little jitter is added to spread the load.`);
}

function suspendField(kind: string) {
  return Type.Boolean({ description: `Stops reconciling the ${kind} while true; the last artifact stays available.` });
}

// ---------------------------------------------------------------------------------------
// GitRepository

/** The Git reference to follow; also used by ImageUpdateAutomation `git.checkout.ref`. */
export const GitRepositoryRefSchema = Type.Object(
  {
    branch: Type.Optional(
      Type.String({ description: 'Branch to follow; master when no other field of the reference is set.' }),
    ),
    commit: Type.Optional(
      Type.String({
        description:
          'Commit SHA to check out; wins over every other field. Together with branch, only that branch is fetched and must contain the commit.',
      }),
    ),
    name: Type.Optional(
      Type.String({
        description:
          'Full Git reference to check out, e.g. refs/heads/main, refs/tags/v1.0.0 or refs/pull/7/head; wins over branch, tag and semver.',
      }),
    ),
    semver: Type.Optional(
      Type.String({ description: 'Semantic version range; the highest matching tag is checked out. Wins over tag.' }),
    ),
    tag: Type.Optional(Type.String({ description: 'Tag to check out; wins over branch.' })),
  },
  { description: 'The Git reference to check out and watch for changes.' },
);
export type GitRepositoryRef = Static<typeof GitRepositoryRefSchema>;

export const GitRepositoryIncludeSchema = Type.Object(
  {
    fromPath: Type.Optional(
      Type.String({ description: 'Directory of the included artifact to copy; its root when empty.' }),
    ),
    repository: Type.Object(LocalObjectReferenceSchema.properties, {
      description: 'The GitRepository, in the same namespace, whose artifact is included.',
    }),
    toPath: Type.Optional(
      Type.String({ description: 'Directory to copy the contents to; the name of the included GitRepository when empty.' }),
    ),
  },
  { description: 'Another GitRepository whose artifact contents are copied into this artifact.' },
);
export type GitRepositoryInclude = Static<typeof GitRepositoryIncludeSchema>;

export const GitRepositoryVerificationSchema = Type.Object(
  {
    mode: Type.Optional(
      stringEnum(['head', 'HEAD', 'Tag', 'TagAndHEAD'], {
        default: 'HEAD',
        description:
          'What to verify: the commit HEAD points to (HEAD, or head for compatibility), the annotated tag (Tag), or both (TagAndHEAD).',
      }),
    ),
    secretRef: secretRef(
      'Secret with the trusted public keys: PGP keys under keys ending in .asc, SSH keys under keys ending in .sshpub.',
    ),
  },
  { description: 'Verify the signature of the checked-out commit or tag before producing an artifact.' },
);

export const GitRepositorySpecSchema = Type.Object(
  {
    ignore: Type.Optional(
      Type.String({
        description:
          'Patterns, in .gitignore syntax, of files to leave out of the artifact. Replaces the built-in default exclusions when set.',
      }),
    ),
    include: Type.Optional(
      Type.Array(GitRepositoryIncludeSchema, {
        description: 'Other GitRepositories whose artifacts are copied into the artifact of this one.',
      }),
    ),
    interval: intervalField('GitRepository'),
    provider: Type.Optional(
      stringEnum(['generic', 'aws', 'azure', 'github'], {
        description:
          'How to authenticate: generic (secretRef credentials, the default), or the workload identity of aws, azure, or a GitHub App (github).',
      }),
    ),
    proxySecretRef: Type.Optional(
      secretRef('Secret with the proxy to use for Git traffic (keys address, username, password).'),
    ),
    recurseSubmodules: Type.Optional(
      Type.Boolean({ description: 'Also clone every submodule, with its default settings.' }),
    ),
    ref: Type.Optional(GitRepositoryRefSchema),
    secretRef: Type.Optional(
      secretRef(
        'Secret with the credentials: username and password, or bearerToken, for HTTPS; identity and known_hosts for SSH; optionally ca.crt, tls.crt and tls.key for TLS.',
      ),
    ),
    serviceAccountName: Type.Optional(
      Type.String({
        description: 'Service account whose workload identity is used; only for the aws and azure providers.',
      }),
    ),
    sparseCheckout: Type.Optional(
      Type.Array(Type.String(), {
        description: 'Directories to check out; when set, only they end up in the artifact.',
      }),
    ),
    suspend: Type.Optional(suspendField('GitRepository')),
    timeout: Type.Optional(
      shortDuration('Time limit for each Git operation, such as a clone.', { default: '60s' }),
    ),
    url: Type.String({
      pattern: '^(http|https|ssh)://.*$',
      description: 'Address of the Git repository, over HTTP(S) or SSH (ssh://user@host/path).',
    }),
    verify: Type.Optional(GitRepositoryVerificationSchema),
  },
  { description: 'What to fetch from Git and how often.' },
);
export type GitRepositorySpec = Static<typeof GitRepositorySpecSchema>;

export const GitRepositoryStatusSchema = reconciledStatus('GitRepository', 'What the controller last observed and produced.', {
  artifact: Type.Optional(
    Type.Object(ArtifactSchema.properties, { description: 'The artifact of the last successful reconciliation.' }),
  ),
  includedArtifacts: Type.Optional(
    Type.Array(ArtifactSchema, { description: 'The artifacts of the included GitRepositories, in spec order.' }),
  ),
  observedIgnore: Type.Optional(Type.String({ description: 'The ignore patterns the current artifact was built with.' })),
  observedInclude: Type.Optional(
    Type.Array(GitRepositoryIncludeSchema, { description: 'The includes the current artifact was built with.' }),
  ),
  observedRecurseSubmodules: Type.Optional(
    Type.Boolean({ description: 'The recurseSubmodules setting the current artifact was built with.' }),
  ),
  observedSparseCheckout: Type.Optional(
    Type.Array(Type.String(), { description: 'The sparse checkout directories the current artifact was built with.' }),
  ),
  sourceVerificationMode: Type.Optional(
    Type.String({ description: 'The verification mode of the last signature check.' }),
  ),
});
export type GitRepositoryStatus = Static<typeof GitRepositoryStatusSchema>;

export const GitRepositorySchema = objectSchema(
  'GitRepository',
  'A Git repository that is fetched periodically and published as an artifact.',
  GitRepositorySpecSchema,
  GitRepositoryStatusSchema,
);
export type GitRepository = Static<typeof GitRepositorySchema>;

export const gitRepositoryApi = defineKind({
  group: sourceGroup,
  version: sourceVersion,
  kind: 'GitRepository',
  plural: 'gitrepositories',
  shortNames: ['gitrepo'],
  categories: sourceCategories,
  schema: GitRepositorySchema,
  printerColumns: [{ name: 'URL', type: 'string', jsonPath: '.spec.url' }, ageColumn, readyColumn, statusColumn],
  // v1beta1/v1beta2 only add gitImplementation and accessFrom, both without effect since
  // Flux v2.0: accepted and dropped.
  olderVersions: olderVersionsRemoving(
    [
      { parent: 'spec', name: 'gitImplementation', schema: ignoredField(stringEnum(['go-git', 'libgit2'])) },
      { parent: 'spec', name: 'accessFrom', schema: ignoredField(AccessFromSchema) },
    ],
    'v1beta1',
    'v1beta2',
  ),
});

// ---------------------------------------------------------------------------------------
// OCIRepository

export const OCILayerSelectorSchema = Type.Object(
  {
    mediaType: Type.Optional(
      Type.String({ description: 'Media type of the layer to use; the first layer when empty.' }),
    ),
    operation: Type.Optional(
      stringEnum(['extract', 'copy'], {
        description:
          'extract (the default) unpacks the layer as a tarball; copy stores the layer unchanged, e.g. a packaged Helm chart.',
      }),
    ),
  },
  { description: 'Which layer of the OCI artifact to use and what to do with it.' },
);
export type OCILayerSelector = Static<typeof OCILayerSelectorSchema>;

export const OCIRepositoryRefSchema = Type.Object(
  {
    digest: Type.Optional(Type.String({ description: 'Image digest to pull (sha256:…); wins over every other field.' })),
    semver: Type.Optional(
      Type.String({ description: 'Semantic version range; the highest matching tag is pulled. Wins over tag.' }),
    ),
    semverFilter: Type.Optional(
      Type.String({ description: 'Regular expression the tags must match before the semver range is applied.' }),
    ),
    tag: Type.Optional(Type.String({ description: 'Tag to pull; latest when nothing is set.' })),
  },
  { description: 'Which version of the artifact to pull.' },
);
export type OCIRepositoryRef = Static<typeof OCIRepositoryRefSchema>;

const matchOIDCIdentity = Type.Optional(
  Type.Array(OidcIdentityMatchSchema, {
    description: 'For keyless cosign signatures: identities the signer must match, any of them.',
  }),
);

export const OCIRepositoryVerificationSchema = Type.Object(
  {
    matchOIDCIdentity,
    ...signatureVerificationProperties(),
    trustedRootSecretRef: Type.Optional(
      secretRef('Secret with a Sigstore trusted root, for a private Sigstore deployment.'),
    ),
  },
  { description: 'Verify the signature of the artifact before using it.' },
);

export const OCIRepositorySpecSchema = Type.Object(
  {
    certSecretRef: registryFields.certSecretRef,
    ignore: Type.Optional(
      Type.String({
        description: 'Patterns, in .gitignore syntax, of files to leave out of the artifact; replaces the default exclusions.',
      }),
    ),
    insecure: registryFields.insecure,
    interval: intervalField('OCIRepository'),
    layerSelector: Type.Optional(OCILayerSelectorSchema),
    provider: registryFields.provider,
    proxySecretRef: registryFields.proxySecretRef,
    ref: Type.Optional(OCIRepositoryRefSchema),
    secretRef: registryFields.secretRef,
    serviceAccountName: Type.Optional(
      Type.String({ description: 'Service account whose image pull secrets are used to log in to the registry.' }),
    ),
    suspend: Type.Optional(suspendField('OCIRepository')),
    timeout: Type.Optional(shortDuration('Time limit for registry operations.', { default: '60s' })),
    url: Type.String({
      pattern: '^oci://.*$',
      description: 'The OCI repository, as oci://<registry>/<path>, without tag or digest.',
    }),
    verify: Type.Optional(OCIRepositoryVerificationSchema),
  },
  { description: 'What to pull from an OCI registry and how often.' },
);
export type OCIRepositorySpec = Static<typeof OCIRepositorySpecSchema>;

export const OCIRepositoryStatusSchema = reconciledStatus('OCIRepository', 'What the controller last observed and produced.', {
  artifact: Type.Optional(
    Type.Object(ArtifactSchema.properties, { description: 'The artifact of the last successful reconciliation.' }),
  ),
  observedIgnore: Type.Optional(Type.String({ description: 'The ignore patterns the current artifact was built with.' })),
  observedLayerSelector: Type.Optional(
    Type.Object(OCILayerSelectorSchema.properties, {
      description: 'The layer selector the current artifact was built with.',
    }),
  ),
  url: Type.Optional(Type.String({ description: 'Address of the latest artifact (kept for older clients).' })),
});
export type OCIRepositoryStatus = Static<typeof OCIRepositoryStatusSchema>;

export const OCIRepositorySchema = objectSchema(
  'OCIRepository',
  'An artifact in an OCI registry that is pulled periodically and published as an artifact.',
  OCIRepositorySpecSchema,
  OCIRepositoryStatusSchema,
);
export type OCIRepository = Static<typeof OCIRepositorySchema>;

export const ociRepositoryApi = defineKind({
  group: sourceGroup,
  version: sourceVersion,
  kind: 'OCIRepository',
  plural: 'ocirepositories',
  shortNames: ['ocirepo'],
  categories: sourceCategories,
  schema: OCIRepositorySchema,
  printerColumns: [{ name: 'URL', type: 'string', jsonPath: '.spec.url' }, readyColumn, statusColumn, ageColumn],
  // v1beta2 has exactly the fields of v1.
  olderVersions: plainOlderVersions('v1beta2'),
});

// ---------------------------------------------------------------------------------------
// HelmRepository

export const HelmRepositorySpecSchema = Type.Object(
  {
    accessFrom: Type.Optional(AccessFromSchema),
    certSecretRef: Type.Optional(
      secretRef('Secret with TLS material: ca.crt, and tls.crt with tls.key for client authentication. Wins over TLS keys in secretRef.'),
    ),
    insecure: Type.Optional(Type.Boolean({ description: 'Talk plain HTTP to an OCI registry (type oci only).' })),
    interval: Type.Optional(
      duration('How often the index is downloaded; one minute when empty. Not used for type oci.'),
    ),
    passCredentials: Type.Optional(
      Type.Boolean({
        description: 'Also send the credentials to chart downloads from a host other than the repository host.',
      }),
    ),
    provider: Type.Optional(
      stringEnum(['generic', 'aws', 'azure', 'gcp'], {
        default: 'generic',
        description: 'For type oci: cloud whose workload identity logs in to the registry; generic uses secretRef.',
      }),
    ),
    secretRef: Type.Optional(
      secretRef('Secret with username and password for basic authentication (or a dockerconfigjson for type oci).'),
    ),
    suspend: Type.Optional(suspendField('HelmRepository')),
    timeout: Type.Optional(shortDuration('Time limit for downloading the index; 60s when empty.')),
    type: Type.Optional(
      stringEnum(['default', 'oci'], {
        description:
          'default for an HTTP repository with an index.yaml; oci for charts in an OCI registry (then no artifact is produced).',
      }),
    ),
    url: Type.String({
      pattern: '^(http|https|oci)://.*$',
      description: 'Address of the chart repository: the directory holding index.yaml, or oci://<registry>/<path>.',
    }),
  },
  { description: 'The Helm chart repository to index and how often.' },
);
export type HelmRepositorySpec = Static<typeof HelmRepositorySpecSchema>;

export const HelmRepositoryStatusSchema = reconciledStatus('HelmRepository', 'What the controller last observed and produced.', {
  artifact: Type.Optional(
    Type.Object(ArtifactSchema.properties, { description: 'The index of the last successful reconciliation.' }),
  ),
  url: Type.Optional(Type.String({ description: 'Address of the stored index.yaml.' })),
});
export type HelmRepositoryStatus = Static<typeof HelmRepositoryStatusSchema>;

export const HelmRepositorySchema = objectSchema(
  'HelmRepository',
  'A Helm chart repository whose index is downloaded periodically.',
  HelmRepositorySpecSchema,
  HelmRepositoryStatusSchema,
);
export type HelmRepository = Static<typeof HelmRepositorySchema>;

export const helmRepositoryApi = defineKind({
  group: sourceGroup,
  version: sourceVersion,
  kind: 'HelmRepository',
  plural: 'helmrepositories',
  shortNames: ['helmrepo'],
  categories: sourceCategories,
  schema: HelmRepositorySchema,
  printerColumns: [{ name: 'URL', type: 'string', jsonPath: '.spec.url' }, ageColumn, readyColumn, statusColumn],
  // v1beta1/v1beta2 carry the same fields as v1.
  olderVersions: plainOlderVersions('v1beta1', 'v1beta2'),
});

// ---------------------------------------------------------------------------------------
// HelmChart

export const HelmChartSourceReferenceSchema = Type.Object(
  {
    apiVersion: Type.Optional(Type.String({ description: 'API version of the source.' })),
    kind: stringEnum(['HelmRepository', 'GitRepository', 'Bucket'], { description: 'Kind of the source.' }),
    name: Type.String({ description: 'Name of the source, in the namespace of the HelmChart.' }),
  },
  { description: 'The source the chart comes from.' },
);

export const HelmChartVerificationSchema = Type.Object(
  {
    matchOIDCIdentity,
    ...signatureVerificationProperties(),
  },
  { description: 'Verify the signature of a chart pulled from an OCI HelmRepository.' },
);

export const HelmChartSpecSchema = Type.Object(
  {
    chart: Type.String({
      description: 'Chart name in a HelmRepository, or path of the chart directory in a GitRepository or Bucket.',
    }),
    ignoreMissingValuesFiles: Type.Optional(
      Type.Boolean({ description: 'Skip values files that do not exist instead of failing.' }),
    ),
    interval: intervalField('HelmChart'),
    reconcileStrategy: Type.Optional(
      stringEnum(['ChartVersion', 'Revision'], {
        default: 'ChartVersion',
        description:
          'When to build a new artifact: when the chart version changes (ChartVersion), or on every new revision of a Git or Bucket source (Revision).',
      }),
    ),
    sourceRef: HelmChartSourceReferenceSchema,
    suspend: Type.Optional(suspendField('HelmChart')),
    valuesFiles: Type.Optional(
      Type.Array(Type.String(), {
        description:
          'Values files inside the chart source, merged in order; the result becomes the values.yaml of the packaged chart.',
      }),
    ),
    verify: Type.Optional(HelmChartVerificationSchema),
    version: Type.Optional(
      Type.String({
        default: '*',
        description: 'Semantic version range of the chart, for HelmRepository sources; ignored for Git and Bucket.',
      }),
    ),
  },
  { description: 'Which chart to package and from where.' },
);
export type HelmChartSpec = Static<typeof HelmChartSpecSchema>;

export const HelmChartStatusSchema = reconciledStatus('HelmChart', 'What the controller last observed and produced.', {
  artifact: Type.Optional(
    Type.Object(ArtifactSchema.properties, { description: 'The packaged chart of the last successful reconciliation.' }),
  ),
  observedChartName: Type.Optional(Type.String({ description: 'Name of the chart in the last artifact.' })),
  observedSourceArtifactRevision: Type.Optional(
    Type.String({ description: 'Revision of the source artifact the chart was last built from.' }),
  ),
  observedValuesFiles: Type.Optional(
    Type.Array(Type.String(), { description: 'The values files the last artifact was built with.' }),
  ),
  url: Type.Optional(Type.String({ description: 'Address of the latest packaged chart.' })),
});
export type HelmChartStatus = Static<typeof HelmChartStatusSchema>;

export const HelmChartSchema = objectSchema(
  'HelmChart',
  'A Helm chart taken from a source and packaged as an artifact.',
  HelmChartSpecSchema,
  HelmChartStatusSchema,
);
export type HelmChart = Static<typeof HelmChartSchema>;

export const helmChartApi = defineKind({
  group: sourceGroup,
  version: sourceVersion,
  kind: 'HelmChart',
  plural: 'helmcharts',
  shortNames: ['hc'],
  categories: sourceCategories,
  schema: HelmChartSchema,
  printerColumns: [
    { name: 'Chart', type: 'string', jsonPath: '.spec.chart' },
    { name: 'Version', type: 'string', jsonPath: '.spec.version' },
    { name: 'Source Kind', type: 'string', jsonPath: '.spec.sourceRef.kind' },
    { name: 'Source Name', type: 'string', jsonPath: '.spec.sourceRef.name' },
    ageColumn,
    readyColumn,
    statusColumn,
  ],
  // v1beta1/v1beta2 also had accessFrom (no effect: accepted and dropped) and valuesFile
  // (still merged before valuesFiles: rejected rather than silently dropped).
  olderVersions: olderVersionsRemoving(
    [
      { parent: 'spec', name: 'accessFrom', schema: ignoredField(AccessFromSchema) },
      { parent: 'spec', name: 'valuesFile', schema: removedStringField('spec.valuesFiles') },
    ],
    'v1beta1',
    'v1beta2',
  ),
});
