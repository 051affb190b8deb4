import type { OperatorConfig } from './config/config.ts';
import type { KubeClient } from './runtime/client/client.ts';
import type { EventBus } from './runtime/events/recorder.ts';
import type { Logger } from './runtime/log/logger.ts';
import type { Manager } from './runtime/manager.ts';

/** The shared services every controller receives (artifact store, git, kustomize, sops, tenancy). */
export interface Services {
  urls: { artifacts?: string; receiver?: string };
  stop(): Promise<void>;
}

export interface ServiceDeps {
  client: KubeClient;
  log: Logger;
  bus: EventBus;
}

/** Builds the shared services once. */
export async function startServices(_cfg: Readonly<OperatorConfig>, _deps: ServiceDeps): Promise<Services> {
  return { urls: {}, stop: async () => undefined };
}

/** Registers every controller with the manager. Controllers only meet through the API and the bus. */
export function registerControllers(_manager: Manager, _cfg: Readonly<OperatorConfig>, _services: Services, _log: Logger): void {
  // controllers are added here as they are built
}
