/** `%q%` for ILIKE, with the user's own % and _ (and the escape character) taken literally. */
export function containsPattern(q: string): string {
  return `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
