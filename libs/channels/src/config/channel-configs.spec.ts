import { describe, expect, it } from 'vitest';
import { CHANNELS, type Channel } from '#domain';
import { CHANNEL_SCHEMAS, channelSecretPaths, exampleChannelConfig, parseChannelConfig } from './channel-configs.js';
import { SECRET_MASK } from './config-schema.js';
import { joinSecrets, mergeConfig, splitSecrets } from './config-secrets.js';
import { isPublicHost } from '#net';

const STRICT = { allowPrivateUrls: false };
type Fields = Record<string, { kind: string; optional?: boolean }>;

function fieldsOf(channel: Channel): Fields {
  return CHANNEL_SCHEMAS[channel].fields as unknown as Fields;
}

function errorsOf(channel: Channel, config: unknown, options = STRICT): Array<{ field: string; message: string }> {
  const result = parseChannelConfig(channel, config, options);
  return result.ok ? [] : result.errors;
}

const WRONG_TYPE: Record<string, unknown> = { text: 42, url: 42, email: 42, host: 42, origins: 'https://a.example', integer: '587', boolean: 'yes', object: 'smtp.example' };

describe.each(CHANNELS)('%s config', (channel) => {
  const example = exampleChannelConfig(channel) as unknown as Record<string, unknown>;
  const fields = fieldsOf(channel);
  const required = Object.keys(fields).filter((key) => !fields[key]!.optional);

  it('accepts the documented example', () => {
    expect(parseChannelConfig(channel, example, STRICT)).toEqual({ ok: true, value: example });
  });

  it.each(required.length ? required : ['(none)'])('requires %s', (key) => {
    if (key === '(none)') {
      expect(errorsOf(channel, {})).toEqual([]);
      return;
    }
    const config = { ...example };
    delete config[key];
    expect(errorsOf(channel, config)).toContainEqual({ field: `config.${key}`, message: 'is required' });
  });

  it.each(Object.keys(fields))('refuses a wrong type for %s', (key) => {
    const errors = errorsOf(channel, { ...example, [key]: WRONG_TYPE[fields[key]!.kind] });
    expect(errors.map((e) => e.field)).toContain(`config.${key}`);
  });

  it('refuses unknown keys, and a config that is not an object', () => {
    expect(errorsOf(channel, { ...example, isAdmin: true })).toEqual([{ field: 'config.isAdmin', message: 'is not a setting of this channel' }]);
    expect(errorsOf(channel, ['x'])).toEqual([{ field: 'config', message: 'must be an object' }]);
    expect(errorsOf(channel, 'x')).toEqual([{ field: 'config', message: 'must be an object' }]);
  });

  it('splits the secrets out of the public config, and joins them back', () => {
    const paths = channelSecretPaths(channel);
    const { open, secrets } = splitSecrets(example, paths);
    expect(Object.keys(secrets).sort()).toEqual(paths.filter((path) => path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)?.[key], example) !== undefined).sort());
    for (const value of Object.values(secrets)) expect(JSON.stringify(open)).not.toContain(value);
    expect(joinSecrets(open, secrets)).toEqual(example);
    const masked = JSON.stringify(joinSecrets(open, secrets, true));
    for (const value of Object.values(secrets)) expect(masked).not.toContain(value);
  });

  it('takes apiBaseUrl: https and public unless private URLs are allowed', () => {
    expect(errorsOf(channel, { ...example, apiBaseUrl: 'https://gateway.example.com/v1' })).toEqual([]);
    expect(errorsOf(channel, { ...example, apiBaseUrl: 'http://gateway.example.com' })).toEqual([{ field: 'config.apiBaseUrl', message: 'must be an https URL' }]);
    expect(errorsOf(channel, { ...example, apiBaseUrl: 'https://127.0.0.1:4010' })).toEqual([{ field: 'config.apiBaseUrl', message: 'must point at a public address' }]);
    expect(errorsOf(channel, { ...example, apiBaseUrl: 'http://127.0.0.1:4010' }, { allowPrivateUrls: true })).toEqual([]);
    expect(errorsOf(channel, { ...example, apiBaseUrl: 'ftp://files.example.com' }, { allowPrivateUrls: true })).toEqual([{ field: 'config.apiBaseUrl', message: 'must be an http(s) URL' }]);
    expect(errorsOf(channel, { ...example, apiBaseUrl: 'https://user:pw@gateway.example.com' })).toEqual([{ field: 'config.apiBaseUrl', message: 'must not carry credentials' }]);
  });
});

describe('channel rules', () => {
  it('whatsapp names every missing credential at once', () => {
    expect(errorsOf('whatsapp', {}).map((e) => e.field)).toEqual(['config.phoneNumberId', 'config.accessToken', 'config.appSecret', 'config.verifyToken']);
  });

  it('whatsapp refuses an empty token and the mask itself as a secret', () => {
    const example = exampleChannelConfig('whatsapp');
    expect(errorsOf('whatsapp', { ...example, accessToken: '  ' })).toEqual([{ field: 'config.accessToken', message: 'must not be empty' }]);
    expect(errorsOf('whatsapp', { ...example, appSecret: SECRET_MASK })).toEqual([
      { field: 'config.appSecret', message: 'must be the secret itself, not its mask' },
    ]);
  });

  it('sms needs fromNumber or messagingServiceSid', () => {
    const { accountSid, authToken } = exampleChannelConfig('sms');
    expect(errorsOf('sms', { accountSid, authToken })).toEqual([{ field: 'config.fromNumber', message: 'fromNumber or messagingServiceSid is required' }]);
    expect(errorsOf('sms', { accountSid, authToken, messagingServiceSid: 'MG0123456789abcdef0123456789abcdef' })).toEqual([]);
    expect(errorsOf('sms', { accountSid, authToken, fromNumber: 'TOURS' })).toEqual([]);
    expect(errorsOf('sms', { accountSid, authToken, fromNumber: '555-0123' }).map((e) => e.field)).toEqual(['config.fromNumber']);
  });

  it('email checks the nested smtp settings field by field', () => {
    const example = exampleChannelConfig('email');
    expect(errorsOf('email', { ...example, smtp: { ...example.smtp, port: 70000, secure: 'no', tls: true } })).toEqual([
      { field: 'config.smtp.tls', message: 'is not a setting of this channel' },
      { field: 'config.smtp.port', message: 'must be between 1 and 65535' },
      { field: 'config.smtp.secure', message: 'must be true or false' },
    ]);
    expect(errorsOf('email', { ...example, smtp: { host: 'smtp.example.com' } }).map((e) => e.field)).toEqual(['config.smtp.port', 'config.smtp.secure']);
    expect(errorsOf('email', { ...example, fromAddress: 'not-an-address' })).toEqual([{ field: 'config.fromAddress', message: 'must be an email address' }]);
    expect(errorsOf('email', { ...example, smtp: { ...example.smtp, host: 'localhost' } })).toEqual([{ field: 'config.smtp.host', message: 'must be a public address' }]);
    expect(errorsOf('email', { ...example, smtp: { ...example.smtp, host: '2130706433' } })).toEqual([{ field: 'config.smtp.host', message: 'must be a public address' }]);
    expect(errorsOf('email', { ...example, smtp: { ...example.smtp, host: 'smtp host' } })).toEqual([{ field: 'config.smtp.host', message: 'must be a host name or IP address' }]);
    expect(errorsOf('email', { ...example, smtp: { ...example.smtp, host: '127.0.0.1' } }, { allowPrivateUrls: true })).toEqual([]);
  });

  it('email keeps the smtp password secret, the rest of smtp public', () => {
    const { open, secrets } = splitSecrets(exampleChannelConfig('email') as unknown as Record<string, unknown>, channelSecretPaths('email'));
    expect(secrets).toEqual({ 'smtp.password': 'app-password-7c1d' });
    expect(open['smtp']).toEqual({ host: 'smtp.mekong-tours.example', port: 587, secure: false, user: 'support@mekong-tours.example' });
  });

  it('webchat takes origins only, one or more', () => {
    expect(errorsOf('webchat', { allowedOrigins: ['https://a.example', 'http://localhost:5173'] })).toEqual([]);
    expect(errorsOf('webchat', { allowedOrigins: [] })).toEqual([{ field: 'config.allowedOrigins', message: 'must list 1 to 50 origins' }]);
    expect(errorsOf('webchat', { allowedOrigins: ['https://a.example', 'https://a.example/chat', 7] }).map((e) => e.field)).toEqual([
      'config.allowedOrigins.1',
      'config.allowedOrigins.2',
    ]);
  });

  it('wechat checks the EncodingAESKey and token formats WeChat requires', () => {
    const example = exampleChannelConfig('wechat');
    expect(errorsOf('wechat', { ...example, encodingAesKey: 'short' }).map((e) => e.field)).toEqual(['config.encodingAesKey']);
    expect(errorsOf('wechat', { ...example, token: 'has-dash' }).map((e) => e.field)).toEqual(['config.token']);
    const { encodingAesKey: _key, ...plainMode } = example;
    expect(errorsOf('wechat', plainMode)).toEqual([]);
  });

  it('telegram checks the secret token alphabet', () => {
    expect(errorsOf('telegram', { ...exampleChannelConfig('telegram'), secretToken: 'has space' }).map((e) => e.field)).toEqual(['config.secretToken']);
  });

  it('api needs nothing, and its webhookUrl is held to the URL rules', () => {
    expect(errorsOf('api', {})).toEqual([]);
    expect(errorsOf('api', { webhookUrl: 'http://10.0.0.5/hook' })).toEqual([{ field: 'config.webhookUrl', message: 'must be an https URL' }]);
    expect(errorsOf('api', { webhookUrl: 'https://10.0.0.5/hook' })).toEqual([{ field: 'config.webhookUrl', message: 'must point at a public address' }]);
  });
});

describe('mergeConfig (PATCH)', () => {
  const current = exampleChannelConfig('email') as unknown as Record<string, unknown>;
  const paths = channelSecretPaths('email');

  it('keeps what the patch leaves out, secrets included, and merges nested objects', () => {
    const merged = mergeConfig(current, { fromName: 'Mekong', smtp: { port: 465, secure: true } }, paths);
    expect(merged).toEqual({ ...current, fromName: 'Mekong', smtp: { ...(current['smtp'] as object), port: 465, secure: true } });
  });

  it('replaces a secret that is sent, keeps one sent back as the mask, and clears with null', () => {
    expect(mergeConfig(current, { smtp: { password: 'new' } }, paths)['smtp']).toMatchObject({ password: 'new' });
    expect(mergeConfig(current, { smtp: { password: SECRET_MASK } }, paths)['smtp']).toMatchObject({ password: 'app-password-7c1d' });
    expect(mergeConfig(current, { fromName: null }, paths)).not.toHaveProperty('fromName');
  });

  it('keeps a __proto__ key as an own key, which the parse then refuses', () => {
    const patch = JSON.parse('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
    const merged = mergeConfig(current, patch, paths);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(errorsOf('email', merged)).toEqual([{ field: 'config.__proto__', message: 'is not a setting of this channel' }]);
  });
});

describe('isPublicHost', () => {
  it.each(['api.twilio.com', 'graph.facebook.com', '8.8.8.8', '2606:4700::1111'])('accepts %s', (host) => {
    expect(isPublicHost(host)).toBe(true);
  });
  it.each(['localhost', 'api.localhost', 'printer.local', 'db.internal', 'redis', '127.0.0.1', '10.1.2.3', '172.20.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '[::1]', '::', 'fd00::1', 'fe80::1', '::ffff:7f00:1'])(
    'refuses %s',
    (host) => {
      expect(isPublicHost(host)).toBe(false);
    },
  );
});
