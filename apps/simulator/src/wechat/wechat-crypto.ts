import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * WeChat Official Account message security, written from WeChat's documentation (the simulator keeps
 * its own copy so it never agrees with Ferry by sharing a bug):
 * - signature = sha1 of the sorted [token, timestamp, nonce] joined; msg_signature adds the Encrypt text.
 * - AESKey = base64(EncodingAESKey + "="), 32 bytes; AES-256-CBC, IV = the key's first 16 bytes.
 * - plaintext = 16 random bytes + 4-byte big-endian length of msg + msg + appid, PKCS#7 padded to 32.
 */
const BLOCK = 32;

export function wechatSignature(...parts: string[]): string {
  return createHash('sha1').update([...parts].sort().join('')).digest('hex');
}

function keyOf(encodingAesKey: string): Buffer {
  const key = Buffer.from(`${encodingAesKey}=`, 'base64');
  if (key.length !== 32) throw new Error('EncodingAESKey must decode to 32 bytes');
  return key;
}

export function encryptMessage(xml: string, encodingAesKey: string, appId: string): string {
  const key = keyOf(encodingAesKey);
  const message = Buffer.from(xml, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(message.length);
  const plain = Buffer.concat([randomBytes(16), length, message, Buffer.from(appId, 'utf8')]);
  const pad = BLOCK - (plain.length % BLOCK);
  const padded = Buffer.concat([plain, Buffer.alloc(pad, pad)]);
  const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16)).setAutoPadding(false);
  return Buffer.concat([cipher.update(padded), cipher.final()]).toString('base64');
}

export function decryptMessage(encrypted: string, encodingAesKey: string): { xml: string; appId: string } {
  const key = keyOf(encodingAesKey);
  const decipher = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16)).setAutoPadding(false);
  const padded = Buffer.concat([decipher.update(Buffer.from(encrypted, 'base64')), decipher.final()]);
  const pad = padded[padded.length - 1]!;
  if (pad < 1 || pad > BLOCK) throw new Error('bad padding');
  const plain = padded.subarray(0, padded.length - pad);
  const length = plain.readUInt32BE(16);
  return { xml: plain.subarray(20, 20 + length).toString('utf8'), appId: plain.subarray(20 + length).toString('utf8') };
}

/** An XML element with CDATA text; a `]]>` inside the text is split across two sections. */
export function cdata(name: string, value: string): string {
  return `<${name}><![CDATA[${value.replaceAll(']]>', ']]]]><![CDATA[>')}]]></${name}>`;
}
