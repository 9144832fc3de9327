// One alarm: its detail and history, the operator's workflow actions, and the sensor's chart
// with the rule's thresholds.

import { CLOSE_REASONS, state, $, t, esc, inLang, fmtTime, fmtNum, api } from './core.js';
import { notificationHtml, loadResponsible } from './duty.js';

// ---------- detail & actions ----------
// A live event for the shown alarm reloads it while the operator may be typing a note or
// reading an action's answer: the actions block survives a reload of the same alarm (same
// language), and only the newest of overlapping loads is drawn.
let detailLoads = 0;
export async function loadDetail(id) {
  state.selected = id;
  const load = ++detailLoads;
  let a;
  try { a = await api('GET', `/api/v1/alarms/${id}`); } catch (e) {
    if (load !== detailLoads) return;
    $('#detail').innerHTML = `<p class="error">${esc(e.message)}</p>`;
    delete $('#detail').dataset.alarm;
    return;
  }
  if (state.selected !== id || load !== detailLoads) return;
  const detail = $('#detail');
  const kept = detail.dataset.alarm === String(id) && detail.dataset.lang === state.lang
    ? detail.querySelector('.actions') : null;
  const site = state.sites.get(a.site) || {};
  const rule = state.rules.get(a.rule);
  const events = (a.events || []).map((e) => `<li><time>${esc(fmtTime(e.at))}</time><b>${esc(t(e.type))}</b>
      ${e.level ? `<span class="lvl ${e.level}">${esc(t(e.level))}</span>` : ''} ${e.value !== null && e.value !== undefined ? fmtNum(e.value) : ''}
      · ${esc(e.actor_name || e.actor)} ${e.note ? '· ' + esc(e.note) : ''}${evidenceLinks(e.evidence)}</li>`).join('');
  detail.innerHTML = `
    <h3><span class="lvl ${a.level}">${esc(t(a.level))}</span> ${esc(inLang(a.title))} <small>#${a.id}</small></h3>
    <dl class="facts">
      <dt>${esc(t('col_status'))}</dt><dd id="detail-status" data-status="${a.status}">${esc(t(a.status))} · ${esc(t(a.condition))}</dd>
      <dt>${esc(t('rule'))}</dt><dd>${esc(a.rule)}${rule && rule.source ? `<br><small class="hint">${esc(rule.source)}</small>` : ''}</dd>
      <dt>${esc(t('sensor'))}</dt><dd>${a.sensor ? esc(a.sensor) : esc(t('site_alarm'))}</dd>
      ${a.inhibited_by ? `<dt>${esc(t('part_of'))}</dt><dd class="members" id="detail-part-of"><a href="#" data-alarm="${Number(a.inhibited_by)}">#${Number(a.inhibited_by)}</a></dd>` : ''}
      ${a.members && a.members.length ? `<dt>${esc(t('members'))}</dt><dd class="members">${a.members.map((m) =>
        `<div>${m.alarm ? `<a href="#" data-alarm="${m.alarm}">#${m.alarm}</a> ${esc(m.rule)} <span class="lvl ${esc(m.level || '')}">${esc(t(m.level || ''))}</span> · ` : ''}${esc(m.sensor)}</div>`).join('')}</dd>` : ''}
      <dt>${esc(t('site'))}</dt><dd>${esc(site.name || a.site)} · ${esc(site.district || '')}</dd>
      <dt>${esc(t('value'))}</dt><dd>${fmtNum(a.value)} (${esc(t('peak'))} ${fmtNum(a.peak_value)}, ${esc(t(a.peak_level))})</dd>
      <dt>${esc(t('first'))}</dt><dd>${esc(fmtTime(a.first_ts))}</dd>
      <dt>${esc(t('last'))}</dt><dd>${esc(fmtTime(a.last_ts))}</dd>
      <dt>${esc(t('count'))}</dt><dd>${a.count}</dd>
      <dt>${esc(t('assignee'))}</dt><dd id="detail-assignee">${a.assignee ? esc(a.assignee) : '–'}</dd>
    </dl>
    <div class="advice"><b>${esc(t('advice'))}</b><br>${esc(inLang(a.advice))}</div>
    ${evidenceHtml(a.evidence)}
    <div class="actions">
      <textarea id="action-note" placeholder="${esc(t('note'))}"></textarea>
      ${['acknowledge', 'handle', 'resolve', 'close', 'comment', 'assign'].map((x) => `<button type="button" data-action="${x}">${esc(t(x))}</button>`).join('')}
      <label>${esc(t('reason'))} <select id="action-reason"><option value="">${esc(t('no_reason'))}</option>
        ${CLOSE_REASONS.map((r) => `<option value="${r}">${esc(t(r))}</option>`).join('')}</select></label>
      <span id="action-error" role="alert"></span><span id="action-ok"></span>
    </div>
    ${notificationHtml(a)}
    <div id="detail-resources"></div>
    <div id="detail-coverage"></div>
    <h4>${esc(t('timeline'))}</h4><ul class="timeline">${events}</ul>`;
  if (kept) detail.querySelector('.actions').replaceWith(kept);
  detail.dataset.alarm = String(id);
  detail.dataset.lang = state.lang;
  $('#detail').querySelectorAll('.members a[data-alarm]').forEach((link) => link.addEventListener('click', (ev) => {
    ev.preventDefault();
    loadDetail(Number(link.dataset.alarm));
  }));
  if (a.category === 'process') loadNearby(id);
  loadCoverage(a.site, id);  // 404 for a domain without a bundle: nothing shown
  if (!a.site.startsWith('group:')) loadResponsible(a.site, id);
  // A site alarm has no sensor of its own: chart its first member sensor.
  const chartSensor = a.sensor || (a.members || []).map((m) => m.sensor).find(Boolean);
  if (chartSensor && (!state.chart || state.chart.sensor !== chartSensor)) loadChart(chartSensor, a.rule);
}

// What a camera showed (docs/evidence.md): the snapshot as a picture, the clip as a link. The
// server admits http(s) URLs only; the picture is fetched without a referrer, so the video
// platform learns nothing about the dashboard.
function evidenceHtml(ev) {
  if (!ev || typeof ev !== 'object') return '';
  const facts = [ev.camera ? `${esc(t('camera'))} ${esc(ev.camera)}` : '', ev.label ? esc(ev.label) : '',
    typeof ev.confidence === 'number' ? `${Math.round(ev.confidence * 100)}%` : '',
    ev.reading_ts ? esc(fmtTime(ev.reading_ts)) : ''].filter(Boolean).join(' · ');
  return `<figure class="evidence" id="detail-evidence"><figcaption><b>${esc(t('evidence'))}</b> ${facts}
      ${ev.clip ? ` · <a href="${esc(ev.clip)}" target="_blank" rel="noopener noreferrer" id="detail-clip">${esc(t('clip'))}</a>` : ''}</figcaption>
    ${ev.snapshot ? `<a href="${esc(ev.snapshot)}" target="_blank" rel="noopener noreferrer"><img id="detail-snapshot" src="${esc(ev.snapshot)}" alt="${esc(t('snapshot'))}" referrerpolicy="no-referrer" loading="lazy"></a>` : ''}
  </figure>`;
}

function evidenceLinks(ev) {
  if (!ev || typeof ev !== 'object') return '';
  return [['snapshot', ev.snapshot], ['clip', ev.clip]].filter(([, url]) => url)
    .map(([k, url]) => ` · <a href="${esc(url)}" target="_blank" rel="noopener noreferrer">${esc(t(k))}</a>`).join('');
}

// Who and what can reach the alarm fastest: each kind's nearest, what the rule wants first,
// the 5-minute circle marked (docs/resources.md: a straight-line estimate, not routing).
async function loadNearby(id) {
  let n;
  try { n = await api('GET', `/api/v1/alarms/${id}/resources?limit=2`); } catch { return; }
  if (state.selected !== id || !n.at) return;
  const item = (x) => {
    const r = x.resource;
    const what = r.kind === 'team' ? t(`team_${r.team_kind}`) + (r.on_duty === false ? ` · ${t('off_duty')}` : '')
      : r.kind === 'warehouse' ? x.matching_materials.join(', ') : r.kind === 'shelter' ? (r.capacity ?? '') : (r.speciality || '');
    const minutes = x.travel_s === null ? '–' : Math.max(1, Math.round(x.travel_s / 60));
    return `<li class="${x.in_circle ? 'in-circle' : ''}" data-resource="${esc(r.id)}" data-kind="${esc(r.kind)}">
      <b>${esc(r.name)}</b> <small>${esc(what)}</small>
      <span class="eta">${(x.distance_m / 1000).toFixed(1)} ${esc(t('km'))} · ${esc(t('travel'))} ${minutes} ${esc(t('min'))}${x.in_circle ? ` · ${esc(t('in_circle'))}` : ''}</span>
      ${r.phone ? `<small>${esc(t('phone'))} ${esc(r.phone)}</small>` : ''}</li>`;
  };
  const kinds = ['team', 'warehouse', 'shelter', 'expert'].filter((k) => (n.resources[k] || []).length);
  $('#detail-resources').innerHTML = `<h4>${esc(t('nearby'))} <small class="hint">${esc(t('not_routing'))}</small></h4>
    ${kinds.map((k) => `<div class="nearby"><b>${esc(t(`res_${k}`))}</b> <small>${n.in_circle[k] || 0} ${esc(t('in_circle'))}</small>
      <ul>${n.resources[k].slice(0, 3).map(item).join('')}</ul></div>`).join('')}`;
}

// The site's bundle coverage ("8+8", "5+1", "4+X"): which monitoring items it has sensors
// for, and which of those are in alarm, offline or in fault.
async function loadCoverage(site, id) {
  let c;
  try { c = await api('GET', `/api/v1/sites/${encodeURIComponent(site)}/coverage`); } catch { return; }
  if (state.selected !== id) return;
  const s = c.summary;
  $('#detail-coverage').innerHTML = `<h4>${esc(t('coverage'))}: ${esc(inLang(c.bundle.name))}
      <small>${s.covered}/${s.items} ${esc(t('cov_covered'))}${s.required_unwatched.length ? ` · <span class="cov-missing">${esc(t('cov_unwatched'))} ${s.required_unwatched.map(esc).join(', ')}</span>` : ''}</small></h4>
    <ul class="coverage">${c.items.map((i) => `<li class="cov-${esc(i.state)}" data-item="${esc(i.id)}" data-state="${esc(i.state)}">
      <b>${esc(i.id)}</b> ${esc(inLang(i.name))} · <span class="cov-state">${esc(t(`cov_${i.state}`))}</span>${i.sensors.length ? ` <small>(${i.sensors.length})</small>` : ''}</li>`).join('')}</ul>`;
}

export async function act(action) {
  const id = state.selected;
  if (!id) return;
  const body = { note: $('#action-note').value };
  const reason = $('#action-reason').value;
  if (action === 'close' && reason) body.reason = reason;
  if (action === 'assign') body.user = state.who ? state.who.name : null;  // take it on myself
  $('#action-error').textContent = '';
  $('#action-ok').textContent = '';
  try {
    await api('POST', `/api/v1/alarms/${id}/${action}`, body);
    await loadDetail(id);
    if (state.selected !== id) return;
    $('#action-note').value = '';
    $('#action-reason').value = '';
    $('#action-ok').textContent = t('done');
  } catch (e) {
    $('#action-error').textContent = `${e.code || e.status}: ${e.message}`;
  }
}

// ---------- chart ----------
export function thresholdsFor(sensor, ruleId) {
  const out = [];
  const domain = (state.sites.get(sensor.site) || {}).domain;
  for (const r of state.rules.values()) {
    if (r.kind !== 'threshold' || !r.id.startsWith(domain + '.') || !(r.kinds || []).includes(sensor.kind)) continue;
    if (ruleId && r.id !== ruleId && !(r.kinds || []).includes(sensor.kind)) continue;
    for (const l of (r.params && r.params.levels) || []) {
      const limits = sensor.limits || {};
      let v = null;
      if (l.limit && limits[l.limit] !== undefined) v = limits[l.limit];
      else if (l.fraction !== undefined && limits[l.of] !== undefined) v = l.fraction * limits[l.of];
      else if (typeof l.value === 'number') v = l.value;
      if (v !== null) out.push({ level: l.level, value: v, rule: r.id });
    }
  }
  return out;
}

export async function loadChart(sensorId, ruleId) {
  const prev = state.chart;
  if (prev && state.ws && state.ws.readyState === 1)
    state.ws.send(JSON.stringify({ type: 'unsubscribe_readings', sensors: [prev.sensor] }));
  const from = new Date(Date.now() - 3600e3).toISOString();
  let sensor, hist;
  try {
    [sensor, hist] = await Promise.all([
      api('GET', `/api/v1/sensors/${encodeURIComponent(sensorId)}`),
      api('GET', `/api/v1/sensors/${encodeURIComponent(sensorId)}/readings?from=${encodeURIComponent(from)}&bucket=60s`),
    ]);
  } catch (e) {
    $('#chart').innerHTML = `<p class="error">${esc(e.message)}</p>`;
    return;
  }
  state.chart = {
    sensor: sensorId,
    unit: sensor.unit || '',
    points: (hist.buckets || []).map((b) => ({ t: Date.parse(b.ts) + 30e3, v: b.avg, min: b.min, max: b.max })),
    thresholds: thresholdsFor(sensor, ruleId),
  };
  $('#chart-title').textContent = `${sensorId} (${sensor.unit || ''})`;
  if (state.ws && state.ws.readyState === 1)
    state.ws.send(JSON.stringify({ type: 'subscribe_readings', sensors: [sensorId] }));
  renderChart();
}

export function onReading(m) {
  const c = state.chart;
  if (!c || m.sensor !== c.sensor) return;
  c.points.push({ t: Date.parse(m.ts), v: m.value, live: true });
  const cutoff = Date.now() - 3600e3;
  while (c.points.length && c.points[0].t < cutoff) c.points.shift();
  renderChart();
}

export function renderChart() {
  const c = state.chart;
  if (!c) return;
  const W = 640, H = 260, L = 56, R = 12, T = 12, B = 28;
  const now = Date.now();
  const t0 = now - 3600e3;
  const vals = c.points.flatMap((p) => [p.v, p.min ?? p.v, p.max ?? p.v]).concat(c.thresholds.map((x) => x.value));
  if (!c.points.length) {
    $('#chart').innerHTML = `<p class="hint">${esc(t('no_data'))}</p>`;
    return;
  }
  let lo = Math.min(...vals), hi = Math.max(...vals);
  if (hi === lo) { hi += 1; lo -= 1; }
  const pad = (hi - lo) * 0.08;
  lo -= pad; hi += pad;
  const x = (ts) => L + ((ts - t0) / 3600e3) * (W - L - R);
  const y = (v) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
  const line = c.points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');
  const band = c.points.filter((p) => p.min !== undefined);
  const bandPath = band.length > 1
    ? `<polygon class="chart-band" points="${band.map((p) => `${x(p.t).toFixed(1)},${y(p.max).toFixed(1)}`).join(' ')} ${band.slice().reverse().map((p) => `${x(p.t).toFixed(1)},${y(p.min).toFixed(1)}`).join(' ')}"/>`
    : '';
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const v = lo + f * (hi - lo);
    return `<line class="chart-axis" x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" opacity=".3"/>
      <text class="chart-label" x="${L - 6}" y="${y(v) + 4}" text-anchor="end">${fmtNum(v)}</text>`;
  }).join('');
  const times = [0, 15, 30, 45, 60].map((m) => {
    const ts = t0 + m * 60e3;
    const d = new Date(ts);
    return `<text class="chart-label" x="${x(ts)}" y="${H - 8}" text-anchor="${m === 60 ? 'end' : m === 0 ? 'start' : 'middle'}">${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}</text>`;
  }).join('');
  const thresholds = c.thresholds.map((th) => `<line class="threshold" data-level="${th.level}" x1="${L}" x2="${W - R}"
      y1="${y(th.value)}" y2="${y(th.value)}" style="stroke:var(--${th.level})"><title>${esc(t(th.level))} ${fmtNum(th.value)} (${esc(th.rule)})</title></line>
      <text class="chart-label" x="${W - R - 4}" y="${y(th.value) - 4}" text-anchor="end" style="fill:var(--${th.level})">${esc(t(th.level))} ${fmtNum(th.value)}</text>`).join('');
  const live = c.points.filter((p) => p.live).map((p) => `<circle class="chart-live" cx="${x(p.t)}" cy="${y(p.v)}" r="2.5"/>`).join('');
  $('#chart').innerHTML = `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(t('sensor_chart'))}">
    ${ticks}${times}${bandPath}<polyline class="chart-line" points="${line}"/>${live}${thresholds}
    <line class="chart-axis" x1="${L}" x2="${L}" y1="${T}" y2="${H - B}"/></svg>`;
}
