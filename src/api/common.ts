/**
 * Building blocks shared by every Flux API group: references, conditions, artifacts,
 * durations and the small kustomize types that Kustomization and HelmRelease both embed.
 *
 * Schemas are written with TypeBox so that one definition gives both the static type and
 * the JSON Schema that `crdgen.ts` turns into a CRD. A few conventions keep that
 * translation simple:
 * - string enums are unions of string literals (`stringEnum`), rendered as `enum`;
 * - string maps are `Type.Record(Type.String(), …)`, rendered as `additionalProperties`;
 * - free-form JSON carries `x-kubernetes-preserve-unknown-fields` (`freeFormObject`).
 */
import { FormatRegistry, Type } from '@sinclair/typebox';
import type { SchemaOptions, Static, StringOptions, TLiteral, TProperties, TUnion } from '@sinclair/typebox';

/** A Go duration limited to ms, s, m and h units, as Flux accepts for intervals and timeouts. */
export const durationPattern = '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$';
/** The variant without hours that Flux uses for network timeouts of sources and providers. */
export const shortDurationPattern = '^([0-9]+(\\.[0-9]+)?(ms|s|m))+$';

/** A string that must be one of `values`; the static type is the union of the literals. */
export function stringEnum<const T extends readonly string[]>(
  values: T,
  options: SchemaOptions = {},
): TUnion<TLiteral<T[number]>[]> {
  const literals = values.map((v) => Type.Literal(v));
  return Type.Union(literals, options) as unknown as TUnion<TLiteral<T[number]>[]>;
}

export function duration(description: string, options: StringOptions = {}) {
  return Type.String({ ...options, pattern: durationPattern, description });
}

export function shortDuration(description: string, options: StringOptions = {}) {
  return Type.String({ ...options, pattern: shortDurationPattern, description });
}

export function timestamp(description: string) {
  return Type.String({ format: 'date-time', description });
}

export function int64(description: string, options: { minimum?: number } = {}) {
  return Type.Integer({ ...options, format: 'int64', description });
}

export function stringMap(description: string) {
  return Type.Record(Type.String(), Type.String(), { description });
}

/** Arbitrary JSON kept verbatim by the API server (HelmRelease values). */
export function freeFormObject(description: string) {
  return Type.Record(Type.String(), Type.Unknown(), {
    description,
    'x-kubernetes-preserve-unknown-fields': true,
  });
}

/**
 * TypeBox rejects unknown string formats when validating; the API only uses date-time.
 * Registration is global to TypeBox, so it is idempotent and done on demand by callers
 * that validate values (`validateObject` in index.ts), not at import time.
 */
export function registerApiFormats(): void {
  if (!FormatRegistry.Has('date-time')) {
    FormatRegistry.Set('date-time', (value) => !Number.isNaN(Date.parse(value)) && /^\d{4}-\d{2}-\d{2}T/.test(value));
  }
}

// ---------------------------------------------------------------------------------------
// Object metadata. The CRD only declares `metadata: {type: object}` (the API server owns its
// schema); the TypeBox shape exists for the static type.

export const OwnerReferenceSchema = Type.Object({
  apiVersion: Type.String(),
  kind: Type.String(),
  name: Type.String(),
  uid: Type.String(),
  controller: Type.Optional(Type.Boolean()),
  blockOwnerDeletion: Type.Optional(Type.Boolean()),
});

export const ObjectMetaSchema = Type.Object({
  name: Type.Optional(Type.String()),
  generateName: Type.Optional(Type.String()),
  namespace: Type.Optional(Type.String()),
  uid: Type.Optional(Type.String()),
  resourceVersion: Type.Optional(Type.String()),
  generation: Type.Optional(Type.Integer()),
  creationTimestamp: Type.Optional(Type.String()),
  deletionTimestamp: Type.Optional(Type.String()),
  deletionGracePeriodSeconds: Type.Optional(Type.Integer()),
  labels: Type.Optional(Type.Record(Type.String(), Type.String())),
  annotations: Type.Optional(Type.Record(Type.String(), Type.String())),
  finalizers: Type.Optional(Type.Array(Type.String())),
  ownerReferences: Type.Optional(Type.Array(OwnerReferenceSchema)),
  managedFields: Type.Optional(Type.Array(Type.Unknown())),
});
export type ObjectMeta = Static<typeof ObjectMetaSchema>;

// ---------------------------------------------------------------------------------------
// References

export const LocalObjectReferenceSchema = Type.Object({
  name: Type.String({ description: 'Name of the object, in the namespace of the referring object.' }),
});
export type LocalObjectReference = Static<typeof LocalObjectReferenceSchema>;

/** A reference to a Secret in the same namespace; `what` says what the Secret holds. */
export function secretRef(what: string) {
  return Type.Object(
    { name: Type.String({ description: 'Name of the Secret, in the namespace of this object.' }) },
    { description: what },
  );
}

export function configMapRef(what: string) {
  return Type.Object(
    { name: Type.String({ description: 'Name of the ConfigMap, in the namespace of this object.' }) },
    { description: what },
  );
}

export const NamespacedObjectReferenceSchema = Type.Object({
  name: Type.String({ description: 'Name of the object.' }),
  namespace: Type.Optional(
    Type.String({ description: 'Namespace of the object; the namespace of the referring object when empty.' }),
  ),
});
export type NamespacedObjectReference = Static<typeof NamespacedObjectReferenceSchema>;

/** Any object by apiVersion, kind, name and (optional) namespace. */
export const NamespacedObjectKindReferenceSchema = Type.Object({
  apiVersion: Type.Optional(Type.String({ description: 'API version of the object, e.g. apps/v1.' })),
  kind: Type.String({ description: 'Kind of the object, e.g. Deployment.' }),
  name: Type.String({ description: 'Name of the object.' }),
  namespace: Type.Optional(
    Type.String({ description: 'Namespace of the object; the namespace of the referring object when empty.' }),
  ),
});
export type NamespacedObjectKindReference = Static<typeof NamespacedObjectKindReferenceSchema>;

/**
 * A Secret and one of its keys. Flux calls this SecretKeyReference; `key` defaults to
 * a kind-specific name (for kubeconfigs `value`, then `value.yaml`).
 */
export const SecretKeyReferenceSchema = Type.Object({
  key: Type.Optional(Type.String({ description: 'Key inside the Secret; a kind-specific default when empty.' })),
  name: Type.String({ description: 'Name of the Secret, in the namespace of this object.' }),
});
export type SecretKeyReference = Static<typeof SecretKeyReferenceSchema>;

/** An entry of `dependsOn`: the object must be Ready before this one reconciles. */
export const DependencyReferenceSchema = Type.Object({
  name: Type.String({ description: 'Name of the object this one waits for.' }),
  namespace: Type.Optional(
    Type.String({ description: 'Namespace of that object; the namespace of this object when empty.' }),
  ),
  readyExpr: Type.Optional(
    Type.String({
      description:
        'CEL expression over `self` (this object) and `dep` (the dependency) that decides whether the dependency counts as ready, instead of its Ready condition.',
    }),
  ),
});
export type DependencyReference = Static<typeof DependencyReferenceSchema>;

/**
 * Where the kubeconfig of a remote cluster comes from. Flux enforces "exactly one of the
 * two" with CEL, which Kubernetes 1.20 cannot evaluate; the controllers check it instead.
 */
export const KubeConfigReferenceSchema = Type.Object(
  {
    configMapRef: Type.Optional(
      configMapRef(
        'ConfigMap describing a cluster reached with workload identity (keys `provider`, `cluster`, `address`, `ca.crt`, `audiences`, `serviceAccountName`). Mutually exclusive with secretRef.',
      ),
    ),
    secretRef: Type.Optional(
      Type.Object(SecretKeyReferenceSchema.properties, {
        description:
          'Secret holding a kubeconfig for the remote cluster; the key defaults to `value`, then `value.yaml`. Mutually exclusive with configMapRef.',
      }),
    ),
  },
  {
    description:
      'Apply to a remote cluster instead of this one. When set, serviceAccountName applies on the remote cluster. Exactly one of secretRef and configMapRef must be given.',
  },
);
export type KubeConfigReference = Static<typeof KubeConfigReferenceSchema>;

/** Who may reference this object across namespaces (Flux's acl.AccessFrom). */
export const AccessFromSchema = Type.Object(
  {
    namespaceSelectors: Type.Array(
      Type.Object({
        matchLabels: Type.Optional(
          Type.Record(Type.String(), Type.String(), {
            description: 'Labels a namespace must carry for its objects to be granted access.',
          }),
        ),
      }),
      { description: 'Namespaces granted access; an object is granted access if its namespace matches any selector.' },
    ),
  },
  { description: 'Access control list for references from other namespaces.' },
);
export type AccessFrom = Static<typeof AccessFromSchema>;

/** A Kubernetes label selector (metav1.LabelSelector). */
export const LabelSelectorSchema = Type.Object(
  {
    matchExpressions: Type.Optional(
      Type.Array(
        Type.Object({
          key: Type.String({ description: 'The label key the requirement is about.' }),
          operator: Type.String({ description: 'One of In, NotIn, Exists and DoesNotExist.' }),
          values: Type.Optional(
            Type.Array(Type.String(), {
              'x-kubernetes-list-type': 'atomic',
              description: 'Values for In and NotIn; must be empty for Exists and DoesNotExist.',
            }),
          ),
        }),
        { 'x-kubernetes-list-type': 'atomic', description: 'Requirements on labels; all must hold.' },
      ),
    ),
    matchLabels: Type.Optional(stringMap('Labels that must all be present with these values.')),
  },
  { 'x-kubernetes-map-type': 'atomic', description: 'Selects objects by their labels; an empty selector selects all.' },
);
export type LabelSelector = Static<typeof LabelSelectorSchema>;

// ---------------------------------------------------------------------------------------
// Status building blocks

const conditionTypePattern =
  '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$';
const conditionReasonPattern = '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$';

/** A standard Kubernetes condition (metav1.Condition). */
export const ConditionSchema = Type.Object(
  {
    lastTransitionTime: timestamp('When the status of this condition last changed.'),
    message: Type.String({ maxLength: 32768, description: 'What happened, in words for a person; may be empty.' }),
    observedGeneration: Type.Optional(
      int64('The metadata.generation of the object when this condition was computed.', { minimum: 0 }),
    ),
    reason: Type.String({
      maxLength: 1024,
      minLength: 1,
      pattern: conditionReasonPattern,
      description: 'A CamelCase word a program can match on, e.g. ReconciliationSucceeded.',
    }),
    status: stringEnum(['True', 'False', 'Unknown'], { description: 'Whether the condition holds.' }),
    type: Type.String({
      maxLength: 316,
      pattern: conditionTypePattern,
      description: 'What this condition is about, e.g. Ready, Reconciling, Stalled.',
    }),
  },
  { description: 'One observation about the state of the object.' },
);
export type Condition = Static<typeof ConditionSchema>;
export type ConditionStatus = Condition['status'];

export function conditions(kind: string) {
  return Type.Array(ConditionSchema, { description: `Observations about the state of the ${kind}.` });
}

export function observedGeneration(kind: string) {
  return int64(`The metadata.generation of the ${kind} that the status describes.`);
}

export function lastHandledReconcileAt() {
  return Type.String({
    description:
      'The value of the reconcile.fluxcd.io/requestedAt annotation when the last reconciliation finished; a different annotation value asks for a new one.',
  });
}

/** Flux starts every status at observedGeneration -1, meaning "never reconciled". */
export const statusDefault = { observedGeneration: -1 } as const;

/** The same properties with their keys in alphabetical order, the order of Flux's CRDs. */
function alphabetical<P extends TProperties>(properties: P): P {
  const keys = Object.keys(properties).sort();
  return Object.fromEntries(keys.map((key) => [key, properties[key]])) as P;
}

/**
 * The status of a reconciled kind: the fields every Flux status has (conditions,
 * lastHandledReconcileAt, observedGeneration) merged with the kind's own `properties`, in
 * alphabetical order, starting at observedGeneration -1.
 */
export function reconciledStatus<P extends TProperties>(kind: string, description: string, properties: P) {
  return Type.Object(
    alphabetical({
      conditions: Type.Optional(conditions(kind)),
      lastHandledReconcileAt: Type.Optional(lastHandledReconcileAt()),
      observedGeneration: Type.Optional(observedGeneration(kind)),
      ...properties,
    }),
    { default: statusDefault, description },
  );
}

const digestPattern = '^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$';

/** A file produced by a source and served by the artifact store. */
export const ArtifactSchema = Type.Object(
  {
    digest: Type.String({
      pattern: digestPattern,
      description: 'Checksum of the file, as `<algorithm>:<hex>`, e.g. sha256:3b6c….',
    }),
    lastUpdateTime: timestamp('When the file was last written.'),
    metadata: Type.Optional(
      stringMap('Information carried over from the origin, such as OCI manifest annotations.'),
    ),
    path: Type.String({ description: 'Location of the file relative to the root of the artifact store.' }),
    revision: Type.String({
      description:
        'What the file was built from, in terms of the origin: e.g. main@sha1:<commit> for Git, a chart version for Helm, latest@sha256:<digest> for OCI.',
    }),
    size: Type.Optional(int64('Length of the file in bytes.')),
    url: Type.String({ description: 'HTTP address where other controllers can download the file.' }),
  },
  { description: 'A file produced by a source reconciliation.' },
);
export type Artifact = Static<typeof ArtifactSchema>;

/** What a Kustomization or HelmRelease applied: `<ns>_<name>_<group>_<kind>` plus version. */
export const ResourceInventorySchema = Type.Object(
  {
    entries: Type.Array(
      Type.Object({
        id: Type.String({
          description: 'The object as `<namespace>_<name>_<group>_<kind>`; the namespace is empty for cluster-scoped objects.',
        }),
        v: Type.String({ description: 'API version of the object as it was applied.' }),
      }),
      { description: 'One entry per applied object.' },
    ),
  },
  { description: 'The objects applied by the last successful reconciliation, used for pruning.' },
);
export type ResourceInventory = Static<typeof ResourceInventorySchema>;

// ---------------------------------------------------------------------------------------
// Kustomize types shared by Kustomization and HelmRelease post-renderers.

export const KustomizeSelectorSchema = Type.Object(
  {
    annotationSelector: Type.Optional(
      Type.String({ description: 'Kubernetes annotation selector the object must match.' }),
    ),
    group: Type.Optional(Type.String({ description: 'Regular expression on the API group.' })),
    kind: Type.Optional(Type.String({ description: 'Regular expression on the kind.' })),
    labelSelector: Type.Optional(Type.String({ description: 'Kubernetes label selector the object must match.' })),
    name: Type.Optional(Type.String({ description: 'Regular expression on the name.' })),
    namespace: Type.Optional(Type.String({ description: 'Regular expression on the namespace.' })),
    version: Type.Optional(Type.String({ description: 'Regular expression on the API version.' })),
  },
  { description: 'Which objects the rule applies to; every field given must match.' },
);
export type KustomizeSelector = Static<typeof KustomizeSelectorSchema>;

export const KustomizePatchSchema = Type.Object(
  {
    patch: Type.String({
      description: 'A strategic merge patch or a JSON 6902 patch (a YAML list of operations), inline.',
    }),
    target: Type.Optional(KustomizeSelectorSchema),
  },
  { description: 'A kustomize patch with an optional target.' },
);
export type KustomizePatch = Static<typeof KustomizePatchSchema>;

export const KustomizeImageSchema = Type.Object(
  {
    digest: Type.Optional(Type.String({ description: 'Digest to pin the image to; wins over newTag.' })),
    name: Type.String({ description: 'Image name as it appears in the manifests, without tag.' }),
    newName: Type.Optional(Type.String({ description: 'Replacement image name.' })),
    newTag: Type.Optional(Type.String({ description: 'Replacement tag.' })),
  },
  { description: 'A kustomize image override.' },
);
export type KustomizeImage = Static<typeof KustomizeImageSchema>;

/** A CEL rule that tells how healthy objects of one kind are (kustomize.CustomHealthCheck). */
export const CustomHealthCheckSchema = Type.Object({
  apiVersion: Type.String({ description: 'API version of the objects the rule is for.' }),
  current: Type.String({ description: 'CEL expression that is true when the object is healthy.' }),
  failed: Type.Optional(Type.String({ description: 'CEL expression that is true when the object has failed.' })),
  inProgress: Type.Optional(
    Type.String({ description: 'CEL expression that is true while the object is still progressing.' }),
  ),
  kind: Type.Optional(Type.String({ description: 'Kind of the objects the rule is for.' })),
});
export type CustomHealthCheck = Static<typeof CustomHealthCheckSchema>;

export function healthCheckExprs() {
  return Type.Array(CustomHealthCheckSchema, {
    description: 'CEL rules that compute the health of custom resources kstatus does not understand.',
  });
}

/** Drift rules: JSON pointers whose values are left to the cluster. */
export const IgnoreRuleSchema = Type.Object({
  paths: Type.Array(Type.String(), { description: 'JSON pointers (RFC 6901) to the fields to leave alone.' }),
  target: Type.Optional(KustomizeSelectorSchema),
});
export type IgnoreRule = Static<typeof IgnoreRuleSchema>;

export const CommonMetadataSchema = Type.Object(
  {
    annotations: Type.Optional(stringMap('Annotations added to every object.')),
    labels: Type.Optional(stringMap('Labels added to every object.')),
  },
  { description: 'Labels and annotations added to every applied object.' },
);
export type CommonMetadata = Static<typeof CommonMetadataSchema>;

/** The fields of the kinds that log in to an OCI registry: OCIRepository and ImageRepository. */
export const registryFields = {
  certSecretRef: Type.Optional(
    secretRef('Secret with TLS material for the registry: ca.crt, and tls.crt with tls.key for client authentication.'),
  ),
  insecure: Type.Optional(Type.Boolean({ description: 'Talk plain HTTP to the registry.' })),
  provider: Type.Optional(
    stringEnum(['generic', 'aws', 'azure', 'gcp'], {
      default: 'generic',
      description: 'Cloud whose workload identity logs in to the registry; generic uses secretRef.',
    }),
  ),
  proxySecretRef: Type.Optional(
    secretRef('Secret with the proxy to use for registry traffic (keys address, username, password).'),
  ),
  secretRef: Type.Optional(secretRef('Secret of type kubernetes.io/dockerconfigjson with the registry credentials.')),
};

/** How a signature is checked: the signing tool and the Secret with what it trusts. */
export function signatureVerificationProperties() {
  return {
    provider: stringEnum(['cosign', 'notation'], {
      default: 'cosign',
      description: 'The signing tool whose signatures are checked.',
    }),
    secretRef: Type.Optional(
      secretRef('Secret with the trusted public keys (cosign) or trust policy and certificates (notation).'),
    ),
  };
}

/** An identity a keyless (OIDC) signature must have been made with. */
export const OidcIdentityMatchSchema = Type.Object({
  issuer: Type.String({ description: 'Regular expression the OIDC issuer must match.' }),
  subject: Type.String({ description: 'Regular expression the OIDC subject must match.' }),
});
export type OidcIdentityMatch = Static<typeof OidcIdentityMatchSchema>;
