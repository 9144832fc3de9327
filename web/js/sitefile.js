// The site file (一企一档 for a site): everything known about one site on one page, from
// GET /api/v1/sites/{id}: unit and contacts, sensors and their state, open and recent alarms,
// bundle coverage, the last 30 days and the nearest emergency resources.

import { state, $, t, esc, inLang, fmtTime, fmtNum, api } from './core.js';

const pct = (x) => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(1)}%`);
const mins = (s) => (s === null || s === undefined ? '–' : `${(s / 60).toFixed(1)} ${t('min')}`);

function sensorState(s) {
  const st = s.state || {};
  if (st.offline) return `<span class="cat">${esc(t('cat_offline'))}</span>`;
  if (st.fault) return `<span class="cat">${esc(t('cat_fault'))}</span>`;
  if (st.alarm) return `<span class="lvl ${esc(st.alarm)}">${esc(t(st.alarm))}</span>`;
  return esc(t('cov_ok'));
}

function alarmItem(a) {
  return `<li data-alarm="${a.id}"><span class="lvl ${esc(a.level)}">${esc(t(a.level))}</span> ${esc(inLang(a.title))}
    <small>· ${esc(a.sensor || t('site_alarm'))} · ${esc(t(a.status))} · ${esc(fmtTime(a.last_ts))}</small></li>`;
}

export async function openSiteFile(id) {
  const box = $('#site-file');
  box.hidden = false;
  box.querySelector('.site-file-body').innerHTML = `<p class="hint">…</p>`;
  let f;
  try { f = await api('GET', `/api/v1/sites/${encodeURIComponent(id)}`); } catch (e) {
    box.querySelector('.site-file-body').innerHTML = `<p class="error">${esc(e.message)}</p>`;
    return;
  }
  const total = f.stats.total;
  const unit = f.responsible && f.responsible.unit;
  const contacts = (f.responsible && f.responsible.contacts) || [];
  const nearby = ['team', 'warehouse', 'shelter', 'expert'].map((k) => {
    const list = (f.resources.resources[k] || []).slice(0, 2);
    return list.length ? `<div><b>${esc(t(`res_${k}`))}</b> ${list.map((x) => `${esc(x.resource.name)}
      <small>${(x.distance_m / 1000).toFixed(1)} ${esc(t('km'))}${x.in_circle ? ` · ${esc(t('in_circle'))}` : ''}</small>`).join('；')}</div>` : '';
  }).join('');
  const cov = f.coverage ? `<p><b>${esc(t('coverage'))}</b> ${esc(inLang(f.coverage.bundle.name))}:
    ${f.coverage.summary.covered}/${f.coverage.summary.items} ${esc(t('cov_covered'))}</p>` : '';
  box.querySelector('.site-file-body').innerHTML = `
    <h3 id="site-file-title" data-site="${esc(f.id)}">${esc(f.name)} <small>${esc(f.id)} · ${esc(t(f.domain))} · ${esc(f.district)}</small></h3>
    <p class="hint">${esc(f.address || '')}</p>
    <div class="site-file-grid">
      <section><h4>${esc(t('responsible'))}</h4>
        <p>${unit ? esc(unit.name) : esc(t('no_unit'))}</p>
        <ul>${contacts.map((c) => `<li>${esc(c.name)} · ${esc(t(c.tier))}${c.phone ? ` · ${esc(c.phone)}` : ''}</li>`).join('')}</ul>
        ${cov}
        <h4>${esc(t('last_30_days'))} <small>${esc(f.stats.from)} – ${esc(f.stats.to)}</small></h4>
        <dl class="facts" id="site-file-stats">
          <dt>${esc(t('raised_alarms'))}</dt><dd data-raised="${total.alarms.raised}">${total.alarms.raised}
            (${['red', 'orange', 'yellow', 'blue'].map((l) => `<span class="lvl ${l}">${total.alarms.by_level[l]}</span>`).join(' ')})</dd>
          <dt>${esc(t('ack_median_long'))}</dt><dd>${mins(total.response.ack_median_s)}</dd>
          <dt>${esc(t('disposal_rate_long'))}</dt><dd>${pct(total.disposal.rate)}</dd>
          <dt>${esc(t('false_alarm'))}</dt><dd>${pct(total.alarms.false_alarm_share)}</dd>
        </dl>
        <h4>${esc(t('nearby'))}</h4><div class="site-file-nearby">${nearby}</div>
      </section>
      <section><h4>${esc(t('sensors_long'))} (${f.sensors.length})</h4>
        <table class="site-file-sensors"><tbody>${f.sensors.map((s) => `<tr data-sensor="${esc(s.id)}">
          <td>${esc(s.id)}</td><td>${esc(s.kind)}</td><td>${s.latest ? `${fmtNum(s.latest.value)} ${esc(s.unit)}` : '–'}</td>
          <td><small>${s.latest ? esc(fmtTime(s.latest.ts)) : ''}</small></td><td>${sensorState(s)}</td></tr>`).join('')}</tbody></table>
      </section>
      <section><h4>${esc(t('open_alarms_long'))} (${f.alarms.open.length})</h4><ul class="site-file-alarms" id="site-file-open">${f.alarms.open.map(alarmItem).join('')}</ul>
        <h4>${esc(t('recent_alarms'))}</h4><ul class="site-file-alarms">${f.alarms.recent.map(alarmItem).join('')}</ul>
      </section>
    </div>`;
}

export function closeSiteFile() { $('#site-file').hidden = true; }
