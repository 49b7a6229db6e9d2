/** Every library the bench can run, by the name the report gives it (variant included). */
import type { Library, StoreName, Variant } from "./common.js";
import { agendaLibrary } from "./peers/agenda.js";
import { bullmqLibrary } from "./peers/bullmq.js";
import { graphileWorkerLibrary } from "./peers/graphile-worker.js";
import { pgBossLibrary } from "./peers/pg-boss.js";
import { sidequestLibrary } from "./peers/sidequest.js";
import { queueflowLibrary } from "./queueflow.js";

type Make = (store: StoreName, url: string, variant: Variant) => Promise<Library>;

/** Base name → stores it runs on and how to build it; `--peers` takes these names. */
export const LIBRARIES: Record<string, { stores: StoreName[]; variants: Variant[]; make: Make }> = {
  QueueFlow: {
    stores: ["redis", "postgres", "mongo"],
    variants: ["best", "defaults"],
    make: queueflowLibrary,
  },
  BullMQ: {
    stores: ["redis"],
    variants: ["best", "defaults"],
    make: (_store, url, variant) => bullmqLibrary(url, variant),
  },
  "pg-boss": {
    stores: ["postgres"],
    variants: ["best", "defaults"],
    make: (_store, url, variant) => pgBossLibrary(url, variant),
  },
  "graphile-worker": {
    stores: ["postgres"],
    variants: ["best", "defaults"],
    make: (_store, url, variant) => graphileWorkerLibrary(url, variant),
  },
  Sidequest: {
    stores: ["postgres"],
    variants: ["best", "defaults"],
    make: (_store, url, variant) => sidequestLibrary(url, variant),
  },
  // Agenda has no throughput settings to tune beyond its concurrency: one row.
  Agenda: { stores: ["mongo"], variants: ["defaults"], make: (_s, url) => agendaLibrary(url) },
};

/** The library a report name ("BullMQ", "pg-boss (defaults)") stands for. */
export async function libraryByName(name: string, store: StoreName, url: string): Promise<Library> {
  const variant: Variant = name.endsWith(" (defaults)") ? "defaults" : "best";
  const base = name.replace(/ \(defaults\)$/, "");
  const entry = LIBRARIES[base];
  if (entry === undefined || !entry.stores.includes(store)) {
    throw new Error(`bench: no library ${name} on ${store}`);
  }
  return entry.make(store, url, variant);
}

/** QueueFlow first (the reference of every ratio), then the peers asked for, each variant. */
export async function librariesFor(
  store: StoreName,
  url: string,
  peers: ReadonlySet<string>,
): Promise<Library[]> {
  const libs: Library[] = [];
  for (const [base, entry] of Object.entries(LIBRARIES)) {
    if (!entry.stores.includes(store)) continue;
    if (base !== "QueueFlow" && !peers.has(base)) continue;
    for (const variant of entry.variants) libs.push(await entry.make(store, url, variant));
  }
  return libs;
}
