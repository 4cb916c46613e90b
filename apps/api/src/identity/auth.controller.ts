import { Body, Controller, Get, HttpCode, Ip, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthService, type Principal, SessionsService } from '#identity';
import { Caller, Public } from '../auth/auth.decorators.js';
import { LoginDto, MeDto, RefreshDto, SessionDto, SignupDto, SwitchWorkspaceDto } from './auth.dto.js';

@ApiTags('auth')
@Controller('v1')
export class AuthController {
  constructor(
    private readonly sessions: SessionsService,
    private readonly auth: AuthService,
  ) {}

  @Public()
  @Post('auth/signup')
  @ApiOperation({ summary: 'Create an account with its own workspace (you are its owner)' })
  @ApiCreatedResponse({ type: SessionDto, description: 'Signed in; 409 `auth.email_taken` when the email has an account' })
  signup(@Body() body: SignupDto): Promise<SessionDto> {
    return this.sessions.signup(body);
  }

  @Public()
  @Post('auth/login')
  @HttpCode(200)
  @ApiOperation({ summary: 'Log in with email and password (429 `auth.too_many_attempts` after repeated failures)' })
  @ApiOkResponse({ type: SessionDto })
  login(@Body() body: LoginDto, @Ip() ip: string): Promise<SessionDto> {
    return this.sessions.login(body, ip);
  }

  @Public()
  @Post('auth/refresh')
  @HttpCode(200)
  @ApiOperation({ summary: 'Exchange a refresh token for a new token pair (each refresh token works once)' })
  @ApiOkResponse({ type: SessionDto })
  refresh(@Body() body: RefreshDto): Promise<SessionDto> {
    return this.sessions.refresh(body.refreshToken);
  }

  @ApiBearerAuth('bearer')
  @Post('auth/switch')
  @HttpCode(200)
  @ApiOperation({ summary: 'Get a token pair for another of your workspaces (user tokens only)' })
  @ApiOkResponse({ type: SessionDto })
  switchWorkspace(@Caller() caller: Principal, @Body() body: SwitchWorkspaceDto): Promise<SessionDto> {
    return this.sessions.switchWorkspace(caller, body.workspaceId);
  }

  @ApiBearerAuth('bearer')
  @Get('me')
  @ApiOperation({ summary: 'Who the token belongs to, in which workspace' })
  @ApiOkResponse({ type: MeDto })
  me(@Caller() caller: Principal): Promise<MeDto> {
    return this.auth.me(caller);
  }
}
