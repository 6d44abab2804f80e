import type { webApi } from '@slack/bolt';
import { rateLimitWaitMs, slackRefusal } from './refusals.js';
import type { Logger } from '../logger.js';
import { can, displayName, type Member, type MembersService } from '../members/service.js';
import type { Actor } from '../shared/actor.js';
import type { Clock } from '../shared/clock.js';
import { describeError } from '../shared/errors.js';

/** Who a Slack user is to Doorman, and whether they may manage members and invitations. */
export interface SlackUser {
  slackUserId: string;
  allowed: boolean;
  /** May approve or deny invitations held by the rule "Policy" (invite:approve, or a bootstrap admin). */
  mayApprove?: boolean;
  actor: Actor;
  member?: Member;
  name?: string;
  /** Why a refused user is refused, in the words they read. */
  refusal?: string;
}

/** What users.info says of a person that matters here. */
export interface SlackProfile {
  /** The workspaces the user belongs to: their own, and on Enterprise Grid every workspace of the organization they are in. */
  teamIds: string[];
  email?: string;
  emailConfirmed: boolean;
  /** A guest (single- or multi-channel), or someone from another organization (Slack Connect). */
  outsider: boolean;
  /** The account was deactivated in Slack (Slack still takes DMs to it; nobody reads them). */
  deactivated?: boolean;
  name?: string;
}

export const NOT_PERMITTED = ':lock: You need the *Member: Manage* permission to do this. Ask an admin of your organization.';
export const NOT_APPROVER = ':lock: You need the *Invite: Approve* permission to approve or deny invitations. Ask an admin of your organization.';
export const PROFILE_UNAVAILABLE = ':warning: I could not check your Slack profile just now, so nothing was changed. Please try again in a moment.';
const OTHER_WORKSPACE = ':lock: Doorman answers only people of the workspace it is installed in.';

export const IDENTITY_CACHE_MS = 60_000;
/** People picked are looked up this many at a time. */
const LOOKUPS_AT_ONCE = 10;
/** A picked person's lookup waits out Slack's Retry-After this many times at most, each no longer than this. */
const LOOKUP_ATTEMPTS = 3;
const MAX_LOOKUP_WAIT_MS = 10_000;
/** How long a refusal may still answer a request that cannot ask Slack (a modal typed for a while). */
const REFUSAL_KEPT_MS = 15 * 60_000;
/** How long a request that cannot ask Slack waits for a lookup already under way (the modal's opening). */
const IN_FLIGHT_WAIT_MS = 1_500;

export interface IdentityDeps {
  members: MembersService;
  clock: Clock;
  logger: Logger;
  /** SLACK_ADMIN_USER_IDS: Member: Manage without a member record. */
  bootstrapAdmins: readonly string[];
  /** users.info, read into the facts above (may throw: Slack down, timeout). */
  profile(slackUserId: string): Promise<SlackProfile>;
  /** The id of the workspace Doorman is installed in (auth.test), once known. */
  installedTeam(): string | undefined;
}

/**
 * Decides who a Slack user is: a bootstrap admin (SLACK_ADMIN_USER_IDS), the member linked to their Slack id,
 * or at first the member with their profile's email if that profile is trusted (installed workspace, no guest
 * or outsider, email confirmed). A member linked to another Slack user is never moved: the newcomer is refused.
 */
export class SlackIdentities {
  private readonly cache = new Map<string, { at: number; user: SlackUser }>();
  private readonly inFlight = new Map<string, Promise<SlackUser>>();
  private readonly names = new Map<string, string>();
  private readonly bootstrap: ReadonlySet<string>;
  /** The confirmed profile email of each bootstrap admin seen (null: none to trust), to find their member account; read again after a while. */
  private readonly bootstrapEmails = new Map<string, { email: string | null; at: number }>();

  constructor(private readonly deps: IdentityDeps) {
    this.bootstrap = new Set(deps.bootstrapAdmins);
  }

  /**
   * Who is asking. `mayAskSlack: false` decides from the database alone (a modal submission cannot wait on
   * the Web API), refusing a stranger for now. `changes`: a kept "allowed" is read again, since another
   * instance or the CLI may have demoted or deactivated them meanwhile; a kept refusal still answers.
   */
  async identify(slackUserId: string, teamId: string | undefined, options: { mayAskSlack?: boolean; changes?: boolean } = {}): Promise<SlackUser> {
    const mayAsk = options.mayAskSlack ?? true;
    const now = this.deps.clock.now();
    const cached = this.cache.get(slackUserId);
    const trusted = this.bootstrap.has(slackUserId) || this.sameTeam(teamId);
    // A bootstrap admin's standing comes from SLACK_ADMIN_USER_IDS, not the database: kept is enough.
    const keptEnough = cached && !(options.changes && cached.user.allowed && !this.bootstrap.has(slackUserId));
    if (cached && keptEnough && trusted && now - cached.at < (mayAsk || cached.user.allowed ? IDENTITY_CACHE_MS : REFUSAL_KEPT_MS)) return cached.user;
    if (!mayAsk) {
      // The modal's opening may be reading this person's profile right now: its answer is worth a short wait.
      const looking = this.inFlight.get(slackUserId);
      if (looking && trusted) {
        const settled = await Promise.race([looking.catch(() => undefined), new Promise<undefined>((resolve) => void setTimeout(resolve, IN_FLIGHT_WAIT_MS))]);
        if (settled) return settled;
      }
      return this.decide(slackUserId, teamId, false);
    }
    // One lookup per person at a time: two requests at once share it.
    const under = this.inFlight.get(slackUserId);
    if (under) return under;
    const lookup = this.decide(slackUserId, teamId, true);
    this.inFlight.set(slackUserId, lookup);
    try {
      const user = await lookup;
      // Kept only what holds for this person whatever the request: not "try again", not "wrong workspace".
      if (user.refusal !== PROFILE_UNAVAILABLE && user.refusal !== OTHER_WORKSPACE) this.remember(slackUserId, user, now);
      return user;
    } finally {
      if (this.inFlight.get(slackUserId) === lookup) this.inFlight.delete(slackUserId);
    }
  }

  /** Drops a kept answer (after that user's role or state changed here). */
  forget(slackUserId: string): void {
    this.cache.delete(slackUserId);
  }

  /**
   * The profile emails of people picked or mentioned; those without one are listed apart with why (no email
   * on the profile, or the profile not readable just now, which is not the same thing).
   */
  async emailsOf(slackUserIds: readonly string[], options: { patient?: boolean } = {}): Promise<{ emails: string[]; unusable: Array<{ entry: string; reason: string }> }> {
    // Patient (after the answer, the form's people): a few at a time, each 429 waited out, since
    // users.info allows bursts, not a hundred calls at once. Otherwise (the command's mentions,
    // before its ack): all at once, and whoever Slack holds back is named so.
    const patient = options.patient ?? true;
    const results = new Array<SlackProfile | Error>(slackUserIds.length);
    let next = 0;
    const lane = async () => {
      for (let i = next++; i < slackUserIds.length; i = next++) results[i] = patient ? await this.profileWaitingOutLimits(slackUserIds[i]!) : await this.deps.profile(slackUserIds[i]!).catch((error: unknown) => error as Error);
    };
    await Promise.all(Array.from({ length: Math.min(patient ? LOOKUPS_AT_ONCE : slackUserIds.length, slackUserIds.length) }, lane));
    const emails: string[] = [];
    const unusable: Array<{ entry: string; reason: string }> = [];
    results.forEach((profile, i) => {
      const entry = `<@${slackUserIds[i]!}>`;
      if (profile instanceof Error) unusable.push({ entry, reason: notShown(profile) ? 'Slack does not show their profile to Doorman' : 'their Slack profile could not be read just now; try again in a minute' });
      else if (profile.email) emails.push(profile.email);
      else unusable.push({ entry, reason: profile.deactivated ? 'deactivated in Slack' : 'no email address on their Slack profile' });
    });
    return { emails, unusable };
  }

  /** users.info for a person picked, Slack's Retry-After waited out a few times when it asks to slow down. */
  private async profileWaitingOutLimits(slackUserId: string): Promise<SlackProfile | Error> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.deps.profile(slackUserId);
      } catch (error) {
        const waitMs = rateLimitWaitMs(error);
        if (waitMs === undefined || waitMs > MAX_LOOKUP_WAIT_MS || attempt >= LOOKUP_ATTEMPTS) return error as Error;
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
    }
  }

  private remember(slackUserId: string, user: SlackUser, now: number): void {
    this.cache.set(slackUserId, { at: now, user });
    if (this.cache.size > 5_000) this.cache.delete(this.cache.keys().next().value!);
  }

  /** The request comes from the installed workspace (unknown until auth.test answered: not trusted yet). */
  private sameTeam(teamId: string | undefined): boolean {
    const installed = this.deps.installedTeam();
    return installed !== undefined && (teamId === undefined || teamId === installed);
  }

  private async decide(slackUserId: string, teamId: string | undefined, mayAsk: boolean): Promise<SlackUser> {
    const refuse = (refusal: string, member?: Member, name?: string): SlackUser => ({ slackUserId, allowed: false, actor: slackActor(slackUserId, member, name), member, name, refusal });

    if (this.bootstrap.has(slackUserId)) return this.bootstrapAdmin(slackUserId, mayAsk);
    if (this.deps.installedTeam() === undefined) return refuse(PROFILE_UNAVAILABLE);
    if (!this.sameTeam(teamId)) return refuse(OTHER_WORKSPACE);

    const linked = await this.deps.members.findBySlackUserId(slackUserId);
    if (linked) return this.byRole(slackUserId, linked, slackActor(slackUserId, linked, displayName(linked)));
    if (!mayAsk) return refuse(PROFILE_UNAVAILABLE);

    let profile: SlackProfile;
    try {
      profile = await this.deps.profile(slackUserId);
    } catch (error) {
      // A profile Slack will never show (another organization's user, say) is a refusal, not "try again".
      if (notShown(error)) return refuse(NOT_PERMITTED);
      this.deps.logger.warn({ slackUserId, error: describeError(error) }, 'users.info failed; the user is refused for now');
      return refuse(PROFILE_UNAVAILABLE);
    }
    if (profile.name) this.names.set(slackUserId, profile.name);
    const trusted = profile.email && profile.emailConfirmed && !profile.outsider && profile.teamIds.includes(this.deps.installedTeam()!);
    if (!trusted) return refuse(NOT_PERMITTED, undefined, profile.name);
    const member = await this.deps.members.findByEmail(profile.email!);
    if (!member || member.state !== 'active') return refuse(NOT_PERMITTED, member, profile.name);
    if (member.slackUserId && member.slackUserId !== slackUserId) {
      await this.deps.members.refuseSlackLink(member.id, slackUserId, 'the member is linked to another Slack user');
      this.deps.logger.warn({ member: member.id, slackUserId }, 'Slack user refused: their profile email belongs to a member linked to another Slack user');
      return refuse(NOT_PERMITTED, undefined, profile.name);
    }
    const actor = slackActor(slackUserId, member, profile.name ?? displayName(member));
    // Only someone who may act is linked: a refused request changes nothing.
    if (!can(member, 'member:manage')) return this.byRole(slackUserId, member, actor);
    if (!(await this.deps.members.linkSlackUser(member.id, slackUserId, actor))) {
      // Linked meanwhile: to this Slack user by another request (fine), or to someone else (refused).
      const now = await this.deps.members.findBySlackUserId(slackUserId);
      if (now?.id !== member.id) return refuse(NOT_PERMITTED, undefined, profile.name);
    }
    return this.byRole(slackUserId, { ...member, slackUserId }, actor);
  }

  /**
   * A bootstrap admin may act whatever the database holds. Their member account, found by trusted email,
   * is linked so the two-person rule (it compares linked identities) sees one person. With no readable
   * profile they act but do not approve; a Deny (cannot ask Slack, only withholds) goes by what is known.
   */
  private async bootstrapAdmin(slackUserId: string, mayAsk: boolean): Promise<SlackUser> {
    const admin = (member: Member | undefined, name: string | undefined, mayApprove = true): SlackUser => ({
      slackUserId,
      allowed: true,
      mayApprove,
      actor: slackActor(slackUserId, member, name),
      member,
      name,
      ...(mayApprove ? {} : { refusal: PROFILE_UNAVAILABLE }),
    });
    const linked = await this.deps.members.findBySlackUserId(slackUserId);
    if (linked) return admin(linked, displayName(linked) ?? this.names.get(slackUserId));
    const known = this.bootstrapEmails.get(slackUserId);
    // Read (again, after a while); a reading that cannot be made keeps what was known, if anything.
    if (mayAsk && (!known || this.deps.clock.now() - known.at >= REFUSAL_KEPT_MS)) {
      const read = await this.trustedEmail(slackUserId);
      if (read !== undefined) this.bootstrapEmails.set(slackUserId, { email: read, at: this.deps.clock.now() });
      else if (!known) return admin(undefined, this.names.get(slackUserId), false);
    }
    // Looked up each time: a member account made later is still found.
    const email = this.bootstrapEmails.get(slackUserId)?.email;
    const member = email ? await this.deps.members.findByEmail(email) : undefined;
    if (!member) return admin(undefined, this.names.get(slackUserId));
    const name = this.names.get(slackUserId) ?? displayName(member);
    // Linked when the member has no Slack user yet; one linked to another still counts as this person.
    if (!member.slackUserId) await this.deps.members.linkSlackUser(member.id, slackUserId, slackActor(slackUserId, member, name));
    return admin(member, name);
  }

  /** The email a bootstrap admin's profile proves (null: none it proves); undefined when it cannot be read now. */
  private async trustedEmail(slackUserId: string): Promise<string | null | undefined> {
    const installed = this.deps.installedTeam();
    if (installed === undefined) return undefined;
    try {
      const profile = await this.deps.profile(slackUserId);
      if (profile.name) this.names.set(slackUserId, profile.name);
      return profile.email && profile.emailConfirmed && !profile.outsider && profile.teamIds.includes(installed) ? profile.email : null;
    } catch (error) {
      this.deps.logger.warn({ slackUserId, error: describeError(error) }, 'users.info failed; a bootstrap admin not yet known may not approve for now');
      return undefined;
    }
  }

  private byRole(slackUserId: string, member: Member, actor: Actor): SlackUser {
    const name = actor.type === 'slack' ? actor.name : undefined;
    if (can(member, 'member:manage')) return { slackUserId, allowed: true, mayApprove: can(member, 'invite:approve'), actor, member, name };
    this.deps.logger.info({ slackUserId, member: member.id }, 'Slack user refused: no member:manage');
    return { slackUserId, allowed: false, actor, member, name, refusal: NOT_PERMITTED };
  }
}

/** users.info refused for good: the user does not exist, or Slack does not show them to this app. */
function notShown(error: unknown): boolean {
  const refusal = slackRefusal(error);
  return refusal === 'user_not_found' || refusal === 'user_not_visible';
}

/** A Slack user as the actor of a change, with the member they are (if known) and their name. */
function slackActor(slackUserId: string, member?: Member, name?: string): Actor {
  return { type: 'slack', slackUserId, ...(member ? { memberId: member.id } : {}), ...(name ? { name } : {}) };
}

/**
 * The workspace a click or view submission came from: `team` (on Enterprise Grid `user.team_id` may be
 * another of the organization's), else `user.team_id` for an org-wide install. Not Bolt's reading: for a
 * submission it prefers the installing workspace, letting a Slack Connect submitter's pass unseen.
 */
export function payloadTeam(body: { team?: { id?: string } | null; user?: { team_id?: string } }): string | undefined {
  return body.team?.id ?? body.user?.team_id;
}

/** users.info through `client`, read into the facts identity needs. */
export async function readProfile(client: webApi.WebClient, slackUserId: string): Promise<SlackProfile> {
  const result = await client.users.info({ user: slackUserId });
  const user = result.user as (NonNullable<typeof result.user> & { is_stranger?: boolean; is_email_confirmed?: boolean }) | undefined;
  if (!user || user.deleted || user.is_bot) return { teamIds: [], emailConfirmed: false, outsider: true, deactivated: user?.deleted === true };
  return {
    teamIds: [...new Set([user.team_id, ...(user.enterprise_user?.teams ?? [])].filter((id): id is string => !!id))],
    email: user.profile?.email || undefined,
    emailConfirmed: user.is_email_confirmed === true,
    outsider: !!(user.is_restricted || user.is_ultra_restricted || user.is_stranger),
    name: user.profile?.real_name || user.real_name || user.profile?.display_name || user.name || undefined,
  };
}
