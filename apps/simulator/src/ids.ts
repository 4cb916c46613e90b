import { randomBytes } from 'node:crypto';

export const randomHex = (bytes: number): string => randomBytes(bytes).toString('hex');

export const randomDigits = (count: number): string => Array.from(randomBytes(count), (b) => String(b % 10)).join('');

export const unixSeconds = (ms: number = Date.now()): number => Math.floor(ms / 1000);
