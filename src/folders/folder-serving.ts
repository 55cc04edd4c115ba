/**
 * What one synced folder serves to its peers and devices (FolderSync): a file here with a given
 * content, a batch of small contents (the bytes a scan just hashed when it still has them, else
 * a file opened below the folder's root), and a content's block list.
 */
import type { BlockList } from './blocks.js';
import { FolderBeneath } from './beneath.js';
import type { OpenFile, Scratch } from './content-frames.js';
import type { LocalContent } from './local-content.js';
import type { RecentContent } from './recent-content.js';

/** The bytes or a file of each content of a peer's batch (`FolderServing.smallContents`). */
export type SmallContentLocator = (
  hash: string,
  scratch?: Scratch,
) => Promise<string | Buffer | OpenFile | null>;

export class FolderServing {
  /** Files served, opened below the root (beneath.ts); its descriptor closed after 1 s unused. */
  private readonly served: FolderBeneath;

  constructor(
    private readonly id: string,
    private readonly root: string,
    private readonly local: LocalContent,
    /** Small files just hashed by a scan, served without reading them again. */
    private readonly recent: RecentContent,
  ) {
    this.served = new FolderBeneath(root, 1000);
  }

  /** The block list of a content this node has on disk as its version (LocalContent). */
  blocksFor(hash: string): Promise<BlockList | null> {
    return this.local.blockList(this.id, this.root, hash);
  }

  /** A file here with this content, for a peer to fetch (null: none). */
  async contentFor(hash: string): Promise<string | null> {
    return (await this.local.find(this.id, this.root, hash))?.file ?? null;
  }

  /**
   * For a peer's batch of small files: answers each of `hashes` with its bytes when a scan just
   * hashed them (copied into what `scratch` gives, content-frames.ts), else a file (or null).
   * The indexed paths of all those not in the ring are looked up first in one query, not one
   * read transaction per file; one that leaves the ring meanwhile is looked up on its own.
   */
  smallContents(hashes: readonly string[]): SmallContentLocator {
    const inRing = new Set(hashes.filter((hash) => this.recent.has(hash)));
    const copies = this.local.copiesOf(
      this.id,
      hashes.filter((hash) => !inRing.has(hash)),
    );
    return async (hash, scratch) => {
      const bytes = this.recent.get(hash, scratch);
      if (bytes !== null) return bytes;
      const known = copies.get(hash) ?? (inRing.has(hash) ? undefined : []);
      return this.local.openCopy(this.id, this.root, hash, this.served, known);
    };
  }

  close(): void {
    this.recent.clear();
    this.served.close();
  }
}
