import { describe, expect, it } from 'vitest';
import { stripQuotedHistory } from './quote-strip.js';

const ANSWER = 'Yes, two adults and one child.\nCan we bring a stroller?\n\nThanks,\nAna';

describe('stripQuotedHistory', () => {
  it('cuts a Gmail reply at "On ... wrote:", including a header Gmail wrapped over two lines', () => {
    const gmail = `${ANSWER}\n\nOn Wed, May 1, 2024 at 9:00 AM Mekong Tours <support@mekong-tours.example> wrote:\n\n> Hi Ana,\n> How many people?\n>\n`;
    expect(stripQuotedHistory(gmail)).toBe(ANSWER);
    const wrapped = `${ANSWER}\r\n\r\nOn Wed, May 1, 2024 at 9:00 AM Mekong Tours Customer Care <\r\nsupport@mekong-tours.example> wrote:\r\n\r\n> Hi Ana,\r\n`;
    expect(stripQuotedHistory(wrapped)).toBe(ANSWER);
  });

  it('cuts an Apple Mail reply', () => {
    const apple = `${ANSWER}\n\n> On May 1, 2024, at 09:00, Mekong Tours <support@mekong-tours.example> wrote:\n> \n> Hi Ana,\n`;
    expect(stripQuotedHistory(apple)).toBe(ANSWER);
  });

  it('cuts an Outlook reply at its header block, rule included', () => {
    const outlook = [
      ANSWER,
      '',
      '________________________________',
      'From: Mekong Tours <support@mekong-tours.example>',
      'Sent: Wednesday, May 1, 2024 9:00 AM',
      'To: Ana Souza <ana@example.com>',
      'Subject: Re: Booking 4411',
      '',
      'Hi Ana,',
      'How many people?',
    ].join('\r\n');
    expect(stripQuotedHistory(outlook)).toBe(ANSWER);
  });

  it('cuts at "-----Original Message-----"', () => {
    const old = `${ANSWER}\n\n-----Original Message-----\nFrom: Mekong Tours [mailto:support@mekong-tours.example]\nSent: Wednesday, May 1, 2024 9:00 AM\n\nHi Ana,`;
    expect(stripQuotedHistory(old)).toBe(ANSWER);
  });

  it('cuts Chinese clients: Gmail/Apple "在 ... 写道：", QQ Mail/Foxmail "原始邮件" and 发件人/发送时间 blocks', () => {
    const answer = '好的，我们两个大人一个小孩。\n请问可以带婴儿车吗？';
    expect(stripQuotedHistory(`${answer}\n\n在 2024年5月1日 09:00，Mekong Tours <support@mekong-tours.example> 写道：\n\n> 您好，请问几位？\n`)).toBe(answer);
    expect(stripQuotedHistory(`${answer}\n\n------------------ 原始邮件 ------------------\n发件人: "Mekong Tours"<support@mekong-tours.example>;\n发送时间: 2024年5月1日(星期三) 上午9:00\n收件人: "安娜"<ana@example.com>;\n主题: Re: Booking 4411\n\n您好，请问几位？`)).toBe(answer);
    expect(stripQuotedHistory(`${answer}\n\n发件人: Mekong Tours <support@mekong-tours.example>\n发送时间: 2024年5月1日 9:00\n收件人: 安娜 <ana@example.com>\n主题: 回复: Booking 4411\n\n您好`)).toBe(answer);
  });

  it('cuts Japanese clients', () => {
    const answer = 'はい、大人2名と子供1名です。';
    expect(stripQuotedHistory(`${answer}\n\n2024年5月1日(水) 9:00 Mekong Tours <support@mekong-tours.example>:\n\n> こんにちは\n`)).toBe(answer);
    expect(stripQuotedHistory(`${answer}\n\n2024/05/01 9:00、Mekong Tours <support@mekong-tours.example>のメール：\n\n> こんにちは\n`)).toBe(answer);
  });

  it('drops ">" lines kept between answers, and keeps prose that only looks like a header', () => {
    expect(stripQuotedHistory('> How many people?\nThree.\n> Which date?\nMay 3.')).toBe('Three.\nMay 3.');
    const prose = 'On second thought, we would like the 10am tour.\nMy friend wrote: "see you there"';
    expect(stripQuotedHistory(prose)).toBe(prose);
    const fromLine = 'From: the hotel lobby, 9am works.\nThanks';
    expect(stripQuotedHistory(fromLine)).toBe(fromLine);
  });

  it('keeps a message that is all history rather than store nothing', () => {
    const forward = '-----Original Message-----\nFrom: x@example.com\nSent: today\n\nPlease see below';
    expect(stripQuotedHistory(forward)).toBe(forward);
    expect(stripQuotedHistory('')).toBe('');
  });
});
