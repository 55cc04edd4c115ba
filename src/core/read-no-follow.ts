/**
 * Opening a synced folder's file to send its bytes elsewhere (a peer, a device), after whoever
 * located it checked the path (a regular file under real directories: folders/inside-folder.ts).
 *
 * Between that check and the open, a local user may put a symbolic link at the path; opened the
 * usual way, its target (any file the node can read: outside the folder, another user's) would
 * go out under the name of the content asked for. So the open does not follow a link at the
 * last component, and does not wait on a FIFO put there (non-blocking). Neither flag exists on
 * Windows.
 */
import { constants } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { Readable } from 'node:stream';

export const READ_NO_FOLLOW =
  process.platform === 'win32'
    ? constants.O_RDONLY
    : constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW;

/** The size of a located file if it still is a regular file (not a link made since), else null. */
export async function regularFileSize(file: string): Promise<number | null> {
  const info = await lstat(file).catch(() => null);
  return info?.isFile() === true ? info.size : null;
}

/**
 * A stream of a located file's bytes (`range` inclusive, or all), opened as above. When the open
 * fails (a link put there since, the file gone) the stream errors: the response is cut short,
 * as when the file shrinks while sent, and the client fetches again.
 */
export async function readStreamNoFollow(
  file: string,
  range: { start: number; end: number } | null,
): Promise<Readable> {
  try {
    const handle = await open(file, READ_NO_FOLLOW);
    return handle.createReadStream(range ?? {});
  } catch (error) {
    return new Readable({
      read() {
        this.destroy(error as Error);
      },
    });
  }
}
