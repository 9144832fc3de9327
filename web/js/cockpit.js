// The leader cockpit (领导驾驶舱): today's alarms by level and domain, the last 30 days, response
// and disposal against the policy's deadlines, the map, the worst open alarms, the districts
// ranked, sensors online. Live from the feed (alarms, map, rankings at once) and /api/v1/stats
// (counts, refreshed a few seconds after each change and every minute). No build step.

import { LEVELS, presentDomains, loadDomains, state, $, t, esc, inLang, levelRank, api, TEXT, startSession, resumeSession, whoText, showSignInError } from './core.js';
import { openFeed } from './livefeed.js';
import { renderMap, renderMapMarkers, setConn } from './views.js';

Object.assign(TEXT.zh, {
  cockpit_title: '城市安全风险监测预警 · 领导驾驶舱', to_dashboard: '值班台', today_by_level: '今日报警（按等级）',
  today_by_domain: '今日报警（按行业）', sensors_online: '传感器在线率', one_map: '一张图', trend_30: '近30天报警趋势',
  response_vs_deadline: '响应与处置（近30天，对照时限）', worst_open: '最严重的未关闭报警', districts_ranked: '各区排名：未关闭报警 / 超时未处置',
  level: '等级', ack_median: '签收中位', ack_p90: '签收P90', ack_limit: '签收时限', disposal_rate: '按时处置率', overdue_now: '超时未处置',
  min_short: '分', none: '无', open_alarms: '未关闭', online_of: '在线',
  duty_coverage: '监测履职（8+8 / 5+1 / 4+X）', duty_met_of: '家达标', duty_missing: '项必备未覆盖',
});
Object.assign(TEXT.en, {
  cockpit_title: 'City Safety Monitoring · Leader cockpit', to_dashboard: 'Duty desk', today_by_level: "Today's alarms by level",
  today_by_domain: "Today's alarms by domain", sensors_online: 'Sensors online', one_map: 'One map', trend_30: 'Alarms, last 30 days',
  response_vs_deadline: 'Response and disposal (30 days) against deadlines', worst_open: 'Worst open alarms', districts_ranked: 'Districts: open alarms / overdue disposal',
  level: 'Level', ack_median: 'Ack median', ack_p90: 'Ack p90', ack_limit: 'Ack deadline', disposal_rate: 'Disposed in time', overdue_now: 'Overdue now',
  min_short: 'min', none: 'none', open_alarms: 'open', online_of: 'online',
  duty_coverage: 'Monitoring duty (8+8 / 5+1 / 4+X)', duty_met_of: 'sites meet it', duty_missing: 'unwatched',
});

const cockpit = { today: null, trend: null, byLevel: null, byDistrict: null, policy: null, duties: null };

function fitStage() {
  const s = Math.min(window.innerWidth / 1920, window.innerHeight / 1080);
  $('#stage').style.transform = `scale(${s})`;
}

function applyText() {
  document.documentElement.lang = state.lang === 'zh' ? 'zh-CN' : 'en';
  document.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n); });
  renderAll();
}

const minutes = (s) => (s === null || s === undefined ? '–' : `${(s / 60).toFixed(s < 600 ? 1 : 0)}${t('min_short')}`);
const percent = (x) => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(1)}%`);

function bars(items, cls = '') {
  const max = Math.max(1, ...items.map((i) => i.value));
  return items.map((i) => `<div class="bar ${cls}" data-key="${esc(i.key)}"><span>${esc(i.label)}</span>` +
    `<i class="${i.late ? 'late' : ''}" style="width:${((i.value / max) * 100).toFixed(1)}%"></i><span>${esc(i.text ?? i.value)}</span></div>`).join('');
}

function renderToday() {
  const d = cockpit.today;
  if (!d) return;
  const byLevel = d.total.alarms.by_level;
  $('#cp-today-levels').innerHTML = LEVELS.map((l) =>
    `<div class="cp-tile ${l}" data-level="${l}"><b>${byLevel[l] || 0}</b>${esc(t(l))}</div>`).join('');
  const rows = new Map(d.rows.map((r) => [r.group, r]));
  $('#cp-today-domains').innerHTML = bars(presentDomains().map((x) => ({ key: x, label: t(x), value: (rows.get(x) || { alarms: { raised: 0 } }).alarms.raised })));
  const s = d.total.sensors || { total: 0, online: 0, online_ratio: null };
  $('#cp-online').innerHTML = `<span class="big" data-online-ratio="${s.online_ratio ?? ''}">${percent(s.online_ratio)}</span>
    <small>${s.online} / ${s.total} ${esc(t('online_of'))}</small>
    <div class="cp-bars">${bars(presentDomains().map((x) => {
      const r = rows.get(x);
      const ratio = r && r.sensors ? r.sensors.online_ratio : null;
      return { key: x, label: t(x), value: ratio || 0, text: percent(ratio) };
    }))}</div>`;
}

// Stacked bars per day, red at the bottom: the shape of the month at a glance.
function renderTrend() {
  const d = cockpit.trend;
  if (!d) return;
  const W = 1100, H = 230, pad = 34, n = d.rows.length;
  const max = Math.max(1, ...d.rows.map((r) => r.alarms.raised));
  const bw = (W - pad) / n;
  let svg = '';
  d.rows.forEach((r, i) => {
    let y = H - 24;
    for (const l of LEVELS) {
      const h = ((r.alarms.by_level[l] || 0) / max) * (H - 44);
      if (h > 0) svg += `<rect x="${(pad + i * bw + 2).toFixed(1)}" y="${(y - h).toFixed(1)}" width="${(bw - 4).toFixed(1)}" height="${h.toFixed(1)}" style="fill:var(--${l})"/>`;
      y -= h;
    }
    if (i % 5 === 0 || i === n - 1) svg += `<text x="${(pad + i * bw + bw / 2).toFixed(1)}" y="${H - 4}" text-anchor="middle">${esc(r.group.slice(5))}</text>`;
  });
  svg += `<text x="0" y="16">${max}</text><text x="0" y="${H - 26}">0</text>`;
  $('#cp-trend').innerHTML = `<svg viewBox="0 0 ${W} ${H}" preserveAspectRatio="none" data-days="${n}">${svg}</svg>`;
}

function renderResponse() {
  const d = cockpit.byLevel;
  if (!d) return;
  const policyOf = (l) => ((cockpit.policy && cockpit.policy.policies) || []).find((p) => p.level === l && !p.domain) || {};
  const rows = d.rows.map((r) => {
    const limit = policyOf(r.group).ack_deadline_s;
    const median = r.response.ack_median_s, p90 = r.response.ack_p90_s;
    const cls = (v) => (v === null || !limit ? '' : v > limit ? 'over' : 'ok');
    return `<tr data-level="${esc(r.group)}"><td><span class="lvl ${esc(r.group)}">${esc(t(r.group))}</span></td>
      <td class="${cls(median)}">${minutes(median)}</td><td class="${cls(p90)}">${minutes(p90)}</td>
      <td>${limit ? minutes(limit) : esc(t('none'))}</td><td>${percent(r.disposal.rate)}</td>
      <td class="${r.disposal.overdue_now ? 'over' : ''}">${r.disposal.overdue_now}</td></tr>`;
  }).join('');
  $('#cp-response').innerHTML = `<table class="cp-response"><tr><th>${esc(t('level'))}</th><th>${esc(t('ack_median'))}</th>
    <th>${esc(t('ack_p90'))}</th><th>${esc(t('ack_limit'))}</th><th>${esc(t('disposal_rate'))}</th><th>${esc(t('overdue_now'))}</th></tr>${rows}</table>`;
}

// From the live alarms: the worst open ones, and each district's open alarms beside its
// overdue disposals (from /stats).
function renderLive() {
  const open = [...state.alarms.values()].filter((a) => a.category === 'process');
  const worst = open.sort((x, y) => levelRank(x.level) - levelRank(y.level) || (x.opened_at < y.opened_at ? -1 : 1)).slice(0, 7);
  $('#cp-worst').innerHTML = worst.map((a) => {
    const site = state.sites.get(a.site) || {};
    return `<li data-id="${a.id}" data-level="${a.level}"><span class="lvl ${a.level}">${esc(t(a.level))}</span> ${esc(inLang(a.title))}
      <small>· ${esc(site.name || a.site)} · ${esc(t(a.status))}</small></li>`;
  }).join('') || `<li>${esc(t('none'))}</li>`;
  const openBy = new Map();
  for (const a of open) {
    const district = (state.sites.get(a.site) || {}).district;
    if (district) openBy.set(district, (openBy.get(district) || 0) + 1);
  }
  const overdueBy = new Map(((cockpit.byDistrict && cockpit.byDistrict.rows) || []).map((r) => [r.group, r.disposal.overdue_now]));
  const districts = [...new Set([...state.sites.values()].map((s) => s.district))];
  const ranked = districts.map((d) => ({ key: d, label: d, value: openBy.get(d) || 0, overdue: overdueBy.get(d) || 0 }))
    .sort((x, y) => y.value - x.value || y.overdue - x.overdue || (x.key < y.key ? -1 : 1));
  $('#cp-districts').innerHTML = bars(ranked.map((r) => ({ ...r, text: `${r.value} / ${r.overdue}`, late: r.overdue > 0 })));
}

// The bundle sites of the caller's part of the city (an enterprise: its own) and which of them
// miss a required monitoring item (GET /api/v1/coverage).
function renderDuties() {
  const d = cockpit.duties;
  if (!d) return;
  const unmet = d.sites.filter((x) => !x.duty_met).slice(0, 3);
  $('#cp-duties').innerHTML = `<span class="big" data-met="${d.page.duty_met}" data-sites="${d.page.sites}">${d.page.duty_met} / ${d.page.sites}${d.next_cursor ? '+' : ''}</span>
    <small>${esc(t('duty_met_of'))}</small>
    <ul>${unmet.map((x) => `<li data-site="${esc(x.site)}"><span>${esc(x.name || x.site)} · ${esc(x.bundle.id)}</span>
      <b>${x.summary.required_unwatched.length} ${esc(t('duty_missing'))}</b></li>`).join('')}</ul>`;
}

function renderAll() {
  renderDuties();
  renderToday();
  renderTrend();
  renderResponse();
  renderLive();
  renderMap();
}

async function refreshStats() {
  const today = await api('GET', '/api/v1/stats?group_by=domain&top=0&from=' + todayDate() + '&to=' + todayDate());
  const [trend, byLevel, byDistrict] = await Promise.all([
    api('GET', `/api/v1/stats?group_by=day&top=0&to=${today.to}`),
    // An enterprise's figures are kept by site, not by level (docs/statistics.md): no table then.
    api('GET', `/api/v1/stats?group_by=level&top=0&to=${today.to}`).catch(() => null),
    api('GET', `/api/v1/stats?group_by=district&top=0&to=${today.to}`),
  ]);
  Object.assign(cockpit, { today, trend, byLevel, byDistrict });
  cockpit.duties = await api('GET', '/api/v1/coverage?limit=1000').catch(() => null);
  renderDuties();
  renderToday();
  renderTrend();
  renderResponse();
  renderLive();
}

// Today in the statistics' time zone: the server's default range ends there.
let serverToday = null;
function todayDate() { return serverToday; }

let statsTimer = null;
function scheduleStats(ms) {
  clearTimeout(statsTimer);
  statsTimer = setTimeout(() => refreshStats().catch(() => {}), ms);
}

async function start() {
  $('#cp-who').textContent = whoText(state.who);
  const probe = await api('GET', '/api/v1/stats?top=0&from=' + new Date(Date.now() - 86400e3).toISOString().slice(0, 10));
  serverToday = probe.to;
  await loadDomains();
  const [sites, sensors, resources, policy, settings] = await Promise.all([
    api('GET', '/api/v1/sites'),
    api('GET', '/api/v1/sensors').catch(() => ({ sensors: [] })),
    api('GET', '/api/v1/resources').catch(() => ({ resources: [] })),
    api('GET', '/api/v1/notifications/policy').catch(() => null),
    fetch('settings.json').then((r) => (r.ok ? r.json() : {})).catch(() => ({})),
  ]);
  state.sites = new Map((sites.sites || []).map((s) => [s.id, s]));
  state.sensors = sensors.sensors || [];
  state.resources = resources.resources || [];
  state.settings = settings || {};
  cockpit.policy = policy;
  if (state.settings.boundaries)
    state.boundaries = await fetch(state.settings.boundaries).then((r) => (r.ok ? r.json() : null)).catch(() => null);
  await refreshStats();
  renderAll();
  openFeed({
    status: setConn,
    snapshot: () => { renderLive(); renderMapMarkers(); },
    event: () => { renderLive(); renderMapMarkers(); scheduleStats(3000); },
    rejected: () => { $('#signin').hidden = false; },
  });
  setInterval(() => scheduleStats(0), 60000);
}

function tickClock() {
  $('#cp-clock').textContent = new Date().toLocaleString(state.lang === 'zh' ? 'zh-CN' : 'en-GB', { hour12: false });
}

async function signIn(login, password, code) {
  await startSession(login, password, code);
  $('#password').value = '';
  $('#signin').hidden = true;
  await start();
}

function init() {
  fitStage();
  window.addEventListener('resize', fitStage);
  document.querySelectorAll('.lang-toggle').forEach((b) => b.addEventListener('click', () => {
    state.lang = state.lang === 'zh' ? 'en' : 'zh';
    localStorage.setItem('cityguard.lang', state.lang);
    applyText();
  }));
  $('#signin-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await signIn($('#login').value.trim(), $('#password').value, $('#code').value.trim());
    } catch (e) { showSignInError(e); }
  });
  applyText();
  tickClock();
  setInterval(tickClock, 1000);
  resumeSession().then((me) => (me ? ($('#signin').hidden = true, start()) : Promise.reject(new Error('no session'))))
    .catch(() => { $('#signin').hidden = false; });
}

window.cityguard = { state, cockpit };
document.addEventListener('DOMContentLoaded', init);
