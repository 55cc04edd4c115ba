/**
 * Who may sync which folder from a device. The rule, kept deliberately simple: an administrator
 * may use every folder of the node; any other account only the folders it is listed for with
 * `--folder-user FOLDER=USER` (repeatable, env MOSAIC_FOLDER_USERS). Everyone else is told the
 * folder does not exist (404), so a second account learns nothing about the first one's folders.
 * Names are compared ignoring case, as at sign-in (`--folder-user docs=Alice` is the account
 * "alice"); a grant for a folder the node does not sync is refused at start (`assertFolders`).
 */
import type { Principal } from '../accounts/principal.js';

export class FolderAccess {
  private readonly grants = new Map<string, Set<string>>();

  /** `FOLDER=USER` entries. */
  constructor(specs: readonly string[] = []) {
    for (const spec of specs) {
      const eq = spec.indexOf('=');
      if (eq <= 0 || eq === spec.length - 1) {
        throw new Error(`--folder-user wants FOLDER=USER, not "${spec}".`);
      }
      const folder = spec.slice(0, eq);
      const users = this.grants.get(folder) ?? new Set<string>();
      users.add(spec.slice(eq + 1).toLowerCase());
      this.grants.set(folder, users);
    }
  }

  canUse(principal: Principal, folder: string): boolean {
    return (
      principal.role === 'admin' ||
      this.grants.get(folder)?.has(principal.username.toLowerCase()) === true
    );
  }

  /**
   * Grants that give nothing as the accounts stand now, one sentence each (for the start-up
   * log): a name that is no account here (yet: accounts replicate, or one may be added later)
   * and an admin's (admins use every folder already).
   */
  async doubts(
    findUser: (name: string) => Promise<{ readonly role: string } | null>,
  ): Promise<string[]> {
    const lines: string[] = [];
    for (const [folder, users] of this.grants) {
      for (const user of users) {
        const account = await findUser(user);
        if (account === null) {
          lines.push(
            `--folder-user ${folder}=${user}: there is no account "${user}" here (yet); the grant applies once there is.`,
          );
        } else if (account.role === 'admin') {
          lines.push(
            `--folder-user ${folder}=${user}: "${user}" is an admin, who may use every folder already.`,
          );
        }
      }
    }
    return lines;
  }

  /** Throws, naming the node's folders, when a grant names a folder this node does not sync. */
  assertFolders(synced: Iterable<string>): void {
    const known = [...synced];
    for (const folder of this.grants.keys()) {
      if (known.includes(folder)) continue;
      const these = known.length === 0 ? 'it syncs none' : `its folders: ${known.join(', ')}`;
      throw new Error(
        `--folder-user ${folder}=…: this node syncs no folder "${folder}" (${these}).`,
      );
    }
  }
}
