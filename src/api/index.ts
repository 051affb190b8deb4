/**
 * The Flux API as Flotilla serves it: every kind, its names, schema and served versions.
 * Other layers import kinds and types from here; `crdgen.ts` renders the CRDs from
 * `apiKinds`.
 */
import { Value } from '@sinclair/typebox/value';
import { registerApiFormats } from './common.ts';
import type { ApiKind } from './kind.ts';
import type { HelmRelease } from './helm.v2.ts';
import { helmReleaseApi } from './helm.v2.ts';
import type { ImagePolicy, ImageRepository, ImageUpdateAutomation } from './image.v1.ts';
import { imagePolicyApi, imageRepositoryApi, imageUpdateAutomationApi } from './image.v1.ts';
import type { Kustomization } from './kustomize.v1.ts';
import { kustomizationApi } from './kustomize.v1.ts';
import type { Receiver } from './notification.v1.ts';
import { receiverApi } from './notification.v1.ts';
import type { Alert, Provider } from './notification.v1beta3.ts';
import { alertApi, providerApi } from './notification.v1beta3.ts';
import type { GitRepository, HelmChart, HelmRepository, OCIRepository } from './source.v1.ts';
import { gitRepositoryApi, helmChartApi, helmRepositoryApi, ociRepositoryApi } from './source.v1.ts';

export * from './common.ts';
export * from './kind.ts';
export * from './source.v1.ts';
export * from './kustomize.v1.ts';
export * from './helm.v2.ts';
export * from './image.v1.ts';
export * from './notification.v1.ts';
export * from './notification.v1beta3.ts';
export * from './spec-rules.ts';

/** Every kind Flotilla serves, in the order the CRDs are listed. */
export const apiKinds = [
  gitRepositoryApi,
  ociRepositoryApi,
  helmRepositoryApi,
  helmChartApi,
  kustomizationApi,
  helmReleaseApi,
  imageRepositoryApi,
  imagePolicyApi,
  imageUpdateAutomationApi,
  receiverApi,
  alertApi,
  providerApi,
] as const;

export type FluxKind = (typeof apiKinds)[number]['kind'];

export interface FluxObjectByKind {
  GitRepository: GitRepository;
  OCIRepository: OCIRepository;
  HelmRepository: HelmRepository;
  HelmChart: HelmChart;
  Kustomization: Kustomization;
  HelmRelease: HelmRelease;
  ImageRepository: ImageRepository;
  ImagePolicy: ImagePolicy;
  ImageUpdateAutomation: ImageUpdateAutomation;
  Receiver: Receiver;
  Alert: Alert;
  Provider: Provider;
}

/** Any object of a served kind; `kind` discriminates. */
export type FluxObject = FluxObjectByKind[FluxKind];

const byKind = new Map<string, ApiKind>(apiKinds.map((k) => [k.kind, k]));

export function isFluxKind(kind: string): kind is FluxKind {
  return byKind.has(kind);
}

/** The served kind named `kind`; throws for a kind Flotilla does not serve. */
export function apiKindOf<K extends FluxKind>(kind: K): ApiKind<K> {
  const found = byKind.get(kind);
  if (found === undefined) throw new Error(`${kind} is not a kind served by Flotilla`);
  return found as ApiKind<K>;
}

/** Every version a kind is served at, storage version first. */
export function servedVersions(api: ApiKind): string[] {
  return [api.version, ...api.olderVersions.map((v) => v.name)];
}

/**
 * The served kind for an apiVersion (or bare group) and kind, accepting older versions
 * too: `findApiKind('kustomize.toolkit.fluxcd.io/v1beta2', 'Kustomization')`.
 */
export function findApiKind(apiVersionOrGroup: string, kind: string): ApiKind | undefined {
  const api = byKind.get(kind);
  if (api === undefined) return undefined;
  const slash = apiVersionOrGroup.indexOf('/');
  if (slash < 0) return apiVersionOrGroup === api.group ? api : undefined;
  const group = apiVersionOrGroup.slice(0, slash);
  const version = apiVersionOrGroup.slice(slash + 1);
  return group === api.group && servedVersions(api).includes(version) ? api : undefined;
}

/**
 * Checks a value against the schema of a kind (types, enums, patterns, required fields)
 * and returns one line per problem, e.g. `/spec/interval: must match pattern …`; empty
 * when valid. The API server already enforces the same schema, so controllers need this
 * only for objects that did not come from it (files, CLI input, tests).
 */
export function validateObject(api: ApiKind, value: unknown): string[] {
  registerApiFormats();
  return [...Value.Errors(api.schema, value)].map((e) => `${e.path === '' ? '/' : e.path}: ${e.message}`);
}
