import { QueueFlowError } from "@queueflow/core";

/** Schema names the adapter accepts: lowercase, so they never need case-sensitive quoting. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** The default schema. */
export const DEFAULT_SCHEMA = "queueflow";

/**
 * The adapter's SQL names, built once from a validated schema name. Statement text only ever
 * embeds these; every value (queue names included) is a bound parameter.
 */
export interface Schema {
  /** The schema name as given, e.g. `queueflow`. */
  readonly name: string;
  /** The quoted schema, e.g. `"queueflow"`. */
  readonly quoted: string;
  readonly jobs: string;
  readonly queues: string;
  readonly schedules: string;
  /** Group turns and counters: see 0003_groups. */
  readonly groups: string;
  readonly migrations: string;
  /** Dead jobs per (queue, job name, latest error name and class): see 0002_dead_letters. */
  readonly deadLetterCounts: string;
  /** Dead jobs per (queue, finish hour). */
  readonly deadLetterHours: string;
  readonly stateSeq: string;
  readonly activeCount: string;
  /** The LISTEN/NOTIFY channel name, e.g. `qf_queueflow`. */
  readonly channel: string;
  /** The channel as a SQL string literal, for pg_notify. */
  readonly channelLiteral: string;
  /** The channel as an identifier for LISTEN. */
  readonly channelIdent: string;
}

/**
 * Validate and quote a schema name.
 * @throws QueueFlowError `QF_INVALID_ARGUMENT` for a name outside `[a-z_][a-z0-9_]{0,62}`.
 */
export function schemaOf(name: string = DEFAULT_SCHEMA): Schema {
  if (typeof name !== "string" || !SCHEMA_NAME.test(name)) {
    throw new QueueFlowError(
      "QF_INVALID_ARGUMENT",
      `Invalid schema name ${JSON.stringify(name)}: use 1–63 characters of a–z, 0–9 and _, not starting with a digit.`,
    );
  }
  const quoted = `"${name}"`;
  // Channel names are identifiers of at most 63 bytes; two schemas sharing a 60-character
  // prefix would only wake each other's waiters spuriously.
  const channel = `qf_${name}`.slice(0, 63);
  return {
    name,
    quoted,
    jobs: `${quoted}.jobs`,
    queues: `${quoted}.queues`,
    schedules: `${quoted}.schedules`,
    groups: `${quoted}.groups`,
    migrations: `${quoted}.migrations`,
    deadLetterCounts: `${quoted}.dead_letter_counts`,
    deadLetterHours: `${quoted}.dead_letter_hours`,
    stateSeq: `'${quoted}.state_seq'`,
    activeCount: `${quoted}.active_count`,
    channel,
    channelLiteral: `'${channel}'`,
    channelIdent: `"${channel}"`,
  };
}
