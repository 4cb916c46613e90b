/*
 * A small multipart/form-data reader (RFC 7578) for the inbound-parse hook: the API keeps the raw
 * body for verification, so the parts are read from those bytes, not from a framework stream.
 * Strict about structure (a truncated body is an error), lenient about what the parts contain.
 */

export interface FormPart {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer;
}

export class MultipartError extends Error {
  override name = 'MultipartError';
}

const MAX_PARTS = 500;
const MAX_HEADER_BYTES = 16 * 1024;
const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

/** The boundary of a multipart/form-data Content-Type, or null when the type is something else. */
export function multipartBoundary(contentType: string | undefined): string | null {
  if (!contentType || !/^\s*multipart\/form-data\s*(;|$)/i.test(contentType)) return null;
  const boundary = parameter(contentType, 'boundary');
  // RFC 2046: 1 to 70 characters.
  return boundary && boundary.length <= 70 ? boundary : null;
}

export function parseMultipart(body: Buffer, boundary: string): FormPart[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const next = Buffer.from(`\r\n--${boundary}`);
  // The first delimiter opens the body or follows the preamble's last CRLF.
  let at = body.subarray(0, delimiter.length).equals(delimiter) ? 0 : indexOrFail(body, next, 0, 'no boundary in the body') + 2;
  const parts: FormPart[] = [];
  for (;;) {
    at += delimiter.length;
    if (body[at] === 0x2d && body[at + 1] === 0x2d) return parts; // "--": the close delimiter
    while (body[at] === 0x20 || body[at] === 0x09) at++; // transport padding
    if (!body.subarray(at, at + 2).equals(CRLF)) throw new MultipartError('a boundary line does not end in CRLF');
    at += 2;
    let headerText = '';
    let contentStart: number;
    if (body.subarray(at, at + 2).equals(CRLF)) {
      contentStart = at + 2; // a part without headers
    } else {
      const headerEnd = indexOrFail(body, HEADER_END, at, 'a part has no end of headers');
      if (headerEnd - at > MAX_HEADER_BYTES) throw new MultipartError('part headers are too large');
      headerText = body.subarray(at, headerEnd).toString('utf8');
      contentStart = headerEnd + 4;
    }
    const contentEnd = indexOrFail(body, next, contentStart, 'the body ends inside a part (no closing boundary)');
    parts.push(partOf(headerText, body.subarray(contentStart, contentEnd)));
    if (parts.length > MAX_PARTS) throw new MultipartError(`more than ${MAX_PARTS} parts`);
    at = contentEnd + 2;
  }
}

function partOf(headerText: string, data: Buffer): FormPart {
  const headers = new Map<string, string>();
  // Unfold continuation lines, then split "Name: value".
  for (const line of headerText.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const disposition = headers.get('content-disposition');
  if (!disposition || !/^\s*form-data\s*(;|$)/i.test(disposition)) throw new MultipartError('a part is not form-data');
  const name = parameter(disposition, 'name');
  if (name === null) throw new MultipartError('a part has no name');
  const part: FormPart = { name, data };
  const filename = parameter(disposition, 'filename');
  if (filename !== null) part.filename = filename;
  const contentType = headers.get('content-type');
  if (contentType) part.contentType = contentType;
  return part;
}

/** A header parameter's value (quoted or token), or null; quoted-pair escapes are undone. */
function parameter(header: string, key: string): string | null {
  const pattern = /;\s*([^\s=;]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g;
  for (const match of header.matchAll(pattern)) {
    if (match[1]!.toLowerCase() !== key) continue;
    return match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : match[3]!.trim();
  }
  return null;
}

function indexOrFail(body: Buffer, needle: Buffer, from: number, problem: string): number {
  const index = body.indexOf(needle, from);
  if (index < 0) throw new MultipartError(problem);
  return index;
}
