import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { OperatorConfig } from './config/config.ts';
import { gitRepositoryController } from './controllers/gitrepository/index.ts';
import { imagePolicyController } from './controllers/imagepolicy/index.ts';
import { imageRepositoryController } from './controllers/imagerepository/index.ts';
import { imageUpdateAutomationController } from './controllers/imageupdateautomation/index.ts';
import { kustomizationController } from './controllers/kustomization/index.ts';
import { ociRepositoryController } from './controllers/ocirepository/index.ts';
import { receiverController } from './controllers/receiver/index.ts';
import type { KubeClient } from './runtime/client/client.ts';
import type { EventBus } from './runtime/events/recorder.ts';
import type { Handler } from './runtime/http/server.ts';
import type { Logger } from './runtime/log/logger.ts';
import type { Manager } from './runtime/manager.ts';
import { ArtifactStore, startArtifactServer } from './services/artifacts/index.ts';
import { CliGitClient } from './services/git/index.ts';
import type { GitClient } from './services/git/types.ts';
import { ImageTagStore } from './services/imagetags/store.ts';
import { NotificationDispatcher } from './services/notifier/dispatcher.ts';
import { SsaApplier } from './services/ssa/index.ts';
import { BuildCache } from './services/kustomize/pipeline.ts';
import { ClientFactory } from './services/tenancy/clients.ts';

/** The shared services every controller receives (artifact store, git, kustomize, sops, tenancy). */
export interface Services {
  client: KubeClient;
  store: ArtifactStore;
  git: GitClient;
  urls: { artifacts?: string; receiver?: string };
  stop(): Promise<void>;
}

export interface ServiceDeps {
  client: KubeClient;
  log: Logger;
  bus: EventBus;
}

/** `host:port` → the base URL written into status.artifact.url. */
function advertisedBaseUrl(adv: string): string {
  return /^https?:\/\//.test(adv) ? adv : `http://${adv}`;
}

/** Builds the shared services once. */
export async function startServices(cfg: Readonly<OperatorConfig>, deps: ServiceDeps): Promise<Services> {
  const storagePath = path.resolve(cfg.storagePath);
  await mkdir(storagePath, { recursive: true });
  const server = await startArtifactServer({ storagePath, addr: cfg.storageAddr, logger: deps.log });
  // an advertised port 0 (ephemeral, in tests) means "wherever the server ended up"
  const adv = cfg.storageAdvAddr.endsWith(':0') ? server.url : advertisedBaseUrl(cfg.storageAdvAddr);
  const store = new ArtifactStore({ storagePath, advertisedBaseUrl: adv });
  const git = new CliGitClient({ logger: deps.log, searchPath: cfg.searchPath });
  return {
    client: deps.client,
    store,
    git,
    urls: { artifacts: server.url },
    async stop() {
      await server.close();
    },
  };
}

/** Registers every controller with the manager. Controllers only meet through the API and the bus. */
/** What the controllers serve over HTTP (mounted by main.ts on their listen addresses). */
export interface ControllerEndpoints {
  /** Receiver webhooks, under `/hook/` on `--receiver-addr`. */
  receiverWebhook: Handler;
  /** Stops the notification dispatcher (waits for notifications being sent). */
  stop(): Promise<void>;
}

export function registerControllers(manager: Manager, cfg: Readonly<OperatorConfig>, services: Services, log: Logger): ControllerEndpoints {
  manager.register(
    gitRepositoryController({ client: services.client, git: services.git, store: services.store, noCrossNamespaceRefs: cfg.noCrossNamespaceRefs, sameCheckout: new Map() }),
  );
  const imageTags = new ImageTagStore();
  manager.register(imageRepositoryController({ client: services.client, tags: imageTags }));
  manager.register(imagePolicyController({ client: services.client, tags: imageTags, noCrossNamespaceRefs: cfg.noCrossNamespaceRefs }));
  manager.register(imageUpdateAutomationController({ client: services.client, git: services.git, noCrossNamespaceRefs: cfg.noCrossNamespaceRefs }));
  const receivers = receiverController({ client: services.client, noCrossNamespaceRefs: cfg.noCrossNamespaceRefs }, log);
  manager.register(receivers);
  manager.register(ociRepositoryController({ client: services.client, store: services.store, maxLayerBytes: 512 << 20 }));
  const clients = new ClientFactory(services.client, {
    defaultServiceAccount: cfg.defaultServiceAccount,
    noCrossNamespaceRefs: cfg.noCrossNamespaceRefs,
    allowKubeconfigExec: cfg.insecureKubeconfigExec,
    allowKubeconfigInsecureTls: cfg.insecureKubeconfigTls,
  });
  manager.register(
    kustomizationController(
      {
        client: services.client,
        store: services.store,
        clients,
        defaultServiceAccount: cfg.defaultServiceAccount,
        buildCache: new BuildCache(),
        applier: new SsaApplier({ fieldManager: 'kustomize-controller', concurrency: 4, healthPollMs: 2000, failFast: !cfg.featureGates.DisableFailFastBehavior }),
        kubectl: cfg.tools.kubectl,
        noRemoteBases: cfg.noRemoteBases,
        strictSubstitution: cfg.featureGates.StrictPostBuildSubstitutions,
        additiveCelDependencyCheck: cfg.featureGates.AdditiveCELDependencyCheck,
        cancelHealthCheckOnNewRevision: cfg.featureGates.CancelHealthCheckOnNewRevision,
        applyConcurrency: 4,
      },
      clients,
    ),
  );
  // Alerts and Providers (v1beta3) have no status: nothing to reconcile, only to read when
  // an event is recorded
  const namespace = cfg.watchAllNamespaces ? undefined : cfg.runtimeNamespace;
  const dispatcher = new NotificationDispatcher({
    client: services.client,
    bus: manager.bus,
    alerts: manager.informer({ apiVersion: 'notification.toolkit.fluxcd.io/v1beta3', kind: 'Alert', namespace }),
    providers: manager.informer({ apiVersion: 'notification.toolkit.fluxcd.io/v1beta3', kind: 'Provider', namespace }),
    log,
    noCrossNamespaceRefs: cfg.noCrossNamespaceRefs,
  });
  dispatcher.start();
  return { receiverWebhook: receivers.webhook, stop: () => dispatcher.stop() };
}
