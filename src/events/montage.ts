/**
 * Builds montage images with sharp: version v is photos 1..v laid out by core/montage-layout.ts,
 * each photo scaled to cover its cell (EXIF rotation applied), on a white background, JPEG.
 * The inputs (the photos, in commit order) and the settings are the same at every site, so
 * every site builds the same picture. Files are cached as `<dir>/<event>/<v>.jpg`.
 */
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import { montageLayout } from './core/montage-layout.js';

export class MontageBuilder {
  private readonly building = new Map<string, Promise<string>>();

  constructor(private readonly dir: string) {}

  path(eventId: string, version: number): string {
    return join(this.dir, eventId, `${version}.jpg`);
  }

  /** The montage file for this version, built once (concurrent callers share the build). */
  async get(eventId: string, version: number, photoFiles: readonly string[]): Promise<string> {
    const target = this.path(eventId, version);
    if (await exists(target)) return target;
    const key = `${eventId}/${version}`;
    let pending = this.building.get(key);
    if (pending === undefined) {
      pending = buildMontage(photoFiles, target).finally(() => this.building.delete(key));
      this.building.set(key, pending);
    }
    return pending;
  }
}

/** Writes the montage of `photoFiles` (in order) to `target`, atomically. */
export async function buildMontage(photoFiles: readonly string[], target: string): Promise<string> {
  const layout = montageLayout(photoFiles.length);
  const tiles = await Promise.all(
    layout.cells.map(async (cell) => {
      const file = photoFiles[cell.index] ?? '';
      const input = await sharp(file, { failOn: 'none' })
        .rotate()
        .resize({ width: cell.width, height: cell.height, fit: 'cover', position: 'centre' })
        .removeAlpha()
        .toBuffer();
      return { input, left: cell.left, top: cell.top };
    }),
  );
  await mkdir(join(target, '..'), { recursive: true });
  const tmp = `${target}.${randomUUID()}.tmp`;
  try {
    await sharp({
      create: {
        width: layout.width,
        height: layout.height,
        channels: 3,
        background: { r: 255, g: 255, b: 255 },
      },
    })
      .composite(tiles)
      .jpeg({ quality: 85 })
      .toFile(tmp);
    await rename(tmp, target);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  return target;
}

async function exists(file: string): Promise<boolean> {
  return (await stat(file).catch(() => null)) !== null;
}
