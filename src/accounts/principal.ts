import type { Role } from '../oplog/op.js';

/** Who is making a request, once authenticated. */
export interface Principal {
  readonly username: string;
  readonly role: Role;
}
