import pg from 'pg';

/** Distinct statement texts this process prepares; past it (a bug generating SQL text), statements run unnamed. */
const MAX_PREPARED = 2000;
const names = new Map<string, string>();

/**
 * A pg client that runs every parameterised statement as a named prepared statement: PostgreSQL parses
 * and plans it once per connection instead of on every call. On Ferry's hot paths planning cost as
 * much server CPU as executing (row-level security adds its qualifier to every plan), so this halves
 * the database's work per message. The text is the key, so a statement is prepared at most once per
 * connection; texts without parameters (BEGIN, COMMIT, the multi-statement transaction opening) stay
 * on the simple protocol.
 */
export class PreparingClient extends pg.Client {
  // pg's overloads do not survive an override; the shapes TypeORM and Ferry call with are handled here.
  override query(...args: unknown[]): never {
    const [text, values] = args;
    if (typeof text === 'string' && Array.isArray(values) && values.length > 0) {
      const name = statementName(text);
      if (name) args = [{ name, text, values }, ...args.slice(2)];
    }
    return (super.query as (...rest: unknown[]) => never)(...args);
  }
}

function statementName(text: string): string | undefined {
  let name = names.get(text);
  if (name === undefined && names.size < MAX_PREPARED) {
    name = `ferry_${names.size + 1}`;
    names.set(text, name);
  }
  return name;
}
