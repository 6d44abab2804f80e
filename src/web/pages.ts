import type { Invitation } from '../invites/model.js';
import { formatDateInWords, escapeHtml as h } from '../mail/templates.js';
import { PASSWORD_MAX, PASSWORD_MIN } from '../members/passwords.js';
import { ROLE_LABELS } from '../members/roles.js';

/** Pure HTML builders for the invitee's pages. No external assets: they work offline. */

/** Markup already escaped, for the rare message that holds some (a moment). */
export interface Html {
  html: string;
}

/** A moment as the page shows it: in UTC words, rewritten in the reader's own zone by the page's script. */
export function momentHtml(ms: number): string {
  return `<time datetime="${new Date(ms).toISOString()}">${h(formatDateInWords(ms))}</time>`;
}

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>${h(title)}</title>
<link rel="stylesheet" href="/assets/doorman.css">
</head>
<body>
<main class="card">
${body}
</main>
</body>
</html>`;
}

export interface FormState {
  firstName?: string;
  lastName?: string;
  errors?: Partial<Record<'first_name' | 'last_name' | 'password' | 'confirm_password' | 'form', string>>;
}

const FIELDS = ['first_name', 'last_name', 'password', 'confirm_password'] as const;

function field(id: (typeof FIELDS)[number], label: string, attrs: string, state: FormState, value = ''): string {
  const error = state.errors?.[id];
  // The server found it wrong: the cursor goes to the first such field, where a screen reader starts.
  const focus = error && FIELDS.find((f) => state.errors?.[f]) === id ? ' autofocus' : '';
  // The error paragraph is always there (empty until the script or the server fills it), so a
  // message shown in the browser is tied to its field as well as one rendered by the server.
  const describedBy = `${id}-hint ${id}-error`;
  const hint = id === 'password' ? `At least ${PASSWORD_MIN} characters.` : '';
  return `<div class="field">
<label for="${id}">${h(label)}</label>
<input id="${id}" name="${id}" ${attrs} value="${h(value)}" aria-describedby="${describedBy}"${error ? ' aria-invalid="true"' : ''}${focus}>
<p class="hint" id="${id}-hint">${h(hint)}</p>
<p class="error" id="${id}-error" aria-live="polite">${error ? h(error) : ''}</p>
</div>`;
}

export function acceptForm(invitation: Invitation, orgName: string, token: string, state: FormState = {}): string {
  // <bdi>: a name in a right-to-left script keeps its own direction, and its edge characters stay put.
  const inviter = invitation.invitedBy.name ? `<bdi>${h(invitation.invitedBy.name)}</bdi> invited you` : 'You are invited';
  const summary = state.errors?.form ? `<div class="alert" role="alert">${h(state.errors.form)}</div>` : '';
  // The password fields carry no maxlength: a browser counts it in UTF-16 units and silently cuts a
  // pasted password to fit, storing a hash of a password nobody has. The script and server say so instead.
  return layout(
    // The title is read first: it says at once that the form came back with something to correct.
    `${state.errors?.form ? 'Error: ' : ''}Join ${orgName}`,
    `<h1>Join ${h(orgName)}</h1>
<p class="lead">${inviter} to join <strong>${h(orgName)}</strong> as <strong>${h(ROLE_LABELS[invitation.role])}</strong>.</p>
${invitation.message ? `<blockquote class="message" dir="auto">${h(invitation.message)}</blockquote>` : ''}
<dl class="facts">
<dt>Email</dt><dd>${h(invitation.email)}</dd>
<dt>Expires</dt><dd>${momentHtml(invitation.expiresAt)}</dd>
</dl>
${summary}
<form method="post" action="/invite" id="accept-form" novalidate>
<input type="hidden" name="token" value="${h(token)}">
<div class="field">
<label for="username">Email</label>
<input id="username" name="username" type="email" autocomplete="username" value="${h(invitation.email)}" readonly aria-describedby="username-hint">
<p class="hint" id="username-hint">You sign in with this address.</p>
</div>
${field('first_name', 'First name', 'type="text" autocomplete="given-name" required maxlength="200"', state, state.firstName)}
${field('last_name', 'Last name', 'type="text" autocomplete="family-name" required maxlength="200"', state, state.lastName)}
${field('password', 'Password', `type="password" autocomplete="new-password" required minlength="${PASSWORD_MIN}"`, state)}
${field('confirm_password', 'Confirm password', `type="password" autocomplete="new-password" required minlength="${PASSWORD_MIN}"`, state)}
<p class="show" hidden><label><input type="checkbox" id="show_passwords"> Show passwords</label></p>
<button type="submit">Accept invitation</button>
</form>
<script src="/assets/accept.js"></script>`,
  );
}

export function acceptedPage(email: string, orgName: string, roleLabel: string, signInUrl?: string): string {
  return layout(
    `Welcome to ${orgName}`,
    `<h1 id="welcome">Welcome to ${h(orgName)}</h1>
<p class="lead">Your account is ready. You joined as <strong>${h(roleLabel)}</strong>.</p>
<p>Sign in with <strong>${h(email)}</strong> and the password you just chose.</p>${signInLink(signInUrl, orgName)}`,
  );
}

/** The way on to the organization's sign-in (SIGN_IN_URL); without one, who can say where it is. */
export function signInLink(signInUrl: string | undefined, orgName: string): string {
  if (signInUrl) return `\n<p><a class="button" href="${h(signInUrl)}">Sign in</a></p>`;
  return `\n<p>Not sure where to sign in? Ask whoever invited you, or an admin of ${h(orgName)}.</p>`;
}

/**
 * A page that explains a dead or refused link and what to do next. The browser's tab names the organization,
 * among the reader's other tabs; a message with a moment loads the script that writes it in the reader's zone.
 */
export function problemPage(orgName: string, title: string, message: string | Html, next?: string, extra = ''): string {
  const lead = typeof message === 'string' ? h(message) : message.html;
  const script = typeof message === 'string' ? '' : '\n<script src="/assets/accept.js"></script>';
  return layout(`${title} · ${orgName}`, `<h1>${h(title)}</h1>\n<p class="lead" role="alert">${lead}</p>${next ? `\n<p>${h(next)}</p>` : ''}${extra}${script}`);
}

/** The expired page's way out: a POST, so that opening the page still changes nothing. */
export function renewalRequestForm(token: string): string {
  return `
<form method="post" action="/invite/renewal">
<input type="hidden" name="token" value="${h(token)}">
<button type="submit">Ask for a new invitation</button>
</form>`;
}

/** The answer to a renewal request: the same whether or not a request went out. */
export function renewalRequestedPage(orgName: string): string {
  return problemPage(
    orgName,
    'New invitation requested',
    `If this invitation can still be renewed, whoever sent it has been asked to send you a new one.`,
    `A new invitation arrives by email, with a new link. If none comes, ask an admin of ${orgName}.`,
  );
}

export const STYLESHEET = `*{box-sizing:border-box}
html{font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1d1c1d;background:#f4f4f6;line-height:1.5}
body{margin:0;padding:16px;min-height:100vh;display:flex;align-items:flex-start;justify-content:center}
.card{background:#fff;width:100%;max-width:440px;margin-top:6vh;padding:28px 24px;border-radius:12px;box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{font-size:1.5rem;margin:0 0 8px;overflow-wrap:anywhere}
.lead{margin:0 0 16px;font-size:1.05rem;overflow-wrap:anywhere}
.facts{display:grid;grid-template-columns:auto 1fr;gap:4px 12px;margin:0 0 20px;font-size:.95rem}
.facts dt{color:#616061}.facts dd{margin:0;overflow-wrap:anywhere}
.field{margin-bottom:14px}
label{display:block;font-weight:600;margin-bottom:4px}
input{width:100%;font:inherit;padding:10px 12px;border:1px solid #8d8d8f;border-radius:8px}
input[readonly]{background:#f4f4f6;border-color:#d1d2d3}
input:focus{outline:3px solid #1264a3;outline-offset:1px;border-color:#1264a3}
input[aria-invalid=true]{border-color:#c9252d}
.show{margin:0 0 12px}.show input{width:auto;margin:0 6px 0 0;vertical-align:middle}
.hint{margin:4px 0 0;font-size:.85rem;color:#616061}.hint:empty{display:none}
.error{margin:4px 0 0;font-size:.9rem;color:#c9252d;font-weight:600}.error:empty{display:none}
.message{margin:0 0 16px;padding:8px 12px;border-left:4px solid #d1d2d3;white-space:pre-line;overflow-wrap:anywhere}
.alert{background:#fdecea;color:#8a1c1c;border-radius:8px;padding:10px 12px;margin-bottom:16px}
button{width:100%;font:inherit;font-weight:700;color:#fff;background:#1264a3;border:0;border-radius:8px;padding:12px;cursor:pointer;margin-top:6px}
a.button{display:block;text-align:center;font-weight:700;color:#fff;background:#1264a3;border-radius:8px;padding:12px;text-decoration:none;margin-top:6px}a.button:hover{background:#0b4c80}a.button:focus-visible{outline:3px solid #1d1c1d;outline-offset:2px}
button:hover{background:#0b4c80}button:disabled{background:#616061;cursor:progress}button:focus-visible{outline:3px solid #1d1c1d;outline-offset:2px}
@media (prefers-color-scheme:dark){html{background:#1a1d21;color:#e8e8e8}.card{background:#222529;box-shadow:none}.facts dt,.hint{color:#ababad}input{background:#1a1d21;color:#e8e8e8}input[readonly]{background:#222529;border-color:#616061}input:focus{outline-color:#4ea1ff;border-color:#4ea1ff}input[aria-invalid=true]{border-color:#ff8a8a}.error{color:#ff8a8a}.alert{background:#4a1f22;color:#ffd7d7}button:focus-visible,a.button:focus-visible{outline-color:#e8e8e8}}
`;

/** Moments in the reader's zone, and inline validation in the browser (the server checks everything again). */
export const ACCEPT_SCRIPT = `(function(){
// Moments in the reader's own time zone (the page says them in UTC, for the browser without script).
Array.prototype.forEach.call(document.querySelectorAll('time[datetime]'),function(t){try{var d=new Date(t.getAttribute('datetime'));t.title=t.textContent;t.textContent=d.toLocaleString(undefined,{weekday:'long',day:'numeric',month:'long',year:'numeric',hour:'2-digit',minute:'2-digit',timeZoneName:'short'})}catch(x){}});
var form=document.getElementById('accept-form');if(!form)return;
var min=${PASSWORD_MIN},max=${PASSWORD_MAX};
function show(id,msg){var input=document.getElementById(id),out=document.getElementById(id+'-error');out.textContent=msg||'';if(msg){input.setAttribute('aria-invalid','true')}else{input.removeAttribute('aria-invalid')}return !msg}
function check(id){var v=document.getElementById(id).value,p=document.getElementById('password').value;
if(id==='first_name')return show(id,v.trim()?'':'Enter your first name.');
if(id==='last_name')return show(id,v.trim()?'':'Enter your last name.');
if(id==='password'){var n=Array.from(v).length;return show(id,n<min?'Use at least '+min+' characters.':n>max?'Use at most '+max+' characters.':'')}
if(id==='confirm_password')return show(id,v!==p?'The passwords do not match.':'');}
var ids=['first_name','last_name','password','confirm_password'];
// Checked on submit, then live while a marked field is corrected. Not on blur: a message appearing
// under the field just left would move the button away from a click in progress.
ids.forEach(function(id){document.getElementById(id).addEventListener('input',function(){if(document.getElementById(id).getAttribute('aria-invalid'))check(id)})});
// Sent once: a double click would post twice, and the second answer ("already used") would replace
// the welcome. The form comes back if the page is still here well after any answer would have come
// (the user stopped the request, the network failed), or is restored from the back-forward cache.
var button=form.querySelector('button[type=submit]'),label=button.textContent,sent=false;
function ready(){sent=false;button.disabled=false;button.textContent=label}
// Typing a long passphrase twice on a phone, unseen, is where most mistakes come from. Shown only with
// the script that works it; hidden again before sending, so password managers still offer to save it.
var shown=document.getElementById('show_passwords');
function reveal(on){['password','confirm_password'].forEach(function(id){document.getElementById(id).type=on?'text':'password'})}
if(shown){shown.parentNode.parentNode.hidden=false;shown.addEventListener('change',function(){reveal(shown.checked)})}
form.addEventListener('submit',function(e){if(shown&&shown.checked){shown.checked=false;reveal(false)}if(sent){e.preventDefault();return}var ok=true,first=null;ids.forEach(function(id){if(!check(id)){ok=false;first=first||id}});if(!ok){e.preventDefault();document.getElementById(first).focus();return}
sent=true;button.disabled=true;button.textContent='Creating your account\u2026';setTimeout(ready,35000)});
window.addEventListener('pageshow',function(e){if(e.persisted)ready()});
})();`;
