import { z } from "zod";
import { defineJobType } from "./job-type.js";

/**
 * A thumbnail of an uploaded image. `file` is a name inside the worker's upload directory,
 * never a path: no separators and no leading dot, so it cannot climb out of it.
 */
export const fileThumbnail = defineJobType({
  name: "file.thumbnail",
  queue: "files",
  description: "Make a thumbnail (WebP, PNG or JPEG) of an uploaded image.",
  payload: z.strictObject({
    file: z.string().regex(/^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/),
    width: z.number().int().min(1).max(2_048).default(200),
    height: z.number().int().min(1).max(2_048).default(200),
    fit: z.enum(["cover", "contain", "inside"]).default("cover"),
    format: z.enum(["webp", "png", "jpeg"]).default("webp"),
  }),
  defaults: { priority: "normal", attempts: 3, timeoutMs: 60_000 },
});

export type FileThumbnailResult = { file: string; width: number; height: number; bytes: number };
