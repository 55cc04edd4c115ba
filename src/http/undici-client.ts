/**
 * The parts of undici the nodes use as HTTP clients (peers, other sites, `mosaic sync`): its
 * `Agent` and the `request` API, loaded without the rest of the package. `import 'undici'`
 * loads all of it (fetch, WebSocket, caches, mocks: ~220 files, and through its WebSocket
 * events Node's own bundled copy of undici too), 6.1 MB of V8 heap and ~0.3 s at start, for
 * two classes of it; these deep requires cost 2.6 MB (docs/benchmarks.md, "Memory").
 * Types come from the package itself.
 */
import type * as Undici from 'undici';
// CommonJS files of undici (no types of their own: undici-lib.d.ts), imported statically so that
// the bundle holds them: loaded from node_modules they cost ~20-30 ms of start-up CPU in
// Node's module resolution alone (docs/benchmarks.md, "Start-up, profiled").
import agent from 'undici/lib/dispatcher/agent.js';
import dispatcher from 'undici/lib/dispatcher/dispatcher.js';
import api from 'undici/lib/api/index.js';

const DispatcherBase = dispatcher as { prototype: object };
// What undici's own index.js does: every dispatcher gets request(), stream(), pipeline()...
Object.assign(DispatcherBase.prototype, api as object);

export const Agent = agent as typeof Undici.Agent;
export type Agent = Undici.Agent;
export type ResponseData = Undici.Dispatcher.ResponseData;

type RequestOptions = Omit<Undici.Dispatcher.RequestOptions, 'origin' | 'path' | 'method'> & {
  readonly method?: Undici.Dispatcher.HttpMethod;
  readonly dispatcher: Undici.Dispatcher;
};

/** undici's `request(url, options)`, always through the given dispatcher (an Agent). */
export function request(url: URL, options: RequestOptions): Promise<ResponseData> {
  const { dispatcher, ...rest } = options;
  return dispatcher.request({
    ...rest,
    origin: url.origin,
    path: `${url.pathname}${url.search}`,
    method: options.method ?? (options.body ? 'PUT' : 'GET'),
  });
}
