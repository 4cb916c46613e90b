import { describe, expect, it } from 'vitest';
import { MultipartError, multipartBoundary, parseMultipart } from './multipart.js';

/** A body encoded by the platform's own FormData encoder (undici), not by us. */
async function encoded(form: FormData): Promise<{ body: Buffer; contentType: string }> {
  const response = new Response(form);
  return { body: Buffer.from(await response.arrayBuffer()), contentType: response.headers.get('content-type')! };
}

describe('multipart/form-data', () => {
  it('reads the fields and files a standard encoder writes, bytes intact', async () => {
    const form = new FormData();
    const mime = 'From: Ana <ana@example.com>\r\nSubject: =?UTF-8?B?5L2g5aW9?=\r\n\r\nHi!\r\n--not-a-boundary\r\n';
    form.append('email', mime);
    form.append('to', 'inbox@mekong-tours.example');
    form.append('envelope', JSON.stringify({ to: ['inbox@mekong-tours.example'], from: 'ana@example.com' }));
    form.append('attachment1', new Blob([Buffer.from([0, 1, 2, 255, 13, 10, 45, 45])], { type: 'application/octet-stream' }), 'bin.dat');
    form.append('subject', '你好 — résumé');
    const { body, contentType } = await encoded(form);
    const boundary = multipartBoundary(contentType)!;
    expect(boundary).toBeTruthy();
    const parts = parseMultipart(body, boundary);
    expect(parts.map((p) => p.name)).toEqual(['email', 'to', 'envelope', 'attachment1', 'subject']);
    expect(parts[0]!.data.toString('utf8')).toBe(mime);
    expect(parts[3]).toMatchObject({ filename: 'bin.dat', contentType: 'application/octet-stream' });
    expect([...parts[3]!.data]).toEqual([0, 1, 2, 255, 13, 10, 45, 45]);
    expect(parts[4]!.data.toString('utf8')).toBe('你好 — résumé');
  });

  it('takes a quoted boundary, a preamble and an empty part', () => {
    const body = Buffer.from(
      'this is a preamble\r\n--b"q\r\nContent-Disposition: form-data; name="a"\r\n\r\n\r\n--b"q\r\nContent-Disposition: form-data; name="b"; filename="x \\"y\\".txt"\r\n\r\nB\r\n--b"q--\r\nepilogue',
    );
    expect(multipartBoundary('multipart/form-data; boundary="b\\"q"')).toBe('b"q');
    const parts = parseMultipart(body, 'b"q');
    expect(parts).toEqual([
      { name: 'a', data: Buffer.alloc(0) },
      { name: 'b', filename: 'x "y".txt', data: Buffer.from('B') },
    ]);
  });

  it('knows a multipart/form-data type from the rest', () => {
    expect(multipartBoundary('application/x-www-form-urlencoded')).toBeNull();
    expect(multipartBoundary('multipart/mixed; boundary=x')).toBeNull();
    expect(multipartBoundary('multipart/form-data')).toBeNull();
    expect(multipartBoundary(`multipart/form-data; boundary=${'x'.repeat(71)}`)).toBeNull();
    expect(multipartBoundary('Multipart/Form-Data; charset=utf-8; boundary=xYz')).toBe('xYz');
    expect(multipartBoundary(undefined)).toBeNull();
  });

  it.each([
    ['no boundary at all', 'just text'],
    ['a truncated body', '--x\r\nContent-Disposition: form-data; name="email"\r\n\r\nFrom: a@b.c\r\n'],
    ['headers that never end', '--x\r\nContent-Disposition: form-data; name="email"\r\n'],
    ['a part without a name', '--x\r\nContent-Disposition: form-data\r\n\r\nv\r\n--x--'],
    ['a part that is not form-data', '--x\r\nContent-Type: text/plain\r\n\r\nv\r\n--x--'],
    ['garbage after a boundary', '--xgarbage\r\n\r\nv\r\n--x--'],
  ])('refuses %s', (_name, text) => {
    expect(() => parseMultipart(Buffer.from(text), 'x')).toThrow(MultipartError);
  });
});
