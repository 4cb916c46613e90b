import pg from 'pg';

/** Distinct statement texts this process prepares; past it (a bug generating SQL text), statements run unnamed. */
const MAX_PREPARED = 2000;
const names = new Map<string, string>();

/** pg's client as far as this file drives it: its pipeline switch and its socket (neither typed). */
interface PgInternals {
  pipeline: boolean;
  connection: { stream: { cork(): void; uncork(): void } };
}

/**
 * A pg client that runs every parameterised statement as a named prepared statement: PostgreSQL parses
 * and plans it once per connection instead of on every call. On Ferry's hot paths planning cost as
 * much server CPU as executing (row-level security adds its qualifier to every plan), so this halves
 * the database's work per message. The text is the key, so a statement is prepared at most once per
 * connection; texts without parameters (BEGIN, COMMIT, the multi-statement transaction opening) stay
 * on the simple protocol.
 *
 * It also saves round trips at a transaction's edges (TenantDb). A write to the database costs far
 * more CPU than most hot-path statements on both ends (it wakes the server's process), so:
 * - `openWith(opening)`: the opening (START TRANSACTION and the tenant setting) is not sent on its own
 *   but in one write with the transaction's first statement (pipelined, each with its own sync; the
 *   first statement's answer comes after the opening's). A transaction that ends with no statement
 *   sent nothing, and its COMMIT or ROLLBACK sends nothing either.
 * - `commitWith(statements)`: the transaction's last statements go in one write with its COMMIT (and
 *   with the opening too when nothing was sent yet: a transaction of those statements alone is one write).
 */
export class PreparingClient extends pg.Client {
  private opening: string | undefined;

  openWith(opening: string): void {
    this.opening = opening;
  }

  // pg's overloads do not survive an override; the shapes TypeORM and Ferry call with are handled here.
  override query(...args: unknown[]): never {
    const text = args[0];
    if (this.opening) {
      const opening = this.opening;
      this.opening = undefined;
      // The transaction had no statement: it never reached the server, nor does its end.
      if (text === 'COMMIT' || text === 'ROLLBACK') return Promise.resolve({ command: text, rowCount: null, rows: [], fields: [] }) as never;
      return this.pipelined(opening, prepared(args)) as never;
    }
    return (super.query as (...rest: unknown[]) => never)(...prepared(args));
  }

  /**
   * Ends the transaction with `statements` and its COMMIT in one write (with the opening in front when
   * nothing was sent yet): answers each statement's result. If one fails, the server ends the
   * transaction at that COMMIT with a rollback, and this throws its error.
   */
  async commitWith(statements: Array<[string, unknown[]]>): Promise<unknown[]> {
    const opening = this.opening;
    this.opening = undefined;
    const results = await Promise.allSettled(this.together([...(opening ? [[opening]] : []), ...statements.map(prepared), ['COMMIT']]));
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    return results.slice(opening ? 1 : 0, -1).map((result) => (result as PromiseFulfilledResult<unknown>).value);
  }

  /** The opening and the transaction's first statement, in one write; answers the statement's result. */
  private async pipelined(opening: string, statement: unknown[]): Promise<unknown> {
    // Every answer is awaited: the caller's next statement is sent one at a time again.
    const [open, result] = await Promise.allSettled(this.together([[opening], statement]));
    if (open!.status === 'rejected') throw open!.reason;
    if (result!.status === 'rejected') throw result!.reason;
    return result!.value;
  }

  /**
   * Sends the calls in one write, pipelined (each with its own sync; answered in order), and goes back
   * to one query at a time once every answer is in (pg routes answers by what it sent).
   */
  private together(calls: unknown[][]): Array<Promise<unknown>> {
    const self = this as unknown as PgInternals;
    self.pipeline = true;
    self.connection.stream.cork();
    let sent: Array<Promise<unknown>>;
    try {
      sent = calls.map((call) => (super.query as (...rest: unknown[]) => Promise<unknown>)(...call));
    } finally {
      self.connection.stream.uncork();
    }
    void Promise.allSettled(sent).then(() => (self.pipeline = false));
    return sent;
  }
}

/** The call with a parameterised text turned into a named prepared statement. */
function prepared(args: unknown[]): unknown[] {
  const [text, values] = args;
  if (typeof text === 'string' && Array.isArray(values) && values.length > 0) {
    const name = statementName(text);
    if (name) return [{ name, text, values }, ...args.slice(2)];
  }
  return args;
}

function statementName(text: string): string | undefined {
  let name = names.get(text);
  if (name === undefined && names.size < MAX_PREPARED) {
    name = `ferry_${names.size + 1}`;
    names.set(text, name);
  }
  return name;
}
