import type { Role } from '../oplog/op.js';

/** Who is making a request, once authenticated. */
export interface Principal {
  readonly username: string;
  readonly role: Role;
  /**
   * Set when the request came with an API token that expires (ms since the epoch): what it
   * does may not outlive it (a token it creates expires by then too). Absent for a session or
   * a token without expiry.
   */
  readonly tokenExpiresAt?: number;
}

/**
 * Whether the caller of a request still in progress would be let in now (its token or session
 * read again, with a new request's checks): asked before a long request's last step.
 */
export type AccessCheck = () => Promise<boolean>;
