// Minimal typing of the `pg` surface the bench uses (bench has no @types/pg installed).
declare module "pg" {
  export interface QueryResult<R = Record<string, unknown>> {
    rows: R[];
    rowCount: number | null;
  }
  export interface PoolConfig {
    connectionString?: string;
    max?: number;
  }
  export class Pool {
    constructor(config?: PoolConfig);
    query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
    end(): Promise<void>;
    on(event: "error", listener: (err: Error) => void): this;
  }
  const pg: { Pool: typeof Pool };
  export default pg;
}
