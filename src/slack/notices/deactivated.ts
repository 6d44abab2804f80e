import type { Clock } from '../../shared/clock.js';

/** How long an answer of users.info about a recipient is kept. */
const KEPT_MS = 60 * 60_000;

/**
 * Slack users deactivated in Slack. Slack still takes a DM to them (their DM history stays) and
 * nobody reads it, so a notice for an inviter who left is sent to the admins in their place, as
 * it would be for a member deactivated in Doorman. An answer is kept an hour; when Slack cannot
 * say, the recipient is taken as present.
 */
export class DeactivatedInSlack {
  private readonly known = new Map<string, { deactivated: boolean; at: number }>();

  constructor(
    private readonly read: (slackUserId: string) => Promise<boolean>,
    private readonly clock: Clock,
  ) {}

  async has(recipient: string): Promise<boolean> {
    // A channel (REPORT_CHANNEL, say) is not a person.
    if (!/^[UW]/.test(recipient)) return false;
    const now = this.clock.now();
    const kept = this.known.get(recipient);
    if (kept && now - kept.at < KEPT_MS) return kept.deactivated;
    let deactivated: boolean;
    try {
      deactivated = await this.read(recipient);
    } catch {
      return false;
    }
    this.known.set(recipient, { deactivated, at: now });
    if (this.known.size > 5_000) this.known.delete(this.known.keys().next().value!);
    return deactivated;
  }
}
