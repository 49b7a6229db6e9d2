import { mkdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join, parse, resolve } from "node:path";
import type { FileThumbnailResult, HandlerContext } from "@queueflow/app-kit";
import { UnrecoverableError } from "@queueflow/core";
import sharp from "sharp";
import { abortable } from "./abort.js";

export interface ThumbnailOptions {
  uploadsDir: string;
  thumbnailsDir: string;
  tempDir: string;
}

// A decompression bomb (a tiny PNG declaring 100k × 100k pixels) must not take the worker down.
const MAX_INPUT_PIXELS = 50_000_000;

/** Makes `file.thumbnail` jobs' thumbnails with sharp, written as `<name>-<w>x<h>.<format>`. */
export function createThumbnailHandler(o: ThumbnailOptions) {
  const uploads = resolve(o.uploadsDir);
  return async (job: HandlerContext<"file.thumbnail">): Promise<FileThumbnailResult> => {
    const { file, width, height, fit, format } = job.payload;
    const input = resolve(uploads, file);
    // The schema already forbids separators; this holds even if that schema is loosened.
    if (dirname(input) !== uploads)
      throw new UnrecoverableError(`"${file}" is outside the upload directory`);
    try {
      await stat(input);
    } catch {
      throw new UnrecoverableError(`No uploaded file "${file}"`);
    }
    await Promise.all([
      mkdir(o.thumbnailsDir, { recursive: true }),
      mkdir(o.tempDir, { recursive: true }),
    ]);
    const output = join(o.thumbnailsDir, `${parse(file).name}-${width}x${height}.${format}`);
    const partial = join(o.tempDir, `${job.id}.${job.attempt}.${format}.partial`);
    try {
      const info = await abortable(
        sharp(input, { limitInputPixels: MAX_INPUT_PIXELS })
          .rotate() // honour EXIF orientation before resizing
          .resize({ width, height, fit, withoutEnlargement: true })
          .toFormat(format)
          .toFile(partial),
        job.signal,
      );
      await rename(partial, output);
      return { file: output, width: info.width, height: info.height, bytes: info.size };
    } catch (err) {
      await rm(partial, { force: true });
      // sharp rejects unreadable or unsupported input with "Input file …" / "… unsupported image format".
      if (/unsupported image format|Input file|pixel limit/i.test((err as Error).message)) {
        throw new UnrecoverableError(
          `Cannot make a thumbnail of "${file}": ${(err as Error).message}`,
        );
      }
      throw err;
    }
  };
}
