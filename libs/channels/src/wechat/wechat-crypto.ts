import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/*
 * WeChat's message signature and "safe mode" (消息加解密) crypto, as documented for Official
 * Accounts: pure functions, shared by the adapter, its tests and the simulator (which builds
 * safe-mode pushes with them).
 *
 *   AESKey      = Base64_Decode(EncodingAESKey + "=")            32 bytes
 *   IV          = AESKey[0..16]
 *   msg_encrypt = Base64(AES-256-CBC(random(16) + len(4, big-endian) + msg + AppId), PKCS#7 to 32-byte blocks)
 *   msg_signature = sha1(sort([token, timestamp, nonce, msg_encrypt]).join(''))
 */

const BLOCK = 32;

/** sha1 hex of the parts sorted (plain string order, as WeChat's samples sort) and joined. */
export function wechatSignature(parts: readonly string[]): string {
  return createHash('sha1').update([...parts].sort().join(''), 'utf8').digest('hex');
}

export function aesKeyOf(encodingAesKey: string): Buffer {
  const key = Buffer.from(`${encodingAesKey}=`, 'base64');
  if (encodingAesKey.length !== 43 || key.length !== 32) throw new Error('EncodingAESKey must be 43 base64 characters (32 bytes)');
  return key;
}

/** Encrypts a message (XML, or an echostr) for `appId`; `random` pins the 16 random bytes in tests. */
export function wechatEncrypt(message: string, encodingAesKey: string, appId: string, random: Buffer = randomBytes(16)): string {
  const key = aesKeyOf(encodingAesKey);
  const body = Buffer.from(message, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length, 0);
  const plain = Buffer.concat([random, length, body, Buffer.from(appId, 'utf8')]);
  const pad = BLOCK - (plain.length % BLOCK);
  const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
  // WeChat pads to 32-byte blocks (PKCS#7 with k = 32), not AES's 16: pad by hand.
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(Buffer.concat([plain, Buffer.alloc(pad, pad)])), cipher.final()]).toString('base64');
}

export class WechatCryptoError extends Error {
  override name = 'WechatCryptoError';
}

/** Decrypts msg_encrypt; answers the message and the AppId it was encrypted for (the caller checks it). */
export function wechatDecrypt(encrypted: string, encodingAesKey: string): { message: string; appId: string } {
  const key = aesKeyOf(encodingAesKey);
  const data = Buffer.from(encrypted, 'base64');
  if (data.length === 0 || data.length % 16 !== 0) throw new WechatCryptoError('ciphertext is not whole AES blocks');
  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16));
    decipher.setAutoPadding(false);
    plain = Buffer.concat([decipher.update(data), decipher.final()]);
  } catch {
    throw new WechatCryptoError('ciphertext does not decrypt');
  }
  const pad = plain[plain.length - 1]!;
  if (pad < 1 || pad > BLOCK || pad > plain.length) throw new WechatCryptoError('bad padding');
  const unpadded = plain.subarray(0, plain.length - pad);
  if (unpadded.length < 20) throw new WechatCryptoError('plaintext too short');
  const length = unpadded.readUInt32BE(16);
  if (20 + length > unpadded.length) throw new WechatCryptoError('message length exceeds the plaintext');
  return {
    message: unpadded.subarray(20, 20 + length).toString('utf8'),
    appId: unpadded.subarray(20 + length).toString('utf8'),
  };
}

/**
 * A safe-mode push as WeChat sends it: the envelope body and the query it signs. What the
 * simulator posts to a safe-mode inbox's hook (and what the adapter's tests replay).
 */
export function wechatEncryptedPush(
  xml: string,
  options: { token: string; encodingAesKey: string; appId: string; toUserName: string; timestamp: string; nonce: string; random?: Buffer },
): { body: string; query: Record<string, string> } {
  const encrypted = wechatEncrypt(xml, options.encodingAesKey, options.appId, options.random);
  return {
    body: `<xml><ToUserName><![CDATA[${options.toUserName}]]></ToUserName><Encrypt><![CDATA[${encrypted}]]></Encrypt></xml>`,
    query: {
      signature: wechatSignature([options.token, options.timestamp, options.nonce]),
      timestamp: options.timestamp,
      nonce: options.nonce,
      encrypt_type: 'aes',
      msg_signature: wechatSignature([options.token, options.timestamp, options.nonce, encrypted]),
    },
  };
}

/** A passive reply in safe mode (replies that carry content must be encrypted too). */
export function wechatEncryptedReply(xml: string, options: { token: string; encodingAesKey: string; appId: string; timestamp: string; nonce: string }): string {
  const encrypted = wechatEncrypt(xml, options.encodingAesKey, options.appId);
  const signature = wechatSignature([options.token, options.timestamp, options.nonce, encrypted]);
  return (
    `<xml><Encrypt><![CDATA[${encrypted}]]></Encrypt><MsgSignature><![CDATA[${signature}]]></MsgSignature>` +
    `<TimeStamp>${options.timestamp}</TimeStamp><Nonce><![CDATA[${options.nonce}]]></Nonce></xml>`
  );
}
