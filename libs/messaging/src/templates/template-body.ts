/*
 * Template bodies: text with positional placeholders {{1}}, {{2}}... (WhatsApp's format, which the
 * manual templates of other channels share). The parameters of a send fill them in order.
 */

const PLACEHOLDER = /\{\{\s*(\d+)\s*\}\}/g;

export type PlaceholderCheck = { ok: true; parameterCount: number } | { ok: false; problem: string };

/** How many parameters the body takes: its placeholders must be {{1}} to {{n}}, each at least once. */
export function placeholdersOf(body: string): PlaceholderCheck {
  const used = new Set<number>();
  for (const match of body.matchAll(PLACEHOLDER)) used.add(Number(match[1]));
  const count = used.size;
  for (let n = 1; n <= count; n++) {
    if (!used.has(n)) {
      return { ok: false, problem: `placeholders must be numbered {{1}} to {{${count}}} without gaps; {{${n}}} is missing` };
    }
  }
  return { ok: true, parameterCount: count };
}

/** The body as the customer reads it: each {{n}} replaced by the n-th parameter. */
export function renderTemplate(body: string, parameters: readonly string[]): string {
  return body.replace(PLACEHOLDER, (placeholder, n: string) => parameters[Number(n) - 1] ?? placeholder);
}
