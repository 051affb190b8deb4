export type {
  BranchTip,
  PublicKeys,
  CheckoutOptions,
  CheckoutResult,
  CommitAndPushOptions,
  GitAuth,
  GitCallOptions,
  GitClient,
  GitProxy,
  GitRef,
  GitRefKind,
  GitSignature,
  HttpsTls,
  PushResult,
  ResolvedRef,
} from './types.ts';
export { CliGitClient, SignatureError, type CliGitClientOptions } from './cli-client.ts';
export { AUTHENTICATION_FAILED_REASON, authFromSecretData, authFromSecretValues, decodeSecretData, proxyFromSecretData } from './auth.ts';
export { GitOperationError, isGitOperationError, type GitFailure } from './failure.ts';
export { URL_INVALID_REASON, displayUrl, parseGitUrl, type ParsedGitUrl } from './git-url.ts';
export { redact, secretsOf } from './redact.ts';
export {
  DEFAULT_BRANCH,
  GIT_OPERATION_FAILED_REASON,
  commitDigest,
  commitOfRevision,
  effectiveRef,
  formatRevision,
  normalizeRevision,
  type EffectiveRef,
} from './refs.ts';
