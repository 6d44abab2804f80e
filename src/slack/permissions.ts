import type { webApi } from '@slack/bolt';
import type { Logger } from '../logger.js';
import { can, type Member, type MembersService } from '../members/service.js';
import type { Actor } from '../shared/actor.js';
import type { Clock } from '../shared/clock.js';
import { isUniqueViolation } from '../db/index.js';

/** Who a Slack user is to Doorman, and whether they may manage members and invitations. */
export interface SlackUser {
  slackUserId: string;
  allowed: boolean;
  actor: Actor;
  member?: Member;
  name?: string;
}

interface SlackProfile {
  email?: string;
  name?: string;
}

export const PERMISSION_CACHE_MS = 60_000;

/**
 * `member:manage` for a Slack user (BRIEF, Permissions): the bootstrap ids from
 * SLACK_ADMIN_USER_IDS, or the member whose email matches the Slack profile's email
 * (`users.info`, scope users:read.email) when their role grants it. Answers are cached briefly,
 * so a busy table does not call `users.info` on every click, and a role change shows within a minute.
 */
export class SlackPermissions {
  private readonly cache = new Map<string, { at: number; user: SlackUser }>();
  private readonly bootstrap: ReadonlySet<string>;

  constructor(
    private readonly members: MembersService,
    adminUserIds: readonly string[],
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly ttlMs = PERMISSION_CACHE_MS,
  ) {
    this.bootstrap = new Set(adminUserIds);
  }

  async check(client: webApi.WebClient, slackUserId: string): Promise<SlackUser> {
    const now = this.clock.now();
    const cached = this.cache.get(slackUserId);
    if (cached && now - cached.at < this.ttlMs) return cached.user;
    const user = await this.resolve(client, slackUserId);
    this.cache.set(slackUserId, { at: now, user });
    if (this.cache.size > 5_000) this.cache.delete(this.cache.keys().next().value!);
    return user;
  }

  /** Drops a cached answer (after that user's role or state changed here). */
  forget(slackUserId: string): void {
    this.cache.delete(slackUserId);
  }

  /** Profiles of people picked in the invite modal: their emails (users without one are skipped). */
  async emailsOf(client: webApi.WebClient, slackUserIds: readonly string[]): Promise<{ emails: string[]; missing: string[] }> {
    const emails: string[] = [];
    const missing: string[] = [];
    for (const id of slackUserIds) {
      const profile = await this.profile(client, id).catch(() => undefined);
      if (profile?.email) emails.push(profile.email);
      else missing.push(id);
    }
    return { emails, missing };
  }

  private async resolve(client: webApi.WebClient, slackUserId: string): Promise<SlackUser> {
    const isBootstrap = this.bootstrap.has(slackUserId);
    let profile: SlackProfile | undefined;
    try {
      profile = await this.profile(client, slackUserId);
    } catch (error) {
      // Without the profile only a bootstrap admin is known; everyone else is refused (fail closed).
      this.logger.warn({ err: error, slackUserId }, 'users.info failed; permission decided without the profile');
      if (!isBootstrap) throw error;
    }
    const member = profile?.email ? await this.members.findByEmail(profile.email) : undefined;
    const allowed = isBootstrap || can(member, 'member:manage');
    if (member && member.state === 'active' && member.slackUserId !== slackUserId) await this.link(member, slackUserId);
    const actor: Actor = { type: 'slack', slackUserId, ...(member ? { memberId: member.id } : {}), ...(profile?.name ? { name: profile.name } : {}) };
    return { slackUserId, allowed, actor, member, name: profile?.name };
  }

  private async link(member: Member, slackUserId: string): Promise<void> {
    try {
      await this.members.linkSlackUser(member.id, slackUserId);
    } catch (error) {
      // Another member already holds this Slack id (an older email): leave both as they are.
      if (!isUniqueViolation(error)) throw error;
      this.logger.warn({ member: member.id, slackUserId }, 'Slack user already linked to another member');
    }
  }

  private async profile(client: webApi.WebClient, slackUserId: string): Promise<SlackProfile> {
    const result = await client.users.info({ user: slackUserId });
    const user = result.user;
    if (!user || user.deleted || user.is_bot) return {};
    const name = user.profile?.real_name || user.real_name || user.profile?.display_name || user.name || undefined;
    return { email: user.profile?.email || undefined, name };
  }
}
