/** Something that provisions workers: the Autoscaler reads `current()` and calls `apply`. */
export interface Actuator {
  readonly name: string;
  /** Workers provisioned now (including ones still starting). */
  current(): number;
  /** Move toward `desired` workers. Resolves once the change is under way (or done). */
  apply(desired: number): Promise<void>;
  /** Release what the actuator holds (the process pool retires its children). */
  close?(): Promise<void>;
}
