import { ApiResponse } from '@nestjs/swagger';

/**
 * Documents an error answer of one operation (beyond the ones openapi.ts adds to every operation),
 * as problem+json with its code in the description.
 */
export const ApiProblemResponse = (status: number, description: string): MethodDecorator & ClassDecorator =>
  ApiResponse({ status, description, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } });
