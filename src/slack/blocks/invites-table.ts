import type { types } from '@slack/bolt';
import type { Invitation } from '../../invites/model.js';
import type { StatusCounts } from '../../invites/list.js';
import { ACTIONS, encodeTable, PAGE_SIZE, TABLE_STATUSES, type TableState } from '../action-values.js';
import { count, invitationButtons, invitationSection, mrkdwn, notice, plain } from './format.js';
import { LIMITS, type Block } from './limits.js';
import { escape, plainFallback } from '../text.js';

export interface InvitesTableData {
  invitations: Invitation[];
  total: number;
  state: TableState;
  counts: StatusCounts;
  /** What the last click did, shown above the table. */
  notice?: string;
  /** Where the next page starts (the list's cursor), when there is one. */
  nextCursor?: string | null;
}

const FILTER_LABELS: Record<TableState['status'], string> = {
  pending: 'Pending',
  expired: 'Expired',
  awaiting_approval: 'Awaiting approval',
  accepted: 'Accepted',
  revoked: 'Revoked',
  all: 'All',
};

/** One option per column and direction, so every column sorts both ways. */
const SORTS: Array<{ sort: TableState['sort']; order: TableState['order']; label: string }> = [
  { sort: 'created', order: 'desc', label: 'Invited: newest first' },
  { sort: 'created', order: 'asc', label: 'Invited: oldest first' },
  { sort: 'email', order: 'asc', label: 'Email: A → Z' },
  { sort: 'email', order: 'desc', label: 'Email: Z → A' },
  { sort: 'status', order: 'asc', label: 'Status: awaiting, pending first' },
  { sort: 'status', order: 'desc', label: 'Status: revoked first' },
  { sort: 'expires', order: 'asc', label: 'Expires: soonest first' },
  { sort: 'expires', order: 'desc', label: 'Expires: latest first' },
];

function option(label: string, value: string): types.PlainTextOption {
  return { text: plain(label, LIMITS.optionText), value };
}

/** The Invitations table: filter and sort controls, one section and one row of buttons per invitation, paging. */
export function invitesTable(data: InvitesTableData): { text: string; blocks: Block[] } {
  const { state } = data;
  const blocks: Block[] = [];
  const matching = state.search ? ` matching “${escape(state.search)}”` : '';
  const title = `*Invitations — ${FILTER_LABELS[state.status]}*${matching} (${count(data.total, 'invitation')})`;
  // Every status, so the parts add up to All.
  const tally = `All invitations: pending ${data.counts.pending} · awaiting approval ${data.counts.awaiting_approval} · expired ${data.counts.expired} · accepted ${data.counts.accepted} · revoked ${data.counts.revoked}`;
  blocks.push({ type: 'section', text: mrkdwn(title) }, { type: 'context', elements: [mrkdwn(tally)] });
  if (data.notice) blocks.push(notice(data.notice));

  const filterOptions = TABLE_STATUSES.map((status) => option(`Show: ${FILTER_LABELS[status]}`, encodeTable({ ...state, status, offset: 0, cursor: undefined })));
  const sortOptions = SORTS.map((s) => option(`Sort: ${s.label}`, encodeTable({ ...state, sort: s.sort, order: s.order, offset: 0, cursor: undefined })));
  blocks.push({
    type: 'actions',
    block_id: 'invites_controls',
    elements: [
      {
        type: 'static_select',
        action_id: ACTIONS.tableFilter,
        placeholder: plain('Status', LIMITS.optionText),
        options: filterOptions,
        initial_option: filterOptions[TABLE_STATUSES.indexOf(state.status)],
      },
      {
        type: 'static_select',
        action_id: ACTIONS.tableSort,
        placeholder: plain('Sort', LIMITS.optionText),
        options: sortOptions,
        initial_option: sortOptions[Math.max(0, SORTS.findIndex((s) => s.sort === state.sort && s.order === state.order))],
      },
    ],
  });
  blocks.push({ type: 'divider' });

  if (data.invitations.length === 0) {
    blocks.push({ type: 'section', text: mrkdwn(state.offset > 0 ? 'No more invitations on this page.' : `No ${state.status === 'all' ? '' : FILTER_LABELS[state.status].toLowerCase() + ' '}invitations.`) });
  }
  data.invitations.slice(0, PAGE_SIZE).forEach((invitation, i) => {
    blocks.push(invitationSection(invitation));
    const buttons = invitationButtons(invitation, 'table', state, i);
    if (buttons) blocks.push(buttons);
  });

  const first = data.total === 0 ? 0 : state.offset + 1;
  const last = Math.min(data.total, state.offset + data.invitations.length);
  blocks.push({ type: 'context', elements: [mrkdwn(`Showing ${first}–${last} of ${data.total.toLocaleString('en')}`)] });
  const paging: types.Button[] = [];
  if (state.offset > 0) {
    paging.push({ type: 'button', action_id: `${ACTIONS.tablePage}_0`, text: plain('← Prev', LIMITS.buttonText), value: encodeTable({ ...state, offset: Math.max(0, state.offset - PAGE_SIZE), cursor: undefined }) });
  }
  if (state.offset + PAGE_SIZE < data.total) {
    // From the row after this page's last, wherever rows were added or removed above it meanwhile.
    const next = { ...state, offset: state.offset + PAGE_SIZE, cursor: data.nextCursor ?? undefined };
    paging.push({ type: 'button', action_id: `${ACTIONS.tablePage}_1`, text: plain('Next →', LIMITS.buttonText), value: encodeTable(next) });
  }
  if (paging.length) blocks.push({ type: 'actions', block_id: 'invites_paging', elements: paging });

  const fallback = data.notice ? `${plainFallback(data.notice)} — ` : '';
  return { text: `${fallback}Invitations: ${FILTER_LABELS[state.status]} (${data.total})`, blocks };
}
