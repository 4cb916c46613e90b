import { describe, expect, it } from 'vitest';
import { parseStripeForm } from './stripe-form.js';

describe('parseStripeForm', () => {
  it('decodes bracketed keys into objects and arrays', () => {
    const body = 'mode=subscription&line_items[0][price]=price_team&line_items[0][quantity]=3&metadata[workspaceId]=w1&expand[]=a&expand[]=b';
    expect(parseStripeForm(body)).toEqual({
      mode: 'subscription',
      line_items: [{ price: 'price_team', quantity: '3' }],
      metadata: { workspaceId: 'w1' },
      expand: ['a', 'b'],
    });
  });
});
