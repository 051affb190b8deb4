/**
 * The Git seam: what the GitRepository and ImageUpdateAutomation controllers need from Git,
 * as one interface with one real implementation on the `git` CLI (`cli-client.ts`).
 */

/** TLS material for an HTTPS remote (PEM text, as found in a Secret). */
export interface HttpsTls {
  /** CA bundle the server certificate must chain to (`ca.crt`, legacy `caFile`). */
  caPem?: string;
  /** Client certificate and key for mutual TLS (`tls.crt` + `tls.key`). */
  certPem?: string;
  keyPem?: string;
}

/** Credentials for one remote, as built from a Secret by `authFromSecretData`. */
export type GitAuth =
  | { type: 'none'; tls?: HttpsTls }
  | { type: 'basic'; username: string; password: string; tls?: HttpsTls }
  | { type: 'bearer'; token: string; tls?: HttpsTls }
  | {
      type: 'ssh';
      /** Private key (PEM or OpenSSH format). */
      identity: string;
      /** known_hosts lines; the only host keys accepted. */
      knownHosts: string;
      /** Passphrase of `identity`, when it is encrypted. */
      password?: string;
    };

/** An HTTP(S) proxy for the remote (Flux `proxySecretRef`: `address`, `username`, `password`). */
export interface GitProxy {
  url: string;
  username?: string;
  password?: string;
}

/** Flux `GitRepositoryRef`. Precedence: commit > name > semver > tag > branch (default `master`). */
export interface GitRef {
  branch?: string;
  tag?: string;
  semver?: string;
  name?: string;
  commit?: string;
}

export type GitRefKind = 'branch' | 'tag' | 'semver' | 'name' | 'commit';

/** The result of resolving a ref against the remote with one `git ls-remote`. */
export interface ResolvedRef {
  kind: GitRefKind;
  /**
   * Full name of the remote ref that was resolved (`refs/heads/main`, `refs/tags/v1.2.0`,
   * `refs/pull/1/head`); for a commit with a branch, the branch; absent for a bare commit.
   */
  refName?: string;
  /** Commit id (40 hex for SHA-1 repositories, 64 for SHA-256), annotated tags peeled. */
  commit: string;
  /**
   * Flux's revision string: `main@sha1:<hex>`, `v1.2.0@sha1:<hex>` (tag and semver),
   * `refs/pull/1/head@sha1:<hex>` (name), `sha1:<hex>` (bare commit).
   */
  revision: string;
}

export interface GitCallOptions {
  /** Bound for the whole operation (Flux `spec.timeout`, default 60 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
  proxy?: GitProxy;
}

export interface CheckoutOptions extends GitCallOptions {
  recurseSubmodules?: boolean;
  /**
   * For a tag: fetch the tag object too and keep it as `refs/tags/<tag>` in the work tree's
   * repository (for signature verification); otherwise only the commit is fetched.
   */
  keepTag?: boolean;
  /** Directories to check out (cone mode); everything when empty or absent. */
  sparseCheckout?: readonly string[];
}

export interface GitSignature {
  name: string;
  email: string;
  /** ISO 8601 with offset. */
  date: string;
}

export interface CheckoutResult {
  /** The commit checked out. Equal to `resolved.commit` unless the ref moved in between. */
  commit: string;
  /** Flux revision of `commit` (same format as {@link ResolvedRef.revision}). */
  revision: string;
  refName?: string;
  author: GitSignature;
  committer: GitSignature;
  message: string;
}

export interface CommitAndPushOptions extends GitCallOptions {
  auth: GitAuth;
  author: { name: string; email: string };
  message: string;
  /** Branch the work tree was checked out from (informational; used as default push target). */
  branch?: string;
  /** Branch to push to; defaults to `branch`. */
  pushBranch?: string;
  /**
   * Force-push. Flux force-pushes when the push branch differs from the checkout branch;
   * the default here follows that rule.
   */
  force?: boolean;
}

export interface PushResult {
  /** False when the work tree had no changes: nothing was committed or pushed. */
  pushed: boolean;
  commit?: string;
  pushBranch?: string;
}

export interface PublicKeys {
  pgp: readonly string[];
  ssh: readonly string[];
}

/** A branch to fetch at whatever commit it points to when fetched. */
export interface BranchTip {
  kind: 'branch';
  /** `refs/heads/<branch>` */
  refName: string;
  commit?: undefined;
}

export interface GitClient {
  /** One `git ls-remote`: the remote refs matching `refPatterns` (all refs when empty), `^{}` entries included. */
  lsRemote(url: string, auth: GitAuth, refPatterns: readonly string[], options?: GitCallOptions): Promise<Map<string, string>>;
  /** Resolves `ref` with exactly one `git ls-remote` (the cost of a poll that finds nothing new). */
  resolveRef(url: string, auth: GitAuth, ref: GitRef | undefined, options?: GitCallOptions): Promise<ResolvedRef>;
  /**
   * Shallow fetch of exactly the resolved ref into the new or empty directory `dir`, then
   * checkout. A branch without a commit (`{ kind: 'branch', refName }`) is fetched by name,
   * whatever it points at: a first fetch needs no `ls-remote` before it.
   */
  checkout(url: string, auth: GitAuth, resolved: ResolvedRef | BranchTip, dir: string, options?: CheckoutOptions): Promise<CheckoutResult>;
  /**
   * Verifies the signatures of `commit` and/or the annotated `tag` (a `refs/tags/` name)
   * in the work tree `dir` made by `checkout`, against PGP key rings (armored) and SSH
   * public keys (authorized_keys lines). Returns the key that signed each; throws a
   * SignatureError saying which object failed and why.
   */
  verifySignatures(dir: string, objects: { commit?: string; tag?: string }, keys: PublicKeys, options?: GitCallOptions): Promise<{ commit?: string; tag?: string }>;
  /** Commits every change in the work tree `dir` (made by `checkout`) and pushes it. */
  commitAndPush(dir: string, options: CommitAndPushOptions): Promise<PushResult>;
}
