/**
 * Where a folder's puller gets content it does not hold: a peer node (PeerClient, signed with the
 * cluster key) or, on a device, the node it syncs with (DeviceClient, bearer token). FolderSync
 * asks its sources in order and verifies whatever they send.
 */
import type { Readable } from 'node:stream';
import type { ContentFrame } from './content-frames.js';

export interface ContentSource {
  /** For logs. */
  readonly baseUrl: string;
  /** One file's content from `offset` (start 0: the range was ignored); null: not there. */
  folderContent(
    folder: string,
    hash: string,
    offset: number,
  ): Promise<{ body: Readable; start: number } | null>;
  /** Many small files at once, in the order asked; a frame's data is null when not there. */
  folderContents(
    folder: string,
    wanted: readonly { hash: string; size: number }[],
  ): AsyncIterable<ContentFrame>;
}
