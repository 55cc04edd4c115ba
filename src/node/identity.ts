import { randomBytes } from 'node:crypto';
import { getMeta, setMeta, type Db } from '../db/database.js';

export interface NodeIdentity {
  /** Stable random id, used in HLCs and op origins. Never changes for a data directory. */
  readonly id: string;
  /** Human-readable name, shown as a picture's origin. May be changed with --name. */
  readonly name: string;
  /** Signs this node's session cookies. Stays in the data directory. */
  readonly cookieSecret: string;
}

/** Loads the node's identity from its database, creating it on first start. */
export function loadIdentity(db: Db, requestedName: string | undefined): NodeIdentity {
  return db
    .transaction((): NodeIdentity => {
      let id = getMeta(db, 'node_id');
      if (id === null) {
        id = randomBytes(8).toString('hex');
        setMeta(db, 'node_id', id);
      }
      let cookieSecret = getMeta(db, 'cookie_secret');
      if (cookieSecret === null) {
        cookieSecret = randomBytes(32).toString('base64url');
        setMeta(db, 'cookie_secret', cookieSecret);
      }
      let name = getMeta(db, 'node_name');
      if (requestedName !== undefined && requestedName !== name) {
        name = requestedName;
        setMeta(db, 'node_name', name);
      } else if (name === null) {
        name = `node-${id.slice(0, 6)}`;
        setMeta(db, 'node_name', name);
      }
      return { id, name, cookieSecret };
    })
    .immediate();
}
