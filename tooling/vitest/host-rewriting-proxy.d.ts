/**
 * A reverse proxy on loopback that passes requests on to `upstream` with the port dropped from
 * `Host`, as nginx's `proxy_set_header Host $host` does.
 */
export function hostRewritingProxy(upstream: string): Promise<{ url: string; close: () => Promise<void> }>;
