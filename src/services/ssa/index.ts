export { applyAll, hasDrifted, requestCount, wasConfigured, type ApplyAllOptions, type ApplyResult, type ApplyStats, type DriftCheck } from './apply.ts';
export { AppliedCache, canonicalJson, desiredHash, type AppliedRecord } from './applied-cache.ts';
export { SsaApplier, type ApplyCall, type ApplyOutcome, type SsaApplierOptions } from './applier.ts';
export { changeSetEntry, changeSetLines, hasChanged, inventoryOf, type Action, type ChangeSetEntry } from './changeset.ts';
export { ApplyError, immutableFields, PruneError, SsaReason, type ObjectFailure, type Operation } from './errors.ts';
export { checkHealth, jobsWithTTL, type HealthOptions, type HealthReport, type HealthResult } from './health.ts';
export {
  diffInventory,
  entriesOf,
  entryOf,
  formatId,
  idOf,
  InventoryFormatError,
  mergeInventory,
  parseEntry,
  parseId,
  sortEntries,
  type InventoryEntry,
  type ObjMetadata,
} from './inventory.ts';
export { computeStatus, type KStatus, type StatusResult } from './kstatus.ts';
export { listingMetadataSource, type LiveLookup, type LiveMetadataSource, type LiveState, type LookupOptions, type LookupStats } from './live.ts';
export { cleanupPatch, fluxCleanup, type CleanupOptions, type ManagerMatch } from './managed-fields.ts';
export { anyInMetadata, defaultPortProtocols, normalizeForApply } from './normalize.ts';
export { compareForApply, deletionTiers, sortForApply, stageOf, type Stage } from './order.ts';
export { deleteAll, prune, type DeleteAllOptions, type DeleteAllResult, type PruneOptions, type PruneResult } from './prune.ts';
