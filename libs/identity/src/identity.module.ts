import { Module } from '@nestjs/common';
import { AuthService } from './auth.service.js';
import { ApiKeysRepository } from './api-keys.repository.js';

@Module({ providers: [AuthService, ApiKeysRepository], exports: [AuthService] })
export class IdentityModule {}
