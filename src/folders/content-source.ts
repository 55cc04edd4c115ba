/**
 * Where a folder's puller gets content it does not hold: a peer node (PeerClient, signed with the
 * cluster key) or, on a device, the node it syncs with (DeviceClient, bearer token). FolderSync
 * asks its sources in order and verifies whatever they send.
 */
import type { ContentFrame, FrameAllocator } from './content-frames.js';
import type { RangeSource } from './large-transfer.js';

/**
 * RangeSource: one file's content from an offset (to an end, inclusive), and a content's block
 * list (for changed-block transfers); plus many small files at once.
 */
export interface ContentSource extends RangeSource {
  /**
   * Many small files at once, in the order asked; a frame's data is null when not there. A
   * frame split across the response's chunks is gathered into a buffer from `allocate`.
   */
  folderContents(
    folder: string,
    wanted: readonly { hash: string; size: number }[],
    allocate?: FrameAllocator,
  ): AsyncIterable<ContentFrame>;
}
