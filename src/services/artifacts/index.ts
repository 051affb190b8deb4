export { DIGEST_ALGORITHM, DigestingStream, digestFile, digestHex, formatDigest } from './digest.ts';
export {
  DEFAULT_MAX_EXTRACT_BYTES,
  DEFAULT_MAX_EXTRACT_FILES,
  extractTarGz,
  type ExtractLimits,
  type ExtractResult,
} from './extract.ts';
export {
  DEFAULT_EXCLUDES,
  IgnoreMatcher,
  parseIgnorePattern,
  parseIgnoreText,
  SOURCE_IGNORE_FILE,
  sourceIgnoreMatcher,
  VCS_EXCLUDES,
  type IgnoreMatch,
  type IgnorePattern,
} from './ignore.ts';
export { isWithin, safeRelativeSegments } from './paths.ts';
export { startArtifactServer, parseListenAddress, type ArtifactServer, type ArtifactServerOptions } from './server.ts';
export { loadSourceIgnorePatterns, scanSourceTree, type SourceTree, type TreeEntry, type TreeEntryKind } from './source-tree.ts';
export {
  ArtifactStore,
  DEFAULT_ARTIFACT_RETENTION_RECORDS,
  DEFAULT_ARTIFACT_RETENTION_TTL_MS,
  type Artifact,
  type ArtifactOwner,
  type ArtifactRetention,
  type ArtifactStoreOptions,
  type PutDirectoryRequest,
  type PutFileRequest,
} from './store.ts';
export {
  ARCHIVE_DIRECTORY_MODE,
  ARCHIVE_EXECUTABLE_MODE,
  ARCHIVE_FILE_MODE,
  ARCHIVE_GZIP_LEVEL,
  buildTarball,
  type BuildTarballOptions,
  type BuildTarballResult,
} from './tarball.ts';
