import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { DomainError } from '#domain';
import type { HookEvent, InboundAttachment, InboundMessageEvent } from '../channel-adapter.js';

/*
 * WeChat's XML pushes (接收普通消息 / 接收事件推送): one flat <xml> element of string fields.
 * Values stay strings: MsgId is a 64-bit integer that a JS number would round.
 */

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: false,
  // Pushes declare no entities; cap what a hostile DOCTYPE could make the parser expand.
  processEntities: { enabled: true, maxEntityCount: 10, maxTotalExpansions: 100, maxExpandedLength: 10_000 },
});

/** The fields of a push's root <xml> element; throws hook.malformed for anything else. */
export function readWechatXml(xml: string): Record<string, string> {
  if (xml.trim() === '' || XMLValidator.validate(xml) !== true) throw malformed('the body is not well-formed XML');
  let document: unknown;
  try {
    document = parser.parse(xml);
  } catch (error) {
    throw malformed(`the XML cannot be read (${error instanceof Error ? error.message : String(error)})`);
  }
  const root = (document as Record<string, unknown> | undefined)?.['xml'];
  if (typeof root !== 'object' || root === null || Array.isArray(root)) throw malformed('the body has no <xml> root element');
  const fields: Record<string, string> = {};
  for (const [key, value] of Object.entries(root)) {
    if (typeof value === 'string') fields[key] = value;
  }
  return fields;
}

/** The events of a plaintext push (safe-mode pushes are decrypted to this first). */
export function wechatEventsOf(xml: string): HookEvent[] {
  const f = readWechatXml(xml);
  const from = required(f, 'FromUserName');
  const createTime = required(f, 'CreateTime');
  if (!/^\d{1,12}$/.test(createTime)) throw malformed('CreateTime must be a Unix time in seconds');
  const occurredAt = new Date(Number(createTime) * 1000);
  const msgType = required(f, 'MsgType');

  if (msgType === 'event') {
    const event = required(f, 'Event');
    // Events carry no MsgId: WeChat documents FromUserName + CreateTime as their dedupe key.
    const providerEventId = `${from}:${createTime}:${event}`;
    if (event === 'subscribe' || event === 'unsubscribe') {
      return [{ kind: 'contact', providerEventId, sender: { externalId: from }, action: event === 'subscribe' ? 'subscribed' : 'unsubscribed', occurredAt }];
    }
    return []; // menu clicks, scans, template-send receipts...: not conversation events
  }

  const content = MESSAGE_CONTENT[msgType];
  if (!content) return []; // a message kind Ferry does not read yet: acknowledged, not stored
  const msgId = required(f, 'MsgId');
  const { body, attachments } = content(f);
  const event: InboundMessageEvent = {
    kind: 'message',
    providerEventId: msgId,
    providerMessageId: msgId,
    sender: { externalId: from },
    body,
    attachments,
    occurredAt,
  };
  return [event];
}

type Content = (f: Record<string, string>) => { body: string; attachments: InboundAttachment[] };

const VOICE_MIME: Record<string, string> = { amr: 'audio/amr', speex: 'audio/speex', mp3: 'audio/mpeg' };

const MESSAGE_CONTENT: Record<string, Content> = {
  text: (f) => ({ body: required(f, 'Content'), attachments: [] }),
  image: (f) => ({
    body: '',
    // PicUrl can be fetched as is; MediaId needs an access token (and expires after 3 days).
    attachments: [{ kind: 'image', ref: f['PicUrl']?.trim() || required(f, 'MediaId') }],
  }),
  voice: (f) => {
    const format = f['Format']?.trim().toLowerCase();
    const attachment: InboundAttachment = { kind: 'audio', ref: required(f, 'MediaId') };
    const mimeType = format ? VOICE_MIME[format] : undefined;
    if (mimeType) attachment.mimeType = mimeType;
    // WeChat's own speech recognition, when the account has it on: the closest thing to a text body.
    return { body: f['Recognition']?.trim() ?? '', attachments: [attachment] };
  },
  video: (f) => ({ body: '', attachments: [{ kind: 'video', ref: required(f, 'MediaId') }] }),
  shortvideo: (f) => ({ body: '', attachments: [{ kind: 'video', ref: required(f, 'MediaId') }] }),
  location: (f) => {
    const lat = required(f, 'Location_X');
    const lng = required(f, 'Location_Y');
    if (!isCoordinate(lat) || !isCoordinate(lng)) throw malformed('Location_X and Location_Y must be numbers');
    const label = f['Label']?.trim() ?? '';
    const attachment: InboundAttachment = { kind: 'location', ref: `${lat},${lng}` };
    if (label) attachment.name = label;
    return { body: label, attachments: [attachment] };
  },
  link: (f) => {
    const title = f['Title']?.trim() ?? '';
    const description = f['Description']?.trim() ?? '';
    const url = required(f, 'Url');
    const attachment: InboundAttachment = { kind: 'link', ref: url };
    if (title) attachment.name = title;
    return { body: [title, description, url].filter(Boolean).join('\n'), attachments: [attachment] };
  },
};

function required(f: Record<string, string>, name: string): string {
  const value = name === 'Content' ? f[name] : f[name]?.trim();
  if (value === undefined || value === '') throw malformed(`<${name}> is missing`);
  return value;
}

function isCoordinate(value: string): boolean {
  return /^-?\d+(\.\d+)?$/.test(value.trim());
}

export function malformed(what: string): DomainError {
  return DomainError.invalid('hook.malformed', `WeChat push: ${what}`);
}
