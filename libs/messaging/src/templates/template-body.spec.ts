import { describe, expect, it } from 'vitest';
import { placeholdersOf, renderTemplate } from './template-body.js';

describe('template bodies', () => {
  it.each([
    ['no placeholder', 'Thanks for booking with us.', 0],
    ['one', 'Hello {{1}}!', 1],
    ['two, out of order and repeated', '{{2}} at {{1}}; see you at {{1}}', 2],
    ['spaces inside the braces', 'Hi {{ 1 }}', 1],
  ])('%s', (_name, body, count) => {
    expect(placeholdersOf(body)).toEqual({ ok: true, parameterCount: count });
  });

  it('refuses a gap in the numbering', () => {
    expect(placeholdersOf('Hello {{1}}, your {{3}}')).toEqual({ ok: false, problem: expect.stringContaining('{{2}} is missing') });
    expect(placeholdersOf('From {{2}}')).toEqual({ ok: false, problem: expect.stringContaining('{{1}} is missing') });
  });

  it('renders the parameters in order, and leaves a placeholder without one as it is', () => {
    expect(renderTemplate('Hi {{1}}, your tour is on {{2}}. Bye {{1}}.', ['Ana', 'Friday'])).toBe('Hi Ana, your tour is on Friday. Bye Ana.');
    expect(renderTemplate('Hi {{1}} {{2}}', ['Ana'])).toBe('Hi Ana {{2}}');
    expect(renderTemplate('Costs $1 {{1}}', ['$&'])).toBe('Costs $1 $&');
  });
});
