import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ociRepositoryFrom, parseKustomizationSource } from './create.ts';
import { NO_GOLDENS, readGolden, runFlotilla } from './testing.ts';

const PODINFO = '--url=https://github.com/stefanprodan/podinfo';

/** Flux's create_source_git export cases: the flags, and the golden each must print. */
const GIT_CASES: Array<[string, string[]]> = [
  ['source-git-commit.yaml', [PODINFO, '--commit=c88a2f41']],
  ['source-git-refname.yaml', [PODINFO, '--ref-name=refs/heads/main']],
  ['source-git-branch-commit.yaml', [PODINFO, '--branch=main', '--commit=c88a2f41']],
  ['source-git-semver.yaml', [PODINFO, '--tag-semver=v1.01']],
  ['source-git-tag.yaml', [PODINFO, '--tag=test']],
  ['source-git-branch.yaml', [PODINFO, '--branch=test']],
  ['source-git-provider-generic.yaml', [PODINFO, '--provider', 'generic', '--branch=test']],
  ['source-git-provider-azure.yaml', ['--url=https://dev.azure.com/foo/bar/_git/podinfo', '--provider', 'azure', '--branch=test']],
  ['source-git-provider-github.yaml', [PODINFO, '--provider', 'github', '--branch=test', '--secret-ref', 'appinfo']],
];

test('create source git --export prints what flux prints', async () => {
  const r = await runFlotilla(['create', 'source', 'git', 'podinfo', '--namespace=flux-system', PODINFO, '--branch=main', '--commit=c88a2f41', '--interval=1m', '--export']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    [
      '---',
      'apiVersion: source.toolkit.fluxcd.io/v1',
      'kind: GitRepository',
      'metadata:',
      '  name: podinfo',
      '  namespace: flux-system',
      'spec:',
      '  interval: 1m0s',
      '  ref:',
      '    branch: main',
      '    commit: c88a2f41',
      '  url: https://github.com/stefanprodan/podinfo',
      '',
    ].join('\n'),
  );
});

test('create source git --export matches every Flux golden', async (t) => {
  if (readGolden('create_source_git/export.golden') === undefined) return t.skip(NO_GOLDENS);
  for (const [golden, flags] of GIT_CASES) {
    const r = await runFlotilla(['create', 'source', 'git', 'podinfo', '--namespace=flux-system', ...flags, '--interval=1m0s', '--export']);
    assert.equal(r.code, 0, `${golden}: ${r.stderr}`);
    assert.equal(r.stdout, readGolden(`create_source_git/${golden}`), golden);
  }
  const r = await runFlotilla([
    'create', 'source', 'git', 'podinfo', PODINFO, '--branch=master',
    '--sparse-checkout-paths', '.cosign,non-existent-dir/', '--ignore-paths', '.cosign,non-existent-dir/',
    '-n', 'default', '--interval', '1m', '--export', '--timeout=1m',
  ]);
  assert.equal(r.stdout, readGolden('create_source_git/export.golden'));
});

test('create source git: errors in one line, non-zero exit', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['create', 'source', 'git', PODINFO, '--branch=main', '--export'], /^✗ name is required\n$/],
    [['create', 'source', 'git', 'podinfo', '--branch=main', '--export'], /^✗ url is required\n$/],
    [['create', 'source', 'git', 'podinfo', PODINFO, '--export'], /a Git ref is required/],
    [['create', 'source', 'git', 'podinfo', '--url=ftp://x/y', '--branch=a', '--export'], /scheme 'ftp' not supported/],
    [['create', 'source', 'git', 'podinfo', PODINFO, '--branch=a', '--provider', 'dummy', '--export'], /source Git provider 'dummy' is not supported, must be one of: generic\|github\|aws\|azure/],
    [['create', 'source', 'git', 'Bad_Name', PODINFO, '--branch=a', '--export'], /name 'Bad_Name' is invalid/],
    [['create', 'source', 'git', 'podinfo', PODINFO, '--branch=a', '--interval=soon', '--export'], /"soon" is not a duration/],
  ];
  for (const [args, pattern] of cases) {
    const r = await runFlotilla(args);
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.stderr, pattern, args.join(' '));
    assert.equal(r.stdout, '');
  }
});

test('create kustomization --export', async () => {
  const r = await runFlotilla([
    'create', 'kustomization', 'podinfo', '-n', 'apps', '--source=GitRepository/podinfo.flux-system', '--path=./kustomize',
    '--prune=true', '--interval=5m', '--health-check=Deployment/podinfo.apps', '--depends-on=infra,flux-system/crds',
    '--target-namespace=apps', '--service-account=deployer', '--label', 'team=a', '--export',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    [
      '---',
      'apiVersion: kustomize.toolkit.fluxcd.io/v1',
      'kind: Kustomization',
      'metadata:',
      '  labels:',
      '    team: a',
      '  name: podinfo',
      '  namespace: apps',
      'spec:',
      '  dependsOn:',
      '  - name: infra',
      '  - name: crds',
      '    namespace: flux-system',
      '  healthChecks:',
      '  - kind: Deployment',
      '    name: podinfo',
      '    namespace: apps',
      '  interval: 5m0s',
      '  path: ./kustomize',
      '  prune: true',
      '  serviceAccountName: deployer',
      '  sourceRef:',
      '    kind: GitRepository',
      '    name: podinfo',
      '    namespace: flux-system',
      '  targetNamespace: apps',
      '  timeout: 2m0s',
      '',
    ].join('\n'),
  );
});

test('create kustomization: prune false is written, --wait sets the timeout', async () => {
  const r = await runFlotilla(['create', 'ks', 'app', '--source=app', '--wait', '--export']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ {2}prune: false$/m);
  assert.match(r.stdout, /^ {2}wait: true$/m);
  assert.match(r.stdout, /^ {2}timeout: 2m0s$/m);
  assert.match(r.stdout, /^ {2}path: \.\/$/m);
  assert.match(r.stdout, /^ {2}namespace: flux-system$/m);
});

test('create kustomization errors', async () => {
  assert.match((await runFlotilla(['create', 'kustomization', 'my-app', '--path=./deploy', '--export'])).stderr, /^✗ source is required\n$/);
  assert.match((await runFlotilla(['create', 'ks', 'my-app', '--source=x', '--path=deploy', '--export'])).stderr, /path must begin with \.\//);
  assert.match((await runFlotilla(['create', 'ks', 'my-app', '--source=Helm/x', '--export'])).stderr, /source kind 'Helm' is not supported/);
  assert.match((await runFlotilla(['create', 'ks', 'my-app', '--source=x', '--prune=maybe', '--export'])).stderr, /"maybe" is not a boolean/);
});

test('kustomization source references', () => {
  assert.deepEqual(parseKustomizationSource('podinfo'), { kind: 'GitRepository', name: 'podinfo' });
  assert.deepEqual(parseKustomizationSource('ocirepository/app.infra'), { kind: 'OCIRepository', name: 'app', namespace: 'infra' });
  assert.throws(() => parseKustomizationSource('GitRepository'), /no kind specified/);
});

test('create source oci: the OCIRepository flux would make, and its flag errors', () => {
  const o = { interval: '10m0s', provider: 'generic' };
  const obj = ociRepositoryFrom('podinfo', 'flux-system', { ...o, url: 'oci://ghcr.io/stefanprodan/manifests/podinfo', tag: '6.3.5', ignorePaths: ['docs/', '*.md'], layerSelector: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip:copy', insecure: true });
  assert.deepEqual(obj.spec, {
    interval: '10m0s',
    provider: 'generic',
    ref: { tag: '6.3.5' },
    url: 'oci://ghcr.io/stefanprodan/manifests/podinfo',
    insecure: true,
    ignore: 'docs/\n*.md',
    layerSelector: { mediaType: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip', operation: 'copy' },
  });
  assert.throws(() => ociRepositoryFrom('x', 'ns', { ...o }), /url is required/);
  assert.throws(() => ociRepositoryFrom('x', 'ns', { ...o, url: 'oci://r/x' }), /--tag, --tag-semver or --digest is required/);
  assert.throws(() => ociRepositoryFrom('x', 'ns', { ...o, url: 'oci://r/x', tag: 'v1', layerSelector: 'application/x:explode' }), /the operation is "extract" or "copy"/);
  assert.throws(() => ociRepositoryFrom('x', 'ns', { ...o, url: 'oci://r/x', tag: 'v1', provider: 'dockerhub' }), /source OCI provider 'dockerhub' is not supported/);
});
