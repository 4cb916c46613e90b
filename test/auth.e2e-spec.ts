import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { uuidv7 } from '#domain';
import { deriveAccessTokenKey, signAccessToken } from '#identity';
import { ApiHarness } from '#testing';

const PASSWORD = 'correct horse battery';
let nextIp = 1;
/** Each caller its own client address (the API trusts X-Forwarded-For), so throttles stay apart. */
const fromIp = (): Record<string, string> => ({ 'x-forwarded-for': `198.51.100.${nextIp++}` });

interface Session {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  user: { id: string; name: string; email: string };
  workspace: { id: string; name: string };
  member: { id: string; role: string };
}

describe('identity and access over HTTP', () => {
  let api: ApiHarness;
  let owner: pg.Client;
  // Lan signs up (workspace Mekong), Bao signs up (workspace Andaman) and invites Lan as an agent.
  let lan: Session;
  let bao: Session;

  const count = async (table: string): Promise<number> =>
    (await owner.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;

  async function signup(workspaceName: string, name: string, email: string): Promise<Session> {
    const response = await api.request('POST', '/v1/auth/signup', { body: { workspaceName, name, email, password: PASSWORD } });
    expect(response.status).toBe(201);
    return response.body;
  }

  async function login(email: string, password = PASSWORD, extra: Record<string, unknown> = {}) {
    return api.request('POST', '/v1/auth/login', { body: { email, password, ...extra }, headers: fromIp() });
  }

  beforeAll(async () => {
    api = await ApiHarness.start();
    owner = new pg.Client({ connectionString: api.config.database.url });
    await owner.connect();
  });
  afterAll(async () => {
    await owner?.end();
    await api?.close();
  });

  describe('sign-up, me, login', () => {
    it('signs up: one user, one workspace, its owner, and a token pair', async () => {
      const before = await count('users');
      lan = await signup('Mekong Tours', 'Lan', 'Lan@Mekong.example');
      expect(lan).toMatchObject({
        accessToken: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
        refreshToken: expect.stringMatching(/^frr_/),
        expiresIn: 900,
        user: { id: expect.any(String), name: 'Lan', email: 'lan@mekong.example' },
        workspace: { id: expect.any(String), name: 'Mekong Tours' },
        member: { id: expect.any(String), role: 'owner' },
      });
      expect(await count('users')).toBe(before + 1);
      const { rows } = await owner.query(
        `SELECT m.role, w.name FROM members m JOIN workspaces w ON w.id = m.workspace_id WHERE m.user_id = $1`,
        [lan.user.id],
      );
      expect(rows).toEqual([{ role: 'owner', name: 'Mekong Tours' }]);
      const stored = await owner.query(`SELECT token_hash FROM refresh_tokens WHERE user_id = $1`, [lan.user.id]);
      expect(stored.rows).toHaveLength(1);
      expect(stored.rows[0].token_hash).not.toContain(lan.refreshToken.slice(4));
      const hash = await owner.query(`SELECT password_hash FROM users WHERE id = $1`, [lan.user.id]);
      expect(hash.rows[0].password_hash).toMatch(/^scrypt\$/);
    });

    it('refuses a second account for the same email, whatever its case, and writes nothing', async () => {
      const users = await count('users');
      const workspaces = await count('workspaces');
      const again = await api.request('POST', '/v1/auth/signup', {
        body: { workspaceName: 'Copy', name: 'Lan 2', email: 'LAN@mekong.EXAMPLE', password: PASSWORD },
      });
      expect(again.status).toBe(409);
      expect(again.body.code).toBe('auth.email_taken');
      expect(await count('users')).toBe(users);
      expect(await count('workspaces')).toBe(workspaces);
    });

    it('answers /v1/me for a user token', async () => {
      const me = await api.request('GET', '/v1/me', { token: lan.accessToken });
      expect(me.status).toBe(200);
      expect(me.body).toEqual({
        user: lan.user,
        workspace: lan.workspace,
        member: lan.member,
        workspaces: [{ id: lan.workspace.id, name: 'Mekong Tours', role: 'owner' }],
      });
    });

    it('logs in (email in any case) without the per-caller rate limit headers', async () => {
      const response = await login('LAN@mekong.example');
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ user: lan.user, workspace: lan.workspace, member: lan.member, expiresIn: 900 });
      expect(response.headers.get('ratelimit-limit')).toBeNull();
      expect((await api.request('GET', '/v1/me', { token: response.body.accessToken })).status).toBe(200);
    });

    it('answers a wrong password and an unknown email the same way', async () => {
      const wrong = await login('lan@mekong.example', 'wrong password!');
      const unknown = await login('nobody@mekong.example', PASSWORD);
      for (const response of [wrong, unknown]) {
        expect(response.status).toBe(401);
        expect(response.body).toMatchObject({ code: 'auth.invalid_credentials', detail: 'The email or password is wrong' });
      }
      expect(wrong.body).toEqual(unknown.body);
    });
  });

  describe('refresh tokens', () => {
    it('rotates on every refresh; reusing an old token revokes the whole family', async () => {
      const first = (await login('lan@mekong.example')).body as Session;
      const second = await api.request('POST', '/v1/auth/refresh', { body: { refreshToken: first.refreshToken } });
      expect(second.status).toBe(200);
      expect(second.body).toMatchObject({ user: lan.user, workspace: lan.workspace, member: lan.member });
      expect(second.body.refreshToken).not.toBe(first.refreshToken);
      expect((await api.request('GET', '/v1/me', { token: second.body.accessToken })).status).toBe(200);
      const third = await api.request('POST', '/v1/auth/refresh', { body: { refreshToken: second.body.refreshToken } });
      expect(third.status).toBe(200);

      const family = await owner.query(
        `SELECT used_at IS NOT NULL AS used, revoked_at IS NOT NULL AS revoked FROM refresh_tokens
         WHERE family_id = (SELECT family_id FROM refresh_tokens ORDER BY created_at DESC LIMIT 1) ORDER BY created_at`,
      );
      expect(family.rows).toEqual([
        { used: true, revoked: false },
        { used: true, revoked: false },
        { used: false, revoked: false },
      ]);

      const reused = await api.request('POST', '/v1/auth/refresh', { body: { refreshToken: first.refreshToken } });
      expect(reused.status).toBe(401);
      expect(reused.body.code).toBe('auth.refresh_reused');
      const newest = await api.request('POST', '/v1/auth/refresh', { body: { refreshToken: third.body.refreshToken } });
      expect(newest.status).toBe(401);
      expect(newest.body.code).toBe('auth.invalid_refresh_token');
      // Lan's other sessions (other families) are untouched.
      expect((await api.request('POST', '/v1/auth/refresh', { body: { refreshToken: lan.refreshToken } })).status).toBe(200);
    });

    it.each([`frr_${'A'.repeat(43)}`, 'not-a-token'])('refuses unknown refresh token %j', async (refreshToken) => {
      const response = await api.request('POST', '/v1/auth/refresh', { body: { refreshToken } });
      expect(response.status).toBe(401);
      expect(response.body.code).toBe('auth.invalid_refresh_token');
    });
  });

  describe('invitations and switching workspace', () => {
    let lanInAndaman: Session;

    it('invites an existing user, who accepts with their password and gets a token pair for that workspace', async () => {
      bao = await signup('Andaman Dive', 'Bao', 'bao@andaman.example');
      const invitation = await api.request('POST', '/v1/invitations', {
        token: bao.accessToken,
        body: { email: 'LAN@mekong.example', role: 'agent' },
      });
      expect(invitation.status).toBe(201);
      expect(invitation.body).toMatchObject({ email: 'lan@mekong.example', role: 'agent', token: expect.stringMatching(/^fri_/) });
      expect(Date.parse(invitation.body.expiresAt) - Date.now()).toBeGreaterThan(6 * 86_400_000);
      const stored = await owner.query(`SELECT token_hash FROM invitations WHERE id = $1`, [invitation.body.id]);
      expect(stored.rows[0].token_hash).not.toContain(invitation.body.token.slice(4));

      const path = `/v1/invitations/${invitation.body.token}/accept`;
      const wrong = await api.request('POST', path, { body: { password: 'not lan password' }, headers: fromIp() });
      expect(wrong.status).toBe(401);
      expect(wrong.body.code).toBe('auth.invalid_credentials');

      const accepted = await api.request('POST', path, { body: { password: PASSWORD }, headers: fromIp() });
      expect(accepted.status).toBe(200);
      expect(accepted.body).toMatchObject({ user: lan.user, workspace: bao.workspace, member: { role: 'agent' } });
      lanInAndaman = accepted.body;
      const again = await api.request('POST', path, { body: { password: PASSWORD }, headers: fromIp() });
      expect(again.status).toBe(404);
      expect(again.body.code).toBe('invitation.not_found');
    });

    it('refuses to invite a member again', async () => {
      const response = await api.request('POST', '/v1/invitations', { token: bao.accessToken, body: { email: 'lan@mekong.example', role: 'admin' } });
      expect(response.status).toBe(409);
      expect(response.body.code).toBe('invitation.already_member');
    });

    it('creates the account of a new invitee, who must give a name', async () => {
      const invitation = await api.request('POST', '/v1/invitations', { token: bao.accessToken, body: { email: 'mai@andaman.example', role: 'admin' } });
      const path = `/v1/invitations/${invitation.body.token}/accept`;
      const users = await count('users');
      const nameless = await api.request('POST', path, { body: { password: PASSWORD } });
      expect(nameless.status).toBe(400);
      expect(nameless.body.errors).toEqual([expect.objectContaining({ field: 'name' })]);
      expect(await count('users')).toBe(users);
      const accepted = await api.request('POST', path, { body: { name: 'Mai', password: PASSWORD } });
      expect(accepted.status).toBe(200);
      expect(accepted.body).toMatchObject({ user: { name: 'Mai', email: 'mai@andaman.example' }, member: { role: 'admin' } });
      expect(await count('users')).toBe(users + 1);
      expect((await login('mai@andaman.example')).body.workspace).toEqual(bao.workspace);
    });

    it.each([`fri_${'A'.repeat(65)}`, 'nonsense', `fry_${'A'.repeat(65)}`])('answers 404 for invitation token %j', async (token) => {
      const response = await api.request('POST', `/v1/invitations/${token}/accept`, { body: { name: 'X', password: PASSWORD } });
      expect(response.status).toBe(404);
      expect(response.body.code).toBe('invitation.not_found');
    });

    it('lists both workspaces in /me and switches between them', async () => {
      const me = await api.request('GET', '/v1/me', { token: lan.accessToken });
      expect(me.body.workspaces).toEqual([
        { id: lan.workspace.id, name: 'Mekong Tours', role: 'owner' },
        { id: bao.workspace.id, name: 'Andaman Dive', role: 'agent' },
      ]);
      const toAndaman = await api.request('POST', '/v1/auth/switch', { token: lan.accessToken, body: { workspaceId: bao.workspace.id } });
      expect(toAndaman.status).toBe(200);
      expect(toAndaman.body).toMatchObject({ workspace: bao.workspace, member: { id: lanInAndaman.member.id, role: 'agent' } });
      const meThere = await api.request('GET', '/v1/me', { token: toAndaman.body.accessToken });
      expect(meThere.body).toMatchObject({ workspace: bao.workspace, member: { role: 'agent' } });
      const back = await api.request('POST', '/v1/auth/switch', { token: toAndaman.body.accessToken, body: { workspaceId: lan.workspace.id } });
      expect(back.status).toBe(200);
      expect(back.body).toMatchObject({ workspace: lan.workspace, member: { role: 'owner' } });
      // Login can pick the workspace too.
      expect((await login('lan@mekong.example', PASSWORD, { workspaceId: bao.workspace.id })).body.workspace).toEqual(bao.workspace);
    });

    it('refuses to switch to a workspace the user is not a member of', async () => {
      for (const workspaceId of [uuidv7(), (await signup('Elsewhere', 'Chi', 'chi@elsewhere.example')).workspace.id]) {
        const response = await api.request('POST', '/v1/auth/switch', { token: lan.accessToken, body: { workspaceId } });
        expect(response.status).toBe(404);
        expect(response.body.code).toBe('workspace.not_found');
      }
    });

    it('gives an agent 403 on creating API keys and invitations', async () => {
      for (const [path, body] of [
        ['/v1/api-keys', { name: 'sneaky' }],
        ['/v1/invitations', { email: 'friend@example.test', role: 'agent' }],
      ] as const) {
        const response = await api.request('POST', path, { token: lanInAndaman.accessToken, body });
        expect(response.status).toBe(403);
        expect(response.body.code).toBe('auth.forbidden');
      }
      expect((await owner.query(`SELECT 1 FROM api_keys WHERE name = 'sneaky'`)).rowCount).toBe(0);
    });
  });

  describe('members', () => {
    it('lists members with a keyset cursor', async () => {
      const first = await api.request('GET', '/v1/members?limit=2', { token: bao.accessToken });
      expect(first.status).toBe(200);
      expect(first.body.data.map((m: { name: string }) => m.name)).toEqual(['Bao', 'Lan']);
      expect(first.body.data[0]).toEqual({
        id: bao.member.id,
        userId: bao.user.id,
        name: 'Bao',
        email: 'bao@andaman.example',
        role: 'owner',
        languages: [],
        capacity: 10,
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      });
      const next = await api.request('GET', `/v1/members?limit=2&cursor=${first.body.nextCursor}`, { token: bao.accessToken });
      expect(next.body).toMatchObject({ data: [{ name: 'Mai', role: 'admin' }], nextCursor: null });
      const bad = await api.request('GET', '/v1/members?cursor=garbage', { token: bao.accessToken });
      expect(bad.status).toBe(400);
    });

    it('lets an owner change a member; the new role shows after refresh', async () => {
      const lanRow = (await api.request('GET', '/v1/members', { token: bao.accessToken })).body.data.find((m: { name: string }) => m.name === 'Lan');
      const patched = await api.request('PATCH', `/v1/members/${lanRow.id}`, {
        token: bao.accessToken,
        body: { role: 'admin', languages: ['vi', 'en', 'vi'], capacity: 4 },
      });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ id: lanRow.id, role: 'admin', languages: ['vi', 'en'], capacity: 4 });
      const lanAdmin = (await login('lan@mekong.example', PASSWORD, { workspaceId: bao.workspace.id })).body as Session;
      expect(lanAdmin.member.role).toBe('admin');

      // An admin cannot touch an owner, nor make one.
      const touchOwner = await api.request('PATCH', `/v1/members/${bao.member.id}`, { token: lanAdmin.accessToken, body: { capacity: 1 } });
      expect(touchOwner.status).toBe(403);
      expect(touchOwner.body.code).toBe('member.role_forbidden');
      const mai = (await api.request('GET', '/v1/members', { token: bao.accessToken })).body.data.find((m: { name: string }) => m.name === 'Mai');
      const makeOwner = await api.request('PATCH', `/v1/members/${mai.id}`, { token: lanAdmin.accessToken, body: { role: 'owner' } });
      expect(makeOwner.status).toBe(403);
      const inviteOwner = await api.request('POST', '/v1/invitations', { token: lanAdmin.accessToken, body: { email: 'boss@example.test', role: 'owner' } });
      expect(inviteOwner.status).toBe(403);
      expect(inviteOwner.body.code).toBe('invitation.role_forbidden');
      // Nobody changes their own role.
      const self = await api.request('PATCH', `/v1/members/${lanAdmin.member.id}`, { token: lanAdmin.accessToken, body: { role: 'agent' } });
      expect(self.status).toBe(403);
      expect(self.body.code).toBe('member.own_role');
      const { rows } = await owner.query(`SELECT role FROM members WHERE id = $1`, [bao.member.id]);
      expect(rows).toEqual([{ role: 'owner' }]);
    });

    it('keeps the last owner', async () => {
      const removeSelf = await api.request('DELETE', `/v1/members/${bao.member.id}`, { token: bao.accessToken });
      expect(removeSelf.status).toBe(409);
      expect(removeSelf.body.code).toBe('member.last_owner');
      expect((await owner.query(`SELECT 1 FROM members WHERE id = $1`, [bao.member.id])).rowCount).toBe(1);
    });

    it('answers 404 for unknown, malformed and other workspaces\' member ids', async () => {
      for (const id of [uuidv7(), 'not-a-uuid', lan.member.id]) {
        const patch = await api.request('PATCH', `/v1/members/${id}`, { token: bao.accessToken, body: { capacity: 1 } });
        const remove = await api.request('DELETE', `/v1/members/${id}`, { token: bao.accessToken });
        expect([patch.status, patch.body.code, remove.status, remove.body.code]).toEqual([404, 'member.not_found', 404, 'member.not_found']);
      }
    });

    it('removes a member and ends their sessions in that workspace only', async () => {
      const lanThere = (await login('lan@mekong.example', PASSWORD, { workspaceId: bao.workspace.id })).body as Session;
      const lanHere = (await login('lan@mekong.example')).body as Session;
      const removed = await api.request('DELETE', `/v1/members/${lanThere.member.id}`, { token: bao.accessToken });
      expect(removed.status).toBe(204);
      const refreshThere = await api.request('POST', '/v1/auth/refresh', { body: { refreshToken: lanThere.refreshToken } });
      expect(refreshThere.status).toBe(401);
      expect(refreshThere.body.code).toBe('auth.invalid_refresh_token');
      expect((await api.request('POST', '/v1/auth/refresh', { body: { refreshToken: lanHere.refreshToken } })).status).toBe(200);
      const switched = await api.request('POST', '/v1/auth/switch', { token: lanHere.accessToken, body: { workspaceId: bao.workspace.id } });
      expect(switched.status).toBe(404);
    });
  });

  describe('API keys', () => {
    it('creates a key shown once, authenticates with it, lists it without the key, and revokes it', async () => {
      const created = await api.request('POST', '/v1/api-keys', { token: lan.accessToken, body: { name: 'CRM sync' } });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ name: 'CRM sync', key: expect.stringMatching(/^fry_[\w-]{65}$/) });
      expect(created.body.key.startsWith(created.body.prefix)).toBe(true);
      const key: string = created.body.key;

      const me = await api.request('GET', '/v1/me', { token: key });
      expect(me.status).toBe(200);
      expect(me.body).toEqual({ apiKey: { id: created.body.id, name: 'CRM sync' }, workspace: lan.workspace });

      const list = await api.request('GET', '/v1/api-keys', { token: lan.accessToken });
      expect(list.body.data).toContainEqual({
        id: created.body.id,
        name: 'CRM sync',
        prefix: created.body.prefix,
        createdAt: created.body.createdAt,
        lastUsedAt: expect.stringMatching(/^\d{4}-/),
      });
      expect(JSON.stringify(list.body)).not.toContain(key);

      const switched = await api.request('POST', '/v1/auth/switch', { token: key, body: { workspaceId: lan.workspace.id } });
      expect(switched.status).toBe(403);
      expect(switched.body.code).toBe('auth.user_required');

      expect((await api.request('DELETE', `/v1/api-keys/${created.body.id}`, { token: lan.accessToken })).status).toBe(204);
      const after = await api.request('GET', '/v1/me', { token: key });
      expect(after.status).toBe(401);
      expect(after.body.code).toBe('auth.invalid_api_key');
      const { rows } = await owner.query(`SELECT revoked_at IS NOT NULL AS revoked FROM api_keys WHERE id = $1`, [created.body.id]);
      expect(rows).toEqual([{ revoked: true }]);
      expect((await api.request('GET', '/v1/api-keys', { token: lan.accessToken })).body.data).toEqual([]);
      const twice = await api.request('DELETE', `/v1/api-keys/${created.body.id}`, { token: lan.accessToken });
      expect(twice.status).toBe(404);
      expect(twice.body.code).toBe('api_key.not_found');
    });

    it('answers 404 for another workspace\'s key', async () => {
      const theirs = await api.request('POST', '/v1/api-keys', { token: bao.accessToken, body: { name: 'Andaman' } });
      const response = await api.request('DELETE', `/v1/api-keys/${theirs.body.id}`, { token: lan.accessToken });
      expect(response.status).toBe(404);
      expect((await api.request('GET', '/v1/me', { token: theirs.body.key })).status).toBe(200);
    });
  });

  describe('access tokens', () => {
    const key = (): Buffer => deriveAccessTokenKey(api.config.auth.appSecret);
    const claims = () => ({ sub: lan.user.id, wid: lan.workspace.id, mid: lan.member.id, role: 'owner' as const });
    const now = (): number => Math.floor(Date.now() / 1000);

    it('accepts a token signed now, and answers auth.token_expired for one issued an hour ago', async () => {
      const fresh = signAccessToken(claims(), key(), 900, now());
      expect((await api.request('GET', '/v1/me', { token: fresh })).status).toBe(200);
      const expired = signAccessToken(claims(), key(), 900, now() - 3600);
      const response = await api.request('GET', '/v1/me', { token: expired });
      expect(response.status).toBe(401);
      expect(response.body.code).toBe('auth.token_expired');
    });

    it('refuses forged, tampered and alg-none tokens with auth.invalid_token', async () => {
      const forged = signAccessToken(claims(), deriveAccessTokenKey('someone-elses-secret-of-enough-length'), 900, now());
      const [header, payload, signature] = lan.accessToken.split('.');
      const promoted = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), wid: bao.workspace.id })).toString('base64url');
      const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
      for (const token of [forged, `${header}.${promoted}.${signature}`, `${none}.${payload}.`, `${none}.${payload}.${signature}`, 'garbage']) {
        const response = await api.request('GET', '/v1/me', { token });
        expect(response.status).toBe(401);
        expect(response.body.code).toBe('auth.invalid_token');
      }
    });
  });

  describe('bad input', () => {
    const valid = { workspaceName: 'Valid', name: 'Valid', email: 'valid@example.test', password: PASSWORD };
    it.each([
      ['missing fields', { email: 'someone@example.test' }, ['workspaceName', 'name', 'password']],
      ['an unknown field', { ...valid, admin: true }, ['admin']],
      ['a short password', { ...valid, password: 'short' }, ['password']],
      ['a bad email', { ...valid, email: 'not-an-email' }, ['email']],
      ['a blank name', { ...valid, name: '   ' }, ['name']],
    ])('refuses sign-up with %s: 400 with the fields, nothing written', async (_case, body, fields) => {
      const users = await count('users');
      const workspaces = await count('workspaces');
      const response = await api.request('POST', '/v1/auth/signup', { body });
      expect(response.status).toBe(400);
      expect(response.body.code).toBe('request.invalid');
      expect(new Set(response.body.errors.map((e: { field: string }) => e.field))).toEqual(new Set(fields));
      expect(await count('users')).toBe(users);
      expect(await count('workspaces')).toBe(workspaces);
    });

    it.each([
      ['/v1/auth/login', { email: 'lan@mekong.example' }, 'password'],
      ['/v1/auth/login', { email: 'lan@mekong.example', password: PASSWORD, remember: true }, 'remember'],
      ['/v1/auth/login', { email: 'lan@mekong.example', password: PASSWORD, workspaceId: 'nope' }, 'workspaceId'],
      ['/v1/auth/refresh', {}, 'refreshToken'],
    ])('refuses %s with a bad body %j', async (path, body, field) => {
      const response = await api.request('POST', path, { body, headers: fromIp() });
      expect(response.status).toBe(400);
      expect(response.body.errors).toContainEqual(expect.objectContaining({ field }));
    });

    it('refuses bad member and API key input', async () => {
      const lanMembers = (await api.request('GET', '/v1/members', { token: lan.accessToken })).body.data;
      const patch = await api.request('PATCH', `/v1/members/${lanMembers[0].id}`, {
        token: lan.accessToken,
        body: { role: 'emperor', capacity: -1, languages: ['english!'] },
      });
      expect(patch.status).toBe(400);
      expect(new Set(patch.body.errors.map((e: { field: string }) => e.field))).toEqual(new Set(['role', 'capacity', 'languages']));
      const key = await api.request('POST', '/v1/api-keys', { token: lan.accessToken, body: { name: '' } });
      expect(key.status).toBe(400);
      const invite = await api.request('POST', '/v1/invitations', { token: lan.accessToken, body: { email: 'x', role: 'agent' } });
      expect(invite.status).toBe(400);
    });
  });
});

describe('login throttling and token lifetime', () => {
  let api: ApiHarness;
  const email = `throttled-${uuidv7()}@example.test`;
  let expiresIn: number;
  let claims: { iat: number; exp: number; typ: string };

  beforeAll(async () => {
    api = await ApiHarness.start({ LOGIN_MAX_ATTEMPTS: '3', LOGIN_WINDOW_SECONDS: '600', ACCESS_TOKEN_TTL_SECONDS: '10' });
    const signup = await api.request('POST', '/v1/auth/signup', {
      body: { workspaceName: 'Throttle', name: 'T', email, password: PASSWORD },
    });
    expect(signup.status).toBe(201);
    expiresIn = signup.body.expiresIn;
    const payload = signup.body.accessToken.split('.')[1];
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
  });
  afterAll(async () => api?.close());

  const attempt = (address: string, who: string, password: string) =>
    api.request('POST', '/v1/auth/login', { body: { email: who, password }, headers: { 'x-forwarded-for': address } });

  it('issues access tokens for the configured lifetime', () => {
    expect(expiresIn).toBe(10);
    expect(claims.exp - claims.iat).toBe(10);
    expect(claims.typ).toBe('access');
  });

  it('refuses an email after N failures with 429 and Retry-After, even with the right password', async () => {
    for (let i = 0; i < 3; i++) expect((await attempt(`192.0.2.${i + 1}`, email, 'wrong password')).status).toBe(401);
    const blocked = await attempt('192.0.2.50', email.toUpperCase(), PASSWORD);
    expect(blocked.status).toBe(429);
    expect(blocked.body.code).toBe('auth.too_many_attempts');
    const retryAfter = Number(blocked.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(600);
  });

  it('refuses a client address after N failures, whatever the email', async () => {
    for (const who of ['a@example.test', 'b@example.test', 'c@example.test']) {
      expect((await attempt('192.0.2.99', who, 'wrong password')).status).toBe(401);
    }
    const blocked = await attempt('192.0.2.99', 'd@example.test', 'wrong password');
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('retry-after')).toMatch(/^\d+$/);
  });

  it('clears the email count on success', async () => {
    const other = `cleared-${uuidv7()}@example.test`;
    await api.request('POST', '/v1/auth/signup', { body: { workspaceName: 'C', name: 'C', email: other, password: PASSWORD } });
    for (let i = 0; i < 2; i++) expect((await attempt(`192.0.2.${110 + i}`, other, 'wrong password')).status).toBe(401);
    expect((await attempt('192.0.2.120', other, PASSWORD)).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await attempt(`192.0.2.${130 + i}`, other, 'wrong password')).status).toBe(401);
    expect((await attempt('192.0.2.140', other, PASSWORD)).status).toBe(200);
  });
});
