// Closing the loop on the board: who has been told about an alarm and when its deadlines fall,
// who answers for its site (unit and contacts), and the silences in force, which an operator
// can create and end.

import { state, $, t, esc, fmtTime, api, dueOf, fmtLeft } from './core.js';

const TIERS = ['enterprise', 'district', 'sector', 'city'];

// The alarm detail's notification section: tiers told, deadlines, deliveries.
export function notificationHtml(a) {
  const n = a.notification || {};
  const told = (n.told || []).map((x) => esc(t(x))).join(' → ') || esc(t('none_told'));
  const due = dueOf(a);
  const deadline = (kind, iso) => {
    if (!iso) return '';
    const at = Date.parse(iso);
    const live = due && due.kind === kind;
    return `<dt>${esc(t(kind))}</dt><dd>${esc(fmtTime(iso))}${live ? ` <span class="due${at < Date.now() ? ' overdue' : ''}" data-due="${at}">${esc(fmtLeft(at - Date.now()))}</span>` : ''}</dd>`;
  };
  const rows = (a.notifications || []).map((x) => `<tr data-notification="${x.id}" data-status="${esc(x.status)}">
      <td>${esc(t(`kind_${x.kind}`))}</td><td>${esc(t(x.tier))}</td><td>${esc(x.contact.name)}${(x.contact.people || []).map((p) => ` <span class="person" title="${esc(t('signs_in'))}">👤 ${esc(p.display_name)}</span>`).join('')}</td><td>${esc(x.channel)}</td>
      <td class="delivery-${esc(x.status)}">${esc(t(x.status))}${x.attempt_count > 1 ? ` ×${x.attempt_count}` : ''}</td>
      <td><small>${esc(x.last_error || '')}</small></td></tr>`).join('');
  return `<h4>${esc(t('notification'))}</h4>
    <dl class="facts" id="detail-notification">
      <dt>${esc(t('told'))}</dt><dd id="detail-told">${told}</dd>
      ${n.silenced ? `<dt>${esc(t('silenced'))}</dt><dd class="silenced-badge">#${Number(n.silence)}</dd>` : ''}
      ${deadline('ack_due', a.status === 'open' ? n.ack_due : null)}
      ${deadline('dispose_due', n.dispose_due)}
    </dl>
    ${rows ? `<table class="deliveries" id="detail-deliveries"><caption>${esc(t('deliveries'))}</caption><tbody>${rows}</tbody></table>` : ''}
    <div id="detail-responsible"></div>`;
}

// Who answers for the site: its unit and contacts (phones: operators and admins only, which
// every dashboard key is).
export async function loadResponsible(siteId, alarmId) {
  let site;
  try { site = await api('GET', `/api/v1/sites/${encodeURIComponent(siteId)}`); } catch { return; }
  if (state.selected !== alarmId) return;
  const r = site.responsible || { unit: null, contacts: [] };
  const contacts = [...r.contacts].sort((x, y) => TIERS.indexOf(x.tier) - TIERS.indexOf(y.tier));
  $('#detail-responsible').innerHTML = `<h4>${esc(t('responsible'))}</h4>
    <p>${r.unit ? `<b>${esc(r.unit.name)}</b>${r.unit.credit_code ? ` <small>${esc(r.unit.credit_code)}</small>` : ''}` : `<span class="hint">${esc(t('no_unit'))}</span>`}</p>
    <ul class="contacts">${contacts.map((c) => `<li data-contact="${esc(c.id)}"><span class="tier">${esc(t(c.tier))}</span> ${esc(c.name)}${c.domains && c.domains.length ? ` <small>[${c.domains.map((d) => esc(t(d))).join(', ')}]</small>` : ''}
      ${c.phone ? `· <a href="tel:${esc(c.phone)}">${esc(c.phone)}</a>` : ''} <small>(${c.channels.map(esc).join(', ')})</small></li>`).join('')}</ul>
    <button type="button" id="silence-site" data-site="${esc(siteId)}">${esc(t('silence_site'))}</button>`;
  $('#silence-site').addEventListener('click', () => {
    $('#silence-form [name=site]').value = siteId;
    $('#silence-form [name=reason]').focus();
  });
}

// ---------- silences ----------
export async function loadSilences() {
  if (!state.who) return;
  let list;
  try { list = await api('GET', '/api/v1/silences'); } catch { return; }
  const rows = list.silences.map((s) => {
    const m = Object.entries(s.matchers).filter(([, v]) => v).map(([k, v]) => `${esc(t(k))}=${esc(v)}`).join(' ');
    return `<li data-silence="${s.id}" data-state="${esc(s.state)}"><b>#${s.id}</b> ${m}
      · ${esc(fmtTime(s.starts_at))} ${esc(t('until'))} ${esc(fmtTime(s.ends_at))} · ${esc(s.owner)}: ${esc(s.reason)}
      <button type="button" class="link" data-end-silence="${s.id}">${esc(t('end_silence'))}</button></li>`;
  }).join('');
  $('#silence-list').innerHTML = rows || `<li class="hint">${esc(t('no_silences'))}</li>`;
}

export async function createSilence(form) {
  const body = { duration_s: Math.round(Number(form.duration.value) * 60), reason: form.reason.value };
  for (const k of ['site', 'rule', 'domain', 'district']) if (form[k].value) body[k] = form[k].value;
  $('#silence-error').textContent = '';
  try {
    await api('POST', '/api/v1/silences', body);
    form.reason.value = '';
    await loadSilences();
  } catch (e) {
    $('#silence-error').textContent = `${e.code || e.status}: ${e.message}`;
  }
}

export async function endSilence(id) {
  try { await api('DELETE', `/api/v1/silences/${id}`); } catch (e) { $('#silence-error').textContent = e.message; }
  await loadSilences();
}
