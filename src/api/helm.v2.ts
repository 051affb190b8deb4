/**
 * helm.toolkit.fluxcd.io/v2: HelmRelease, which installs and upgrades a Helm chart and
 * keeps the release in the declared state.
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
  ResourceInventorySchema,
  duration,
  freeFormObject,
  healthCheckExprs,
  int64,
  reconciledStatus,
  signatureVerificationProperties,
  stringEnum,
  stringMap,
  timestamp,
} from './common.ts';
import {
  ageColumn,
  defineKind,
  objectSchema,
  olderVersionsRemoving,
  readyColumn,
  removedListField,
  removedStringField,
  statusColumn,
} from './kind.ts';
import { HelmChartSpecSchema } from './source.v1.ts';

export const helmGroup = 'helm.toolkit.fluxcd.io';
export const helmVersion = 'v2';
export const helmApiVersion = `${helmGroup}/${helmVersion}`;

function namespaceName(description: string) {
  return Type.String({ minLength: 1, maxLength: 63, description });
}

function objectName(description: string) {
  return Type.String({ minLength: 1, maxLength: 253, description });
}

// ---------------------------------------------------------------------------------------
// Chart

export const HelmChartTemplateSpecSchema = Type.Object(
  {
    chart: Type.String({
      minLength: 1,
      maxLength: 2048,
      description: 'Chart name in a HelmRepository, or path of the chart directory in a GitRepository or Bucket.',
    }),
    ignoreMissingValuesFiles: HelmChartSpecSchema.properties.ignoreMissingValuesFiles,
    interval: Type.Optional(
      duration('How often the HelmChart checks the source for a new chart; the interval of the HelmRelease when empty.'),
    ),
    reconcileStrategy: Type.Optional(
      stringEnum(['ChartVersion', 'Revision'], {
        default: 'ChartVersion',
        description:
          'When to build a new chart: when the chart version changes (ChartVersion), or on every new revision of a Git or Bucket source (Revision).',
      }),
    ),
    sourceRef: Type.Object(
      {
        apiVersion: Type.Optional(Type.String({ description: 'API version of the source.' })),
        kind: stringEnum(['HelmRepository', 'GitRepository', 'Bucket'], { description: 'Kind of the source.' }),
        name: objectName('Name of the source.'),
        namespace: Type.Optional(
          namespaceName('Namespace of the source; the namespace of the HelmRelease when empty.'),
        ),
      },
      { description: 'The source the chart comes from.' },
    ),
    valuesFiles: Type.Optional(
      Type.Array(Type.String(), {
        description: 'Values files inside the chart source, merged in order, replacing the chart values.yaml.',
      }),
    ),
    verify: Type.Optional(
      Type.Object(signatureVerificationProperties(), {
        description: 'Verify the signature of a chart pulled from an OCI HelmRepository.',
      }),
    ),
    version: HelmChartSpecSchema.properties.version,
  },
  { description: 'The spec of the HelmChart the controller creates for this release.' },
);
export type HelmChartTemplateSpec = Static<typeof HelmChartTemplateSpecSchema>;

export const HelmChartTemplateSchema = Type.Object(
  {
    metadata: Type.Optional(
      Type.Object(
        {
          annotations: Type.Optional(stringMap('Annotations of the generated HelmChart.')),
          labels: Type.Optional(stringMap('Labels of the generated HelmChart.')),
        },
        { description: 'Labels and annotations of the generated HelmChart.' },
      ),
    ),
    spec: HelmChartTemplateSpecSchema,
  },
  {
    description:
      'Template of a HelmChart the controller creates in the namespace of the source. Exactly one of chart and chartRef must be set.',
  },
);
export type HelmChartTemplate = Static<typeof HelmChartTemplateSchema>;

export const CrossNamespaceSourceReferenceSchema = Type.Object(
  {
    apiVersion: Type.Optional(Type.String({ description: 'API version of the object.' })),
    kind: stringEnum(['OCIRepository', 'HelmChart', 'ExternalArtifact'], { description: 'Kind of the object.' }),
    name: objectName('Name of the object.'),
    namespace: Type.Optional(namespaceName('Namespace of the object; the namespace of the HelmRelease when empty.')),
  },
  {
    description:
      'An existing source whose artifact is the chart. Exactly one of chart and chartRef must be set.',
  },
);
export type CrossNamespaceSourceReference = Static<typeof CrossNamespaceSourceReferenceSchema>;

// ---------------------------------------------------------------------------------------
// Actions

const crdsPolicy = (defaultValue: string) =>
  stringEnum(['Skip', 'Create', 'CreateReplace'], {
    description: `What to do with the CRDs in the chart crds/ directory: Skip, Create new ones only, or CreateReplace (create and update). ${defaultValue} when empty.`,
  });

const timeoutField = (action: string) =>
  duration(`Time limit for the Helm ${action}, including waiting; spec.timeout when empty.`);

const disableHooksField = (action: string) =>
  Type.Boolean({ description: `Do not run the chart hooks during ${action}.` });

const disableWaitForJobsField = () => Type.Boolean({ description: 'Do not wait for Jobs to complete.' });

const forceField = () =>
  Type.Boolean({ description: 'Replace objects that cannot be updated in place (delete and recreate).' });

/** The switches install and upgrade share; `done` is the action as a participle ("installed"). */
const installOrUpgradeSwitches = (action: string, done: string) => ({
  disableHooks: Type.Optional(disableHooksField(action)),
  disableOpenAPIValidation: Type.Optional(
    Type.Boolean({ description: 'Do not validate the rendered manifests against the cluster OpenAPI schema.' }),
  ),
  disableSchemaValidation: Type.Optional(
    Type.Boolean({ description: 'Do not validate the values against the chart values.schema.json.' }),
  ),
  disableTakeOwnership: Type.Optional(
    Type.Boolean({ description: 'Fail instead of adopting existing objects not owned by a Helm release.' }),
  ),
  disableWait: Type.Optional(Type.Boolean({ description: `Do not wait for the ${done} objects to become ready.` })),
  disableWaitForJobs: Type.Optional(disableWaitForJobsField()),
});

/** The remediation settings install and upgrade share. */
const remediationRetries = (action: string) => ({
  ignoreTestFailures: Type.Optional(
    Type.Boolean({ description: 'Do not remediate a failed Helm test; spec.test.ignoreFailures when empty.' }),
  ),
  remediateLastFailure: Type.Optional(
    Type.Boolean({ description: 'Also remediate the last failure once the retries are used up.' }),
  ),
  retries: Type.Optional(
    Type.Integer({ description: `How many times to retry a failed ${action}; a negative number retries forever.` }),
  ),
});

export const StrategySchema = Type.Object(
  {
    name: stringEnum(['RemediateOnFailure', 'RetryOnFailure'], {
      description: 'RemediateOnFailure follows the remediation settings; RetryOnFailure retries the action every retryInterval.',
    }),
    retryInterval: Type.Optional(
      duration('With RetryOnFailure: how long to wait before trying again; five minutes when empty.'),
    ),
  },
  { description: 'What to do when the action fails.' },
);

export const InstallSchema = Type.Object(
  {
    crds: Type.Optional(crdsPolicy('Create')),
    createNamespace: Type.Optional(Type.Boolean({ description: 'Create the target namespace if it is missing.' })),
    ...installOrUpgradeSwitches('install', 'installed'),
    remediation: Type.Optional(Type.Object(remediationRetries('install'), { description: 'How to handle a failed install.' })),
    replace: Type.Optional(
      Type.Boolean({ description: 'Reuse the name of a release that was deleted but kept in the history.' }),
    ),
    serverSideApply: Type.Optional(
      Type.Boolean({ description: 'Apply the manifests with server-side apply.' }),
    ),
    skipCRDs: Type.Optional(Type.Boolean({ description: 'Deprecated; use crds: Skip.' })),
    strategy: Type.Optional(StrategySchema),
    timeout: Type.Optional(timeoutField('install')),
  },
  { description: 'How to install the release.' },
);
export type Install = Static<typeof InstallSchema>;

const serverSideApplyMode = (action: string) =>
  stringEnum(['enabled', 'disabled', 'auto'], {
    description: `Whether the ${action} uses server-side apply; auto follows how the release was installed.`,
  });

export const UpgradeSchema = Type.Object(
  {
    chartNameChangeStrategy: Type.Optional(
      stringEnum(['InPlaceUpdate', 'Reinstall'], {
        description: 'When the chart name changes: uninstall and install again (Reinstall, the default) or upgrade in place.',
      }),
    ),
    cleanupOnFail: Type.Optional(
      Type.Boolean({ description: 'Delete objects created by a failed upgrade.' }),
    ),
    crds: Type.Optional(crdsPolicy('Skip')),
    ...installOrUpgradeSwitches('upgrade', 'upgraded'),
    force: Type.Optional(forceField()),
    preserveValues: Type.Optional(
      Type.Boolean({ description: 'Start from the values of the previous release instead of the chart defaults.' }),
    ),
    remediation: Type.Optional(
      Type.Object(
        {
          ...remediationRetries('upgrade'),
          strategy: Type.Optional(
            stringEnum(['rollback', 'uninstall'], {
              description: 'How to remediate a failed upgrade: roll back (the default) or uninstall.',
            }),
          ),
        },
        { description: 'How to handle a failed upgrade.' },
      ),
    ),
    serverSideApply: Type.Optional(serverSideApplyMode('upgrade')),
    strategy: Type.Optional(StrategySchema),
    timeout: Type.Optional(timeoutField('upgrade')),
  },
  { description: 'How to upgrade the release.' },
);
export type Upgrade = Static<typeof UpgradeSchema>;

export const TestSchema = Type.Object(
  {
    enable: Type.Optional(Type.Boolean({ description: 'Run the chart tests after every install and upgrade.' })),
    filters: Type.Optional(
      Type.Array(
        Type.Object({
          exclude: Type.Optional(Type.Boolean({ description: 'Skip this test instead of running only it.' })),
          name: objectName('Name of the test hook.'),
        }),
        { description: 'Which tests to run or skip.' },
      ),
    ),
    ignoreFailures: Type.Optional(
      Type.Boolean({ description: 'Report failed tests without failing the release.' }),
    ),
    timeout: Type.Optional(duration('Time limit for each test; spec.timeout when empty.')),
  },
  { description: 'Helm tests.' },
);
export type Test = Static<typeof TestSchema>;

export const RollbackSchema = Type.Object(
  {
    cleanupOnFail: Type.Optional(Type.Boolean({ description: 'Delete objects created by a failed rollback.' })),
    disableHooks: Type.Optional(disableHooksField('rollback')),
    disableWait: Type.Optional(Type.Boolean({ description: 'Do not wait for the objects to become ready.' })),
    disableWaitForJobs: Type.Optional(disableWaitForJobsField()),
    force: Type.Optional(forceField()),
    recreate: Type.Optional(Type.Boolean({ description: 'Has no effect; kept for compatibility.' })),
    serverSideApply: Type.Optional(serverSideApplyMode('rollback')),
    timeout: Type.Optional(timeoutField('rollback')),
  },
  { description: 'How to roll back, when an upgrade is remediated by rolling back.' },
);
export type Rollback = Static<typeof RollbackSchema>;

export const UninstallSchema = Type.Object(
  {
    deletionPropagation: Type.Optional(
      stringEnum(['background', 'foreground', 'orphan'], {
        default: 'background',
        description: 'How dependents of the deleted objects are deleted.',
      }),
    ),
    disableHooks: Type.Optional(disableHooksField('uninstall')),
    disableWait: Type.Optional(Type.Boolean({ description: 'Do not wait for the objects to be deleted.' })),
    keepHistory: Type.Optional(Type.Boolean({ description: 'Keep the release history after uninstalling.' })),
    timeout: Type.Optional(timeoutField('uninstall')),
  },
  { description: 'How to uninstall, when the release is deleted or remediated by uninstalling.' },
);
export type Uninstall = Static<typeof UninstallSchema>;

export const ValuesReferenceSchema = Type.Object({
  kind: stringEnum(['Secret', 'ConfigMap'], { description: 'Kind of the object holding the values.' }),
  literal: Type.Optional(
    Type.Boolean({ description: 'Use the value as a literal string at targetPath instead of parsing it as YAML.' }),
  ),
  name: objectName('Name of the object, in the namespace of the HelmRelease.'),
  optional: Type.Optional(Type.Boolean({ description: 'Carry on when the object or key does not exist.' })),
  targetPath: Type.Optional(
    Type.String({
      maxLength: 250,
      pattern: String.raw`^([a-zA-Z0-9_\-.\\\/]|\[[0-9]{1,5}\])+$`,
      description: 'Dotted path (Helm --set syntax) where the value is placed; the whole document is merged when empty.',
    }),
  ),
  valuesKey: Type.Optional(
    Type.String({
      maxLength: 253,
      pattern: String.raw`^[\-._a-zA-Z0-9]+$`,
      description: 'Key in the object holding the values; values.yaml when empty.',
    }),
  ),
});
export type ValuesReference = Static<typeof ValuesReferenceSchema>;

export const PostRendererSchema = Type.Object({
  kustomize: Type.Optional(
    Type.Object(
      {
        images: Type.Optional(
          Type.Array(KustomizeImageSchema, { description: 'Image name, tag and digest overrides.' }),
        ),
        patches: Type.Optional(
          Type.Array(KustomizePatchSchema, { description: 'Strategic merge or JSON 6902 patches.' }),
        ),
      },
      { description: 'kustomize changes applied to the rendered manifests.' },
    ),
  ),
});
export type PostRenderer = Static<typeof PostRendererSchema>;

export const HelmReleaseSpecSchema = Type.Object(
  {
    chart: Type.Optional(HelmChartTemplateSchema),
    chartRef: Type.Optional(CrossNamespaceSourceReferenceSchema),
    commonMetadata: Type.Optional(CommonMetadataSchema),
    dependsOn: Type.Optional(
      Type.Array(DependencyReferenceSchema, {
        description: 'HelmReleases that must be ready before this one is installed or upgraded.',
      }),
    ),
    driftDetection: Type.Optional(
      Type.Object(
        {
          ignore: Type.Optional(
            Type.Array(IgnoreRuleSchema, { description: 'Fields excluded from drift detection and correction.' }),
          ),
          mode: Type.Optional(
            stringEnum(['enabled', 'warn', 'disabled'], {
              description: 'enabled corrects drift, warn only reports it, disabled (the default) does not look.',
            }),
          ),
        },
        { description: 'Compare the cluster with the release manifest and correct differences.' },
      ),
    ),
    healthCheckExprs: Type.Optional(healthCheckExprs()),
    install: Type.Optional(InstallSchema),
    interval: duration('How often the release is checked against its declared state. A little jitter is added.'),
    kubeConfig: Type.Optional(KubeConfigReferenceSchema),
    maxHistory: Type.Optional(
      Type.Integer({ description: 'How many release revisions Helm keeps; five when empty, zero for no limit.' }),
    ),
    persistentClient: Type.Optional(
      Type.Boolean({ description: 'Reuse one Kubernetes client for all Helm actions of a reconciliation; true when empty.' }),
    ),
    postRenderStrategy: Type.Optional(
      stringEnum(['nohooks', 'combined', 'separate'], {
        description: 'How post-renderers see hooks: not at all, together with the manifests (the default), or separately.',
      }),
    ),
    postRenderers: Type.Optional(
      Type.Array(PostRendererSchema, { description: 'Changes applied, in order, to the rendered manifests.' }),
    ),
    releaseName: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 53,
        description: 'Name of the Helm release; [<targetNamespace>-]<name> when empty.',
      }),
    ),
    rollback: Type.Optional(RollbackSchema),
    serviceAccountName: Type.Optional(
      objectName('Service account, in the namespace of the HelmRelease, to run the Helm actions as.'),
    ),
    storageNamespace: Type.Optional(
      namespaceName('Namespace where Helm stores the release; the namespace of the HelmRelease when empty.'),
    ),
    suspend: Type.Optional(
      Type.Boolean({ description: 'Stops reconciling while true; the release is left as it is.' }),
    ),
    targetNamespace: Type.Optional(
      namespaceName('Namespace the chart is installed into; the namespace of the HelmRelease when empty.'),
    ),
    test: Type.Optional(TestSchema),
    timeout: Type.Optional(duration('Time limit for each Helm action; five minutes when empty.')),
    uninstall: Type.Optional(UninstallSchema),
    upgrade: Type.Optional(UpgradeSchema),
    values: Type.Optional(freeFormObject('Values for the chart, merged after valuesFrom.')),
    valuesFrom: Type.Optional(
      Type.Array(ValuesReferenceSchema, {
        description: 'ConfigMaps and Secrets with values, merged in order before the inline values.',
      }),
    ),
    waitStrategy: Type.Optional(
      Type.Object(
        {
          name: stringEnum(['poller', 'legacy'], {
            description: 'poller checks health with kstatus (the default); legacy uses the Helm 3 readiness rules.',
          }),
        },
        { description: 'How to wait for the release objects to become ready.' },
      ),
    ),
  },
  { description: 'Which chart to release and how. Exactly one of chart and chartRef must be set.' },
);
export type HelmReleaseSpec = Static<typeof HelmReleaseSpecSchema>;

export const HelmReleaseSnapshotSchema = Type.Object({
  action: Type.Optional(Type.String({ description: 'The Helm action that produced this revision.' })),
  apiVersion: Type.Optional(Type.String({ description: 'Version of this snapshot format.' })),
  appVersion: Type.Optional(Type.String({ description: 'App version of the chart.' })),
  chartName: Type.String({ description: 'Name of the chart.' }),
  chartVersion: Type.String({ description: 'Version of the chart.' }),
  configDigest: Type.String({ description: 'Checksum of the values of the release.' }),
  deleted: Type.Optional(timestamp('When the release was deleted.')),
  digest: Type.String({ description: 'Checksum of the release object.' }),
  firstDeployed: timestamp('When the release was first deployed.'),
  lastDeployed: timestamp('When this revision was deployed.'),
  name: Type.String({ description: 'Name of the release.' }),
  namespace: Type.String({ description: 'Namespace the release is installed into.' }),
  ociDigest: Type.Optional(Type.String({ description: 'Digest of the OCI artifact the chart came from.' })),
  status: Type.String({ description: 'Helm status of the revision, e.g. deployed, superseded, failed.' }),
  testHooks: Type.Optional(
    Type.Record(
      Type.String(),
      Type.Object({
        lastCompleted: Type.Optional(timestamp('When the test last finished.')),
        lastStarted: Type.Optional(timestamp('When the test last started.')),
        phase: Type.Optional(Type.String({ description: 'Result of the test.' })),
      }),
      { description: 'Test hooks of the revision, by name.' },
    ),
  ),
  version: Type.Integer({ description: 'Revision number of the release.' }),
});
export type HelmReleaseSnapshot = Static<typeof HelmReleaseSnapshotSchema>;

export const HelmReleaseStatusSchema = reconciledStatus('HelmRelease', 'What the controller last observed and released.', {
  failures: Type.Optional(int64('Failed reconciliations since the last success.')),
  helmChart: Type.Optional(
    Type.String({ description: 'The generated HelmChart, as <namespace>/<name>.' }),
  ),
  history: Type.Optional(
    Type.Array(HelmReleaseSnapshotSchema, {
      description: 'Release revisions, newest first, back to the last successful one.',
    }),
  ),
  installFailures: Type.Optional(int64('Failed installs since the last success.')),
  inventory: Type.Optional(ResourceInventorySchema),
  lastAttemptedConfigDigest: Type.Optional(
    Type.String({ description: 'Checksum of the values of the last attempt.' }),
  ),
  lastAttemptedGeneration: Type.Optional(int64('Generation of the HelmRelease at the last attempt.')),
  lastAttemptedReleaseAction: Type.Optional(
    stringEnum(['install', 'upgrade'], { description: 'The release action of the last attempt.' }),
  ),
  lastAttemptedReleaseActionDuration: Type.Optional(
    Type.String({ description: 'How long the release action of the last attempt took.' }),
  ),
  lastAttemptedRevision: Type.Optional(Type.String({ description: 'Chart version of the last attempt.' })),
  lastAttemptedRevisionDigest: Type.Optional(
    Type.String({ description: 'Digest of the chart artifact of the last attempt.' }),
  ),
  lastAttemptedValuesChecksum: Type.Optional(
    Type.String({ description: 'Deprecated checksum of the values; see lastAttemptedConfigDigest.' }),
  ),
  lastHandledForceAt: Type.Optional(
    Type.String({ description: 'The last reconcile.fluxcd.io/forceAt value that was handled.' }),
  ),
  lastHandledResetAt: Type.Optional(
    Type.String({ description: 'The last reconcile.fluxcd.io/resetAt value that was handled.' }),
  ),
  lastReleaseRevision: Type.Optional(
    Type.Integer({ description: 'Deprecated revision of the last successful release; see history.' }),
  ),
  observedCommonMetadataDigest: Type.Optional(
    Type.String({ description: 'Checksum of commonMetadata at the last release.' }),
  ),
  observedPostRenderersDigest: Type.Optional(
    Type.String({ description: 'Checksum of postRenderers at the last release.' }),
  ),
  storageNamespace: Type.Optional(namespaceName('Namespace where the release is stored.')),
  upgradeFailures: Type.Optional(int64('Failed upgrades since the last success.')),
});
export type HelmReleaseStatus = Static<typeof HelmReleaseStatusSchema>;

export const HelmReleaseSchema = objectSchema(
  'HelmRelease',
  'A Helm release kept in the declared state: installed, upgraded, tested and remediated.',
  HelmReleaseSpecSchema,
  HelmReleaseStatusSchema,
);
export type HelmRelease = Static<typeof HelmReleaseSchema>;

/**
 * v2beta1/v2beta2 differ from v2 by chart.spec.valuesFile and the kustomize post-renderer
 * patchesStrategicMerge/patchesJson6902. All three still did something, so they are
 * rejected instead of being pruned.
 */
const helmReleaseRemovedFields = [
  { parent: 'spec.chart.spec', name: 'valuesFile', schema: removedStringField('spec.chart.spec.valuesFiles') },
  {
    parent: 'spec.postRenderers[].kustomize',
    name: 'patchesStrategicMerge',
    schema: removedListField('spec.postRenderers[].kustomize.patches'),
  },
  {
    parent: 'spec.postRenderers[].kustomize',
    name: 'patchesJson6902',
    schema: removedListField('spec.postRenderers[].kustomize.patches'),
  },
];

export const helmReleaseApi = defineKind({
  group: helmGroup,
  version: helmVersion,
  kind: 'HelmRelease',
  plural: 'helmreleases',
  shortNames: ['hr'],
  categories: ['all', 'fluxcd', 'fluxcd-appliers'],
  schema: HelmReleaseSchema,
  printerColumns: [ageColumn, readyColumn, statusColumn],
  olderVersions: olderVersionsRemoving(helmReleaseRemovedFields, 'v2beta1', 'v2beta2'),
});
