/**
 * Which laptops said they hold a wanted content nowhere (DeviceService.lacking), so that a node
 * can tell when every laptop of one name has: a name is all a version's record keeps of its
 * author (`originName`), and two laptops may share one. In memory and bounded: a laptop answers
 * again at each push, and a node that restarts just waits for those answers.
 */
import { forgetOldest } from '../core/forget-oldest.js';

/** Contents remembered (the oldest answered go first). */
const KEPT = 10_000;

export class DeviceLacks {
  /** `folder\0hash` -> the device ids that lack it. */
  private readonly lacking = new Map<string, Set<string>>();

  /** Device `deviceId` lacks these contents of `folder`. */
  add(folder: string, deviceId: string, hashes: readonly string[]): void {
    for (const hash of hashes) {
      const key = `${folder}\0${hash}`;
      const ids = this.lacking.get(key) ?? new Set<string>();
      this.lacking.delete(key);
      this.lacking.set(key, ids.add(deviceId));
    }
    forgetOldest(this.lacking, KEPT);
  }

  /** Of these contents, those every one of `deviceIds` said it lacks. */
  lackedByAll(folder: string, deviceIds: readonly string[], hashes: readonly string[]): string[] {
    if (deviceIds.length === 0) return [];
    return hashes.filter((hash) => {
      const ids = this.lacking.get(`${folder}\0${hash}`);
      return ids !== undefined && deviceIds.every((id) => ids.has(id));
    });
  }
}
