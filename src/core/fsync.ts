/** Durability helpers: data reaches the disk before a rename makes it visible. */
import { open } from 'node:fs/promises';

/** Flushes a file's data (for files written without the `flush` stream option). */
export async function fsyncFile(file: string): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Flushes a directory, so that a rename into it survives a power cut. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
