import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';

export class PlanLimitsDto {
  @ApiProperty({ type: 'integer', nullable: true, example: 50, description: 'Most members; null: unlimited' })
  seats: number | null;

  @ApiProperty({ type: 'integer', nullable: true, example: 20, description: 'Most inboxes; null: unlimited' })
  inboxes: number | null;

  @ApiProperty({ type: 'integer', nullable: true, example: 50000, description: 'Outbound messages sent per calendar month (UTC); null: unlimited' })
  messagesPerMonth: number | null;

  @ApiProperty({ type: [String], example: ['fallback'] })
  features: string[];
}

export class BillingUsageDto {
  @ApiProperty({ example: 4, description: 'Members now' })
  seats: number;

  @ApiProperty({ example: 3, description: 'Inboxes now' })
  inboxes: number;

  @ApiProperty({ example: 1250, description: 'Outbound messages sent since the start of the month (UTC)' })
  messagesThisMonth: number;
}

export class BillingDto {
  @ApiProperty({ enum: ['free', 'team', 'business', 'self_hosted'], example: 'team', description: '`self_hosted`: billing is off on this installation; nothing is limited' })
  plan: string;

  @ApiProperty({ example: 'active', description: "Stripe's subscription status (`none` before any subscription): active, trialing, past_due, canceled, ..." })
  status: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: '2026-12-28T00:00:00.000Z' })
  currentPeriodEnd: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null, description: 'While past_due: when sending stops unless the invoice is paid' })
  graceEndsAt: string | null;

  @ApiProperty({ type: PlanLimitsDto })
  limits: PlanLimitsDto;

  @ApiProperty({ type: BillingUsageDto })
  usage: BillingUsageDto;
}

export class CheckoutDto {
  @ApiProperty({ enum: ['team', 'business'], example: 'team' })
  @IsIn(['team', 'business'])
  plan: 'team' | 'business';

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 10000, example: 5, description: 'Seats to buy (billed per seat); at least the members now. Default: the members now' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10_000)
  seats?: number;
}

export class BillingUrlDto {
  @ApiProperty({ example: 'https://checkout.stripe.com/c/pay/cs_test_a1b2c3', description: 'Send the browser here' })
  url: string;
}

export class StripeHookAnswerDto {
  @ApiProperty({ example: true })
  received: true;
}
