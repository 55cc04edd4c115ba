export interface NodeIdentity {
  /** Stable random id, used in HLCs and op origins. Never changes for a data directory. */
  readonly id: string;
  /** Human-readable name, shown as a picture's origin. May be changed with --name. */
  readonly name: string;
  /** Signs this node's session cookies. Stays in the data directory. */
  readonly cookieSecret: string;
}
