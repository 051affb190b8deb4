export { MANIFEST_TYPES, OciError, OciSession, type OciConnection, type OciDescriptor, type OciFailure, type OciManifest } from './client.ts';
export {
  InvalidOciReference,
  credentialsFor,
  parseChallenge,
  parseOciUrl,
  pickSemverTag,
  revisionOf,
  wantedOf,
  type BasicCredentials,
  type OciRef,
  type OciRepositoryName,
  type Wanted,
} from './reference.ts';
export { registryAccess, type RegistryAccessSpec } from './credentials.ts';
