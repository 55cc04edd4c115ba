/**
 * Which `user.put` holds an account's password, pure. A put is one of three claims:
 *
 * - `create`: an account added by an admin or the CLI (also sets the role: core/access.ts);
 * - `change`: a password change or reset (`signOut`: the account's sessions end where it wins);
 * - `seed`: the `admin` account a node creates at its first start, before it can know whether
 *   the cluster it joins already has one.
 *
 * Creations and changes are last-writer-wins by HLC. A seed is the weakest claim: any creation
 * or change holds over it, whatever their HLCs, and among seeds the **earliest** holds, so a
 * node that joins a cluster never replaces the admin password the cluster already has (its
 * own first node's seed, or the password its admin chose since), at any node, in any order
 * the puts arrive in.
 */
export type PasswordClaim = 'create' | 'change' | 'seed';

/** The password as an account row holds it: the HLC of the put that set it, and if a seed. */
export interface HeldPassword {
  readonly hlc: string;
  readonly seeded: boolean;
}

/** Whether a put of `claim` at `hlc` takes the password over from what `held` says. */
export function passwordPutWins(held: HeldPassword, claim: PasswordClaim, hlc: string): boolean {
  const seed = claim === 'seed';
  if (held.seeded !== seed) return held.seeded;
  return seed ? hlc < held.hlc : hlc > held.hlc;
}
