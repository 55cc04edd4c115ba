/**
 * A zip of pictures' originals, streamed: each file is opened only when the zip reaches it (one
 * open blob at a time, whatever the number of pictures), stored without compression (photos are
 * compressed already, and a known size gives the download a Content-Length and a progress bar).
 * yazl writes ZIP64 records by itself past 4 GB or 65535 entries; it is loaded at the first zip
 * (not at the node's start).
 */
import { PassThrough, type Readable } from 'node:stream';

export interface ZipEntry {
  readonly name: string;
  readonly size: number;
  readonly mtime: Date;
  open(): Promise<Readable>;
}

export interface PictureZip {
  readonly stream: Readable;
  /** The zip's exact length in bytes. */
  readonly size: number;
}

export async function zipPictures(entries: readonly ZipEntry[]): Promise<PictureZip> {
  const { ZipFile } = await import('yazl');
  const zip = new ZipFile();
  for (const entry of entries) {
    zip.addReadStreamLazy(
      entry.name,
      { size: entry.size, mtime: entry.mtime, compress: false },
      (callback) => {
        entry.open().then(
          (stream) => {
            stream.once('error', (error: Error) => zip.emit('error', error));
            callback(null, stream);
          },
          (error: unknown) => {
            callback(error, new PassThrough());
          },
        );
      },
    );
  }
  let size = -1;
  zip.end(undefined, ((total: number) => {
    size = total;
  }) as () => void);
  const stream = new PassThrough();
  zip.outputStream.pipe(stream);
  // A file that fails mid-way (its bytes gone) ends the download with an error, not a zip
  // that looks whole.
  zip.on('error', (error: Error) => stream.destroy(error));
  if (size < 0) throw new Error('zip size unknown: every entry needs its size');
  return { stream, size };
}
