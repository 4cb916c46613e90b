/*
 * Strips the quoted history from a reply's text so the conversation stores what the customer
 * wrote, not the thread again (the raw MIME keeps everything). Mail clients mark history in their
 * own ways: a "wrote:" line (Gmail, Apple Mail, in many languages), an Outlook header block or
 * "Original Message" rule, and ">" quoting. To teach it another client, add a pattern below.
 */

/** "<someone> wrote:" lines that open the quoted history, whatever follows them. */
const WROTE_LINES: RegExp[] = [
  /^On\b.{1,300}\bwrote:$/, // Gmail, Apple Mail: On Wed, May 1, 2024 at 9:00 AM Ana <ana@example.com> wrote:
  /^Le\b.{1,300}\ba écrit ?:$/,
  /^Am\b.{1,300}\bschrieb\b.{0,200}:$/,
  /^El\b.{1,300}\bescribió:$/,
  /^在.{1,300}(写道|寫道)[：:]$/, // Chinese Gmail / Apple Mail: 在 2024年5月1日 09:00，Ana <ana@example.com> 写道：
  /^於.{1,300}寫道[：:]$/,
  /^\d{4}年\d{1,2}月\d{1,2}日.{0,200}<[^<>\s]+@[^<>\s]+>\s*[:：]$/, // Japanese Gmail: 2024年5月1日(水) 9:00 Ana <ana@example.com>:
  /^.{1,300}(のメール|さんは書きました)[：:]$/, // Japanese Apple Mail / Thunderbird
];

/** "Original Message" / "原始邮件" rules (Outlook, Foxmail, QQ Mail, forwards). */
const RULE_OPENER = /^-{2,}\s*(Original Message|Forwarded message|原始邮件|原始郵件|元のメッセージ|Ursprüngliche Nachricht|Message d'origine|Mensaje original)\s*-{2,}$/i;

/** Outlook's header block: a From line followed closely by a Sent/Date line. */
const OUTLOOK_FROM = /^\*?(From|发件人|寄件者|差出人|Von|De)\s*\*?\s*[:：]/i;
const OUTLOOK_SENT = /^\*?(Sent|Date|发送时间|日期|傳送時間|寄件日期|送信日時|Gesendet|Envoyé|Enviado|Enviada)\s*\*?\s*[:：]/i;
const RULE = /^_{5,}$/;

export function stripQuotedHistory(text: string): string {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const cut = historyStart(lines);
  const kept = (cut === -1 ? lines : lines.slice(0, cut)).filter((line) => !/^\s*>/.test(line));
  const body = kept.join('\n').replace(/\s+$/, '').replace(/^\s*\n/, '');
  // A message that is all history (a bare forward) keeps its text: something beats nothing.
  return body.trim() === '' ? text.trim() : body;
}

function historyStart(lines: string[]): number {
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    if (RULE_OPENER.test(line)) return i;
    // Clients wrap a long "wrote:" line; try it joined with the next one or two. A real one
    // carries a date (digits), and when wrapped an address: "On second thought ... wrote:" is prose.
    const windows = [line, joined(lines, i, 2), joined(lines, i, 3)].filter((w, n): w is string => w !== null && /\d/.test(w) && (n === 0 || w.includes('@')));
    if (windows.some((w) => WROTE_LINES.some((pattern) => pattern.test(w)))) return i;
    if (OUTLOOK_FROM.test(line) && lines.slice(i + 1, i + 5).some((next) => OUTLOOK_SENT.test(next.trim()))) {
      const previous = previousNonEmpty(lines, i);
      return previous !== -1 && RULE.test(lines[previous]!.trim()) ? previous : i;
    }
  }
  return -1;
}

function joined(lines: string[], from: number, count: number): string | null {
  const slice = lines.slice(from, from + count).map((line) => line.trim());
  return slice.length === count && slice.every((line) => line !== '') ? slice.join(' ') : null;
}

function previousNonEmpty(lines: string[], index: number): number {
  for (let i = index - 1; i >= 0; i--) if (lines[i]!.trim() !== '') return i;
  return -1;
}
