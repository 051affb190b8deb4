/**
 * image.toolkit.fluxcd.io/v1: ImageRepository (scans a registry for tags), ImagePolicy
 * (picks the latest tag) and ImageUpdateAutomation (commits the picked tags to Git).
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import {
  AccessFromSchema,
  LabelSelectorSchema,
  duration,
  reconciledStatus,
  registryFields,
  secretRef,
  shortDuration,
  stringEnum,
  stringMap,
  timestamp,
} from './common.ts';
import { ageColumn, defineKind, objectSchema, plainOlderVersions, readyColumn, statusColumn } from './kind.ts';
import { GitRepositoryRefSchema } from './source.v1.ts';

export const imageGroup = 'image.toolkit.fluxcd.io';
export const imageVersion = 'v1';
export const imageApiVersion = `${imageGroup}/${imageVersion}`;
const imageCategories = ['all', 'fluxcd', 'fluxcd-images'] as const;

// ---------------------------------------------------------------------------------------
// ImageRepository

export const ImageRepositorySpecSchema = Type.Object(
  {
    accessFrom: Type.Optional(AccessFromSchema),
    certSecretRef: registryFields.certSecretRef,
    exclusionList: Type.Optional(
      Type.Array(Type.String(), {
        default: ['^.*\\.sig$'],
        maxItems: 25,
        description: 'Regular expressions; matching tags are left out of the scan result. Excludes cosign signature tags by default.',
      }),
    ),
    image: Type.String({ description: 'The image to scan, without tag, e.g. ghcr.io/org/app or alpine.' }),
    insecure: registryFields.insecure,
    interval: duration('How often the registry is scanned for tags. A little jitter is added.'),
    provider: registryFields.provider,
    proxySecretRef: registryFields.proxySecretRef,
    secretRef: registryFields.secretRef,
    serviceAccountName: Type.Optional(
      Type.String({
        maxLength: 253,
        description: 'Service account whose image pull secrets are used to log in to the registry.',
      }),
    ),
    suspend: Type.Optional(Type.Boolean({ description: 'Stops scanning while true.' })),
    timeout: Type.Optional(shortDuration('Time limit for a scan; the interval when empty.')),
  },
  { description: 'Which image to scan and how often.' },
);
export type ImageRepositorySpec = Static<typeof ImageRepositorySpecSchema>;

export const ScanResultSchema = Type.Object(
  {
    latestTags: Type.Optional(
      Type.Array(Type.String(), { description: 'A few of the most recent tags, sorted in descending order.' }),
    ),
    revision: Type.Optional(Type.String({ description: 'Checksum of the tag list; changes when the tags change.' })),
    scanTime: Type.Optional(timestamp('When the scan finished.')),
    tagCount: Type.Integer({ description: 'How many tags were found.' }),
  },
  { description: 'The outcome of the last successful scan.' },
);
export type ScanResult = Static<typeof ScanResultSchema>;

export const ImageRepositoryStatusSchema = reconciledStatus('ImageRepository', 'What the controller last observed.', {
  canonicalImageName: Type.Optional(
    Type.String({ description: 'The image name with registry and path filled in, e.g. docker.io/library/alpine.' }),
  ),
  lastScanResult: Type.Optional(ScanResultSchema),
  observedExclusionList: Type.Optional(
    Type.Array(Type.String(), { description: 'The exclusion list the last scan used.' }),
  ),
});
export type ImageRepositoryStatus = Static<typeof ImageRepositoryStatusSchema>;

export const ImageRepositorySchema = objectSchema(
  'ImageRepository',
  'A container image repository whose tags are scanned periodically.',
  ImageRepositorySpecSchema,
  ImageRepositoryStatusSchema,
);
export type ImageRepository = Static<typeof ImageRepositorySchema>;

export const imageRepositoryApi = defineKind({
  group: imageGroup,
  version: imageVersion,
  kind: 'ImageRepository',
  plural: 'imagerepositories',
  shortNames: ['imgrepo', 'imagerepo'],
  categories: imageCategories,
  schema: ImageRepositorySchema,
  printerColumns: [
    { name: 'Image', type: 'string', jsonPath: '.spec.image' },
    { name: 'Tags', type: 'string', jsonPath: '.status.lastScanResult.tagCount' },
    readyColumn,
    statusColumn,
    { name: 'Last scan', type: 'string', jsonPath: '.status.lastScanResult.scanTime', priority: 1 },
    ageColumn,
  ],
  // v1beta1/v1beta2 carry a subset of the v1 fields with the same meaning.
  olderVersions: plainOlderVersions('v1beta1', 'v1beta2'),
});

// ---------------------------------------------------------------------------------------
// ImagePolicy

const sortOrder = stringEnum(['asc', 'desc'], {
  default: 'asc',
  description: 'asc picks the last tag in ascending order, desc the first.',
});

export const ImagePolicyChoiceSchema = Type.Object(
  {
    alphabetical: Type.Optional(
      Type.Object({ order: Type.Optional(sortOrder) }, { description: 'Pick the tag that sorts last alphabetically.' }),
    ),
    numerical: Type.Optional(
      Type.Object(
        { order: Type.Optional(sortOrder) },
        { description: 'Pick the highest tag read as a number; every tag left after filtering must be a number.' },
      ),
    ),
    semver: Type.Optional(
      Type.Object(
        { range: Type.String({ description: 'Semantic version range the tag must satisfy, e.g. >=1.0.0 <2.0.0.' }) },
        { description: 'Pick the highest tag that is a semantic version within the range.' },
      ),
    ),
  },
  { description: 'How to choose the latest tag; set exactly one of the fields.' },
);
export type ImagePolicyChoice = Static<typeof ImagePolicyChoiceSchema>;

export const ImageRefSchema = Type.Object({
  digest: Type.Optional(Type.String({ description: 'Digest of the image, when known.' })),
  name: Type.String({ description: 'Image name without tag.' }),
  tag: Type.String({ description: 'The tag.' }),
});
export type ImageRef = Static<typeof ImageRefSchema>;

export const ImagePolicySpecSchema = Type.Object(
  {
    digestReflectionPolicy: Type.Optional(
      stringEnum(['Always', 'IfNotPresent', 'Never'], {
        default: 'Never',
        description:
          'Whether to look up the digest of the chosen tag: Never, IfNotPresent (once per tag) or Always (every interval, which then must be set).',
      }),
    ),
    filterTags: Type.Optional(
      Type.Object(
        {
          extract: Type.Optional(
            Type.String({
              description: 'Template over the pattern groups (e.g. $ts) giving the value the policy compares instead of the tag.',
            }),
          ),
          pattern: Type.Optional(Type.String({ description: 'Regular expression a tag must match to be considered.' })),
        },
        { description: 'Which tags to consider, and what part of them to compare.' },
      ),
    ),
    imageRepositoryRef: Type.Object(
      {
        name: Type.String({ description: 'Name of the ImageRepository.' }),
        namespace: Type.Optional(
          Type.String({ description: 'Namespace of the ImageRepository; the namespace of the policy when empty.' }),
        ),
      },
      { description: 'The ImageRepository whose tags the policy chooses from.' },
    ),
    interval: Type.Optional(
      duration('How often the digest is looked up again; only allowed, and then required, with digestReflectionPolicy Always.'),
    ),
    policy: ImagePolicyChoiceSchema,
    suspend: Type.Optional(Type.Boolean({ description: 'Stops choosing tags while true.' })),
  },
  { description: 'Which repository to choose from and how.' },
);
export type ImagePolicySpec = Static<typeof ImagePolicySpecSchema>;

export const ImagePolicyStatusSchema = reconciledStatus('ImagePolicy', 'What the controller last observed and chose.', {
  latestRef: Type.Optional(
    Type.Object(ImageRefSchema.properties, { description: 'The image and tag the policy chose.' }),
  ),
  observedPreviousRef: Type.Optional(
    Type.Object(ImageRefSchema.properties, { description: 'The image and tag chosen before the latest one.' }),
  ),
});
export type ImagePolicyStatus = Static<typeof ImagePolicyStatusSchema>;

export const ImagePolicySchema = objectSchema(
  'ImagePolicy',
  'A rule that picks the latest tag of an ImageRepository.',
  ImagePolicySpecSchema,
  ImagePolicyStatusSchema,
);
export type ImagePolicy = Static<typeof ImagePolicySchema>;

export const imagePolicyApi = defineKind({
  group: imageGroup,
  version: imageVersion,
  kind: 'ImagePolicy',
  plural: 'imagepolicies',
  shortNames: ['imgpol', 'imagepol'],
  categories: imageCategories,
  schema: ImagePolicySchema,
  printerColumns: [
    { name: 'Image', type: 'string', jsonPath: '.status.latestRef.name' },
    { name: 'Tag', type: 'string', jsonPath: '.status.latestRef.tag' },
    readyColumn,
    statusColumn,
    ageColumn,
  ],
  // The spec of v1beta1/v1beta2 is a subset of v1. Their status (latestImage) differs, but
  // status is written by the controller in the storage version only.
  olderVersions: plainOlderVersions('v1beta1', 'v1beta2'),
});

// ---------------------------------------------------------------------------------------
// ImageUpdateAutomation

export const CommitSpecSchema = Type.Object(
  {
    author: Type.Object(
      {
        email: Type.String({ description: 'Email of the commit author.' }),
        name: Type.Optional(Type.String({ description: 'Name of the commit author.' })),
      },
      { description: 'Author of the commits.' },
    ),
    messageTemplate: Type.Optional(
      Type.String({ description: 'Go template for the commit message; a fixed message when empty.' }),
    ),
    messageTemplateValues: Type.Optional(stringMap('Values available to the template as .Values.')),
    signingKey: Type.Optional(
      Type.Object(
        {
          secretRef: secretRef(
            'Secret with the signing key: git.asc (and passphrase) for gpg, identity (and password) for ssh.',
          ),
          type: Type.Optional(
            stringEnum(['gpg', 'ssh'], { description: 'Kind of signing key; gpg when empty.' }),
          ),
        },
        { description: 'Sign the commits with this key.' },
      ),
    ),
  },
  { description: 'How to write the commits.' },
);
export type CommitSpec = Static<typeof CommitSpecSchema>;

export const GitSpecSchema = Type.Object(
  {
    checkout: Type.Optional(
      Type.Object(
        { ref: GitRepositoryRefSchema },
        { description: 'What to check out; the reference of the GitRepository when empty.' },
      ),
    ),
    commit: CommitSpecSchema,
    push: Type.Optional(
      Type.Object(
        {
          branch: Type.Optional(
            Type.String({ description: 'Branch to push to, created from the checkout when missing; the checked-out branch when empty.' }),
          ),
          options: Type.Optional(stringMap('git push options, e.g. for merge requests on GitLab.')),
          refspec: Type.Optional(
            Type.String({ description: 'Refspec to push, e.g. refs/heads/main:refs/heads/auto; in addition to branch.' }),
          ),
        },
        { description: 'Where to push the commits.' },
      ),
    ),
  },
  { description: 'How to check out, commit and push.' },
);
export type GitSpec = Static<typeof GitSpecSchema>;

export const ImageUpdateAutomationSpecSchema = Type.Object(
  {
    git: Type.Optional(GitSpecSchema),
    interval: duration('How often the automation runs. A little jitter is added.'),
    policySelector: Type.Optional(
      Type.Object(LabelSelectorSchema.properties, {
        'x-kubernetes-map-type': 'atomic',
        description: 'The ImagePolicies whose tags are written; all in the namespace when empty.',
      }),
    ),
    sourceRef: Type.Object(
      {
        apiVersion: Type.Optional(Type.String({ description: 'API version of the source.' })),
        kind: stringEnum(['GitRepository'], { default: 'GitRepository', description: 'Kind of the source.' }),
        name: Type.String({ description: 'Name of the GitRepository.' }),
        namespace: Type.Optional(
          Type.String({ description: 'Namespace of the GitRepository; the namespace of the automation when empty.' }),
        ),
      },
      { description: 'The GitRepository to commit to; its URL and credentials are used.' },
    ),
    suspend: Type.Optional(Type.Boolean({ description: 'Stops the automation while true.' })),
    update: Type.Optional(
      Type.Object(
        {
          path: Type.Optional(
            Type.String({ description: 'Directory of the repository to update; the root when empty.' }),
          ),
          strategy: Type.Optional(
            stringEnum(['Setters'], {
              default: 'Setters',
              description: 'How files are updated; Setters rewrites fields marked with an $imagepolicy comment.',
            }),
          ),
        },
        { default: { strategy: 'Setters' }, description: 'What to update in the repository.' },
      ),
    ),
  },
  { description: 'Which repository to update, how, and how often.' },
);
export type ImageUpdateAutomationSpec = Static<typeof ImageUpdateAutomationSpecSchema>;

export const ImageUpdateAutomationStatusSchema = reconciledStatus('ImageUpdateAutomation', 'What the controller last observed and pushed.', {
  lastAutomationRunTime: Type.Optional(timestamp('When the automation last ran.')),
  lastPushCommit: Type.Optional(Type.String({ description: 'SHA of the last pushed commit.' })),
  lastPushTime: Type.Optional(timestamp('When a commit was last pushed.')),
  observedPolicies: Type.Optional(
    Type.Record(Type.String(), ImageRefSchema, {
      description: 'The image and tag of each selected ImagePolicy at the last run, by policy name.',
    }),
  ),
  observedSourceRevision: Type.Optional(
    Type.String({ description: 'The Git revision the last run started from.' }),
  ),
});
export type ImageUpdateAutomationStatus = Static<typeof ImageUpdateAutomationStatusSchema>;

export const ImageUpdateAutomationSchema = objectSchema(
  'ImageUpdateAutomation',
  'Writes the tags chosen by ImagePolicies into files of a Git repository and pushes the change.',
  ImageUpdateAutomationSpecSchema,
  ImageUpdateAutomationStatusSchema,
);
export type ImageUpdateAutomation = Static<typeof ImageUpdateAutomationSchema>;

export const imageUpdateAutomationApi = defineKind({
  group: imageGroup,
  version: imageVersion,
  kind: 'ImageUpdateAutomation',
  plural: 'imageupdateautomations',
  shortNames: ['iua', 'imgupd', 'imgauto'],
  categories: imageCategories,
  schema: ImageUpdateAutomationSchema,
  printerColumns: [
    readyColumn,
    statusColumn,
    { name: 'Last run', type: 'string', jsonPath: '.status.lastAutomationRunTime', priority: 1 },
    ageColumn,
  ],
  // v1beta1 lacks policySelector; otherwise v1beta1/v1beta2 match v1.
  olderVersions: plainOlderVersions('v1beta1', 'v1beta2'),
});
