import type { FerryConfig } from '#config';
import type { Role } from '#domain';

/*
 * The names the live stream's two ends agree on: the API's socket.io Redis adapter listens on them,
 * the worker's emitter publishes on them. REDIS_PREFIX is part of the key, so installations sharing
 * one Redis never see each other's events.
 */

/** The socket.io Redis adapter's (and emitter's) channel key. */
export function liveChannelKey(config: FerryConfig): string {
  return `${config.redis.keyPrefix}:socket.io`;
}

export function workspaceRoom(workspaceId: string): string {
  return `workspace:${workspaceId}`;
}

/**
 * The rooms a member's socket joins: what they may see. Today every role sees every conversation of
 * its workspace (agents hold conversations.work, and the conversation list is not narrowed by
 * assignee or team), so everyone joins the workspace room. When agents' visibility narrows, their
 * rooms (per team, per assignee) are decided here and LivePublisher picks the rooms from the event.
 */
export function liveRoomsFor(member: { workspaceId: string; role: Role }): string[] {
  return [workspaceRoom(member.workspaceId)];
}
