export * from './client.ts';
export * from './errors.ts';
export * from './objects.ts';
export { Transport, observeRequests, type Impersonation, type RequestOptions } from './transport.ts';
export { RestMapper, resourcePath, type ResourceInfo } from './discovery.ts';
export { TokenBucket } from './ratelimit.ts';
export { Kubeconfig, inClusterAccess, accessFromClientNode, type ClusterAccess } from './kubeconfig.ts';
