/**
 * What the commands run, loaded by their actions once the options are parsed (`await
 * import('./engines.js')`), never at the CLI's start: `mosaic --help`, `login` and `cluster`'s
 * supervisor do without it. One module, so that the bundle has one boundary: a node and a `mosaic
 * sync` load the same chunks (code shared across two lazily loaded graphs would be cut by esbuild
 * into a chunk per graph that reaches it, ~30 more module files for a node to load).
 */
export { AccountService } from '../accounts/account.service.js';
export { NewPassword, Username } from '../http/schemas.js';
export { startNode } from '../node/node.js';
export { openReplicaState } from '../oplog/replica-state.js';
export { openSqliteStore } from '../storage/metadata/sqlite.js';
export { openMetadataStore } from '../storage/metadata/store.js';
export { SiteIdentityRepository } from '../storage/metadata/site-identity.repository.js';
export { compactHeapWhenIdle } from './idle-heap.js';
export { sync } from './sync.run.js';
