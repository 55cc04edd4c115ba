/**
 * An account's access, pure: its role and whether it is disabled, each a last-writer-wins
 * register of its own (value and the HLC that set it), apart from the password's. So an admin
 * making someone an admin at one node and that person changing their password at another are
 * both kept, and so are one admin disabling an account and another promoting it.
 *
 * The role register is set by the account's creation (`user.put` without `signOut`) and by
 * `user.access`; a password change or reset never sets it. `disabled` is set by `user.access`
 * only. A register never set has the HLC '' (below every HLC) and, for the role, no value: a
 * `user.access` that arrives before the account's creation is kept as it is and folded into the
 * account when the creation arrives (`mergeAccess`), whichever order they came in.
 */
import type { Role } from '../../oplog/op.js';

export interface Access {
  /** Null: no role set yet (an access change that only disabled, before the creation). */
  readonly role: Role | null;
  readonly roleHlc: string;
  readonly disabled: boolean;
  readonly disabledHlc: string;
}

/** What one `user.access` sets; at least one of the two in practice. */
export interface AccessChange {
  readonly role?: Role | undefined;
  readonly disabled?: boolean | undefined;
}

/** Nothing set yet. */
export const NO_ACCESS: Access = { role: null, roleHlc: '', disabled: false, disabledHlc: '' };

/** The access after `change` made at `hlc`: each register it names, if `hlc` is later. */
export function applyAccess(current: Access, change: AccessChange, hlc: string): Access {
  return mergeAccess(current, {
    role: change.role ?? null,
    roleHlc: change.role === undefined ? '' : hlc,
    disabled: change.disabled ?? false,
    disabledHlc: change.disabled === undefined ? '' : hlc,
  });
}

/** Two accesses folded: each register from the side that set it later (commutative). */
export function mergeAccess(a: Access, b: Access): Access {
  const role = later(a.roleHlc, b.roleHlc) === a.roleHlc ? a : b;
  const disabled = later(a.disabledHlc, b.disabledHlc) === a.disabledHlc ? a : b;
  return {
    role: role.role,
    roleHlc: role.roleHlc,
    disabled: disabled.disabled,
    disabledHlc: disabled.disabledHlc,
  };
}

/** The later of two HLCs ('' is never later). */
function later(a: string, b: string): string {
  return b > a ? b : a;
}
