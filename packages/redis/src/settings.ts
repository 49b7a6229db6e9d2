import { checkSettingsPatch, type QueueSettings, type RateLimit } from "@queueflow/core";

/** The settings hash fields, in the order the update-settings script returns them. */
export const SETTINGS_FIELDS = ["paused", "conc", "rlMax", "rlWin", "gconc", "grlMax", "grlWin"];

function count(value: string | null | undefined): number | null {
  return value === null || value === undefined ? null : Number(value);
}

function rate(max: string | null | undefined, windowMs: string | null | undefined) {
  return max === null || max === undefined
    ? null
    : { max: Number(max), windowMs: Number(windowMs) };
}

/** Settings from the hash fields ({@link SETTINGS_FIELDS}); group fields only when set. */
export function decodeSettings(reply: unknown): QueueSettings {
  if (!Array.isArray(reply)) throw new Error("Unexpected reply from the settings script.");
  const [paused, conc, rlMax, rlWin, gconc, grlMax, grlWin] = reply as (string | null)[];
  const settings: QueueSettings = {
    paused: paused === "1",
    concurrency: count(conc),
    rateLimit: rate(rlMax, rlWin),
  };
  const groupConcurrency = count(gconc);
  if (groupConcurrency !== null) settings.groupConcurrency = groupConcurrency;
  const groupRateLimit = rate(grlMax, grlWin);
  if (groupRateLimit !== null) settings.groupRateLimit = groupRateLimit;
  return settings;
}

function countArg(value: number | null | undefined): string {
  return value === undefined ? "" : value === null ? "null" : String(value);
}

function rateArgs(limit: RateLimit | null | undefined): [string, string] {
  if (limit === undefined) return ["", ""];
  if (limit === null) return ["null", ""];
  return [String(limit.max), String(Math.ceil(limit.windowMs))];
}

/** The update-settings script's ARGV for a patch (see lua/update-settings-4.lua), checked. */
export function settingsArgs(patch: Partial<QueueSettings>): string[] {
  checkSettingsPatch(patch);
  const { paused } = patch;
  return [
    paused === undefined ? "" : paused ? "1" : "0",
    countArg(patch.concurrency),
    ...rateArgs(patch.rateLimit),
    countArg(patch.groupConcurrency),
    ...rateArgs(patch.groupRateLimit),
  ];
}
