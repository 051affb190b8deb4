import type { OperatorConfig } from './config/config.ts';
import { KubeClient } from './runtime/client/client.ts';
import { Kubeconfig, inClusterAccess, type ClusterAccess } from './runtime/client/kubeconfig.ts';
import { observeRequests } from './runtime/client/transport.ts';
import { serve, type HttpServer } from './runtime/http/server.ts';
import { LeaderElector } from './runtime/leader/lease.ts';
import { createLogger, type Logger } from './runtime/log/logger.ts';
import { Manager } from './runtime/manager.ts';
import { Metrics } from './runtime/metrics/metrics.ts';
import { registerControllers, startServices, type Services } from './wiring.ts';

export interface Operator {
  urls: { metrics: string; health: string; artifacts?: string; receiver?: string };
  manager: Manager;
  /** Resolves when this process leads (at once without leader election). */
  leading: Promise<void>;
  stop(): Promise<void>;
}

/** The operator's own access: the kubeconfig flag, $KUBECONFIG, ~/.kube/config, or the pod's service account. */
export function clusterAccess(cfg: Pick<OperatorConfig, 'kubeconfig' | 'kubeContext' | 'inCluster'>): ClusterAccess {
  if (cfg.kubeconfig) return Kubeconfig.fromFile(cfg.kubeconfig, cfg.kubeContext).access();
  if (cfg.inCluster) return inClusterAccess(cfg.inCluster.host, cfg.inCluster.port);
  throw new Error('no kubeconfig: pass --kubeconfig, set KUBECONFIG, or run in a pod');
}

/**
 * The composition root: builds every service once, registers the controllers, serves
 * health and metrics, and starts reconciling once this process holds the lease.
 */
export async function startOperator(cfg: Readonly<OperatorConfig>, log: Logger = createLogger(cfg.logLevel)): Promise<Operator> {
  const client = KubeClient.fromAccess(clusterAccess(cfg), { qps: cfg.kubeApiQps, burst: cfg.kubeApiBurst });
  const metrics = new Metrics();
  const unobserve = observeRequests((method, code, host) => metrics.restRequests.inc({ code: String(code), method, host }));
  const manager = new Manager({
    client,
    log,
    metrics,
    concurrency: cfg.concurrent,
    namespace: cfg.watchAllNamespaces ? undefined : cfg.runtimeNamespace,
    labelSelector: cfg.watchLabelSelector,
    minRetryDelayMs: cfg.minRetryDelayMs,
    maxRetryDelayMs: cfg.maxRetryDelayMs,
    jitterPercentage: cfg.intervalJitterPercentage,
    dependencyRequeueMs: cfg.requeueDependencyMs,
  });
  const services: Services = await startServices(cfg, { client, log, bus: manager.bus });
  const endpoints = registerControllers(manager, cfg, services, log);

  const servers: HttpServer[] = [];
  const metricsServer = await serve(cfg.metricsAddr, {
    '/metrics': async (_req, res) => {
      res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(await metrics.registry.metrics());
    },
  });
  servers.push(metricsServer);
  let elector: LeaderElector | undefined;
  const healthServer = await serve(cfg.healthAddr, {
    '/healthz': (_req, res) => void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n'),
    // ready once the caches are synced, or while waiting as a standby replica
    '/readyz': (_req, res) => {
      const ok = manager.hasSynced || (elector !== undefined && !elector.isLeader);
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'informer caches not synced\n');
    },
  });
  servers.push(healthServer);
  const receiverServer = await serve(cfg.receiverAddr, { '/hook/': endpoints.receiverWebhook });
  servers.push(receiverServer);

  let stopping = false;
  const leading = (async () => {
    if (cfg.enableLeaderElection) {
      elector = new LeaderElector(
        client,
        { namespace: cfg.runtimeNamespace, name: 'flotilla-leader-election', identity: cfg.identity, ...cfg.leaderElection },
        log,
      );
      metrics.leader.set({ name: 'flotilla-leader-election' }, 0);
      await elector.run(() => {
        // like controller-runtime: a replica that lost its lease exits and is restarted
        log.error('leader election lost, exiting');
        process.exit(1);
      });
      if (stopping) return;
      metrics.leader.set({ name: 'flotilla-leader-election' }, 1);
    }
    await manager.start();
  })();
  leading.catch((e: unknown) => log.error({ err: e instanceof Error ? e.message : String(e) }, 'operator failed to start'));

  return {
    urls: { metrics: metricsServer.url, health: healthServer.url, ...services.urls, receiver: receiverServer.url },
    manager,
    leading,
    async stop() {
      stopping = true;
      await elector?.stop();
      await manager.stop();
      await endpoints.stop();
      await services.stop();
      await Promise.all(servers.map((s) => s.close()));
      client.close();
      unobserve();
    },
  };
}
