import pg from 'pg';
import { uuidv7 } from '#domain';
import type { FerryConfig } from '#config';
import { mintApiKey } from '#identity';

/**
 * A UUIDv7 made at `ms`, for a row written as if long ago (an outbox row the prune finds by its id's
 * time). uuidv7() itself never goes back in time within a process: asked for the past, it answers now.
 */
export function uuidv7At(ms: number): string {
  const time = Math.floor(ms).toString(16).padStart(12, '0');
  return `${time.slice(0, 8)}-${time.slice(8)}${uuidv7().slice(13)}`;
}

export interface SeededTenant {
  workspaceId: string;
  userId: string;
  memberId: string;
  /** An API key of the workspace (admin rights). */
  apiKey: string;
}

/**
 * A workspace with an owner and an API key, written straight to the database (owner connection),
 * for tests of features that need a tenant but are not about sign-up.
 */
export async function seedTenant(config: FerryConfig, name = 'Test workspace'): Promise<SeededTenant> {
  const client = new pg.Client({ connectionString: config.database.url });
  await client.connect();
  try {
    const workspaceId = uuidv7();
    const userId = uuidv7();
    const memberId = uuidv7();
    const minted = mintApiKey(workspaceId);
    await client.query('BEGIN');
    await client.query(`SELECT set_config('app.workspace_id', $1, true)`, [workspaceId]);
    await client.query('INSERT INTO workspaces (id, name) VALUES ($1, $2)', [workspaceId, name]);
    await client.query(`INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, $3, 'x')`, [
      userId,
      `owner-${userId}@example.test`,
      'Owner',
    ]);
    await client.query(`INSERT INTO members (id, workspace_id, user_id, role) VALUES ($1, $2, $3, 'owner')`, [
      memberId,
      workspaceId,
      userId,
    ]);
    await client.query(
      `INSERT INTO api_keys (id, workspace_id, name, prefix, key_hash, created_by) VALUES ($1, $2, 'test', $3, $4, $5)`,
      [uuidv7(), workspaceId, minted.prefix, minted.hash, memberId],
    );
    await client.query('COMMIT');
    return { workspaceId, userId, memberId, apiKey: minted.key };
  } finally {
    await client.end();
  }
}
