// CityGuard command-center dashboard. Plain ES2020, no build step: the server serves this file
// as it is. State comes from the REST API once and then from the live feed (/api/v1/feed),
// which resumes with `since` after a dropped connection, so the list never misses an event.
'use strict';

const LEVELS = ['red', 'orange', 'yellow', 'blue'];
const DOMAINS = ['gas_pipeline', 'gas_station', 'bridge', 'ground', 'chemical_plant', 'major_hazard'];
const STATUSES = ['open', 'acknowledged', 'handling', 'resolved', 'closed'];
const CLOSE_REASONS = ['false_alarm', 'device_fault', 'test', 'duplicate'];

const TEXT = {
  zh: {
    app_title: '城市安全风险监测预警平台', api_key: 'API 密钥', sign_in: '登录', sign_out: '退出',
    key_hint: '密钥只保存在本标签页 (sessionStorage)，不会出现在地址栏。', bad_key: '密钥无效或无权限',
    live_alarms: '实时告警', site_map: '监测点位图', alarm_detail: '告警详情', sensor_chart: '传感器曲线',
    clear_filters: '清除筛选', no_alarms: '当前没有符合条件的告警', pick_alarm: '点击列表中的告警查看详情',
    pick_alarm_chart: '选择告警后显示该传感器最近一小时曲线',
    col_level: '等级', col_title: '告警', col_site: '点位', col_value: '数值', col_status: '状态', col_time: '时间',
    all_levels: '全部等级', all_domains: '全部行业', all_districts: '全部辖区',
    red: '红色', orange: '橙色', yellow: '黄色', blue: '蓝色',
    gas_pipeline: '燃气管网', gas_station: '加油站', bridge: '桥梁', ground: '地面沉降', chemical_plant: '化工企业',
    major_hazard: '重大危险源',
    open: '待确认', acknowledged: '已确认', handling: '处置中', resolved: '已解决', closed: '已关闭',
    active: '持续', cleared: '已恢复', unknown: '未知',
    acknowledge: '确认', handle: '处置', resolve: '解决', close: '关闭', note: '备注', reason: '关闭原因',
    no_reason: '（无）', false_alarm: '误报', device_fault: '设备故障', test: '测试', duplicate: '重复',
    rule: '规则', sensor: '传感器', site: '点位', district: '辖区', value: '当前值', peak: '峰值',
    first: '首次', last: '最近', count: '次数', advice: '处置建议', timeline: '处置记录', done: '已提交',
    offline: '离线传感器', live: '实时', connecting: '连接中', disconnected: '已断开', sound_on: '声音：开',
    sound_off: '声音：关', no_data: '最近一小时无数据', thresholds: '阈值', new_red: '新的红色告警',
    raised: '触发', escalated: '升级', deescalated: '降级', reactivated: '再次触发',
  },
  en: {
    app_title: 'City Safety Monitoring & Early Warning', api_key: 'API key', sign_in: 'Sign in', sign_out: 'Sign out',
    key_hint: 'The key stays in this tab (sessionStorage) and never appears in the URL.',
    bad_key: 'Invalid key or not allowed', live_alarms: 'Live alarms', site_map: 'Site map',
    alarm_detail: 'Alarm detail', sensor_chart: 'Sensor chart', clear_filters: 'Clear filters',
    no_alarms: 'No alarms match', pick_alarm: 'Pick an alarm in the list', pick_alarm_chart:
      'Pick an alarm to see its sensor over the last hour',
    col_level: 'Level', col_title: 'Alarm', col_site: 'Site', col_value: 'Value', col_status: 'Status',
    col_time: 'Time', all_levels: 'All levels', all_domains: 'All domains', all_districts: 'All districts',
    red: 'Red', orange: 'Orange', yellow: 'Yellow', blue: 'Blue',
    gas_pipeline: 'Gas pipeline', gas_station: 'Gas station', bridge: 'Bridge', ground: 'Ground',
    chemical_plant: 'Chemical plant', major_hazard: 'Major hazard',
    open: 'Open', acknowledged: 'Acknowledged', handling: 'Handling', resolved: 'Resolved', closed: 'Closed',
    active: 'active', cleared: 'cleared', unknown: 'unknown',
    acknowledge: 'Acknowledge', handle: 'Handle', resolve: 'Resolve', close: 'Close', note: 'Note',
    reason: 'Close reason', no_reason: '(none)', false_alarm: 'False alarm', device_fault: 'Device fault',
    test: 'Test', duplicate: 'Duplicate', rule: 'Rule', sensor: 'Sensor', site: 'Site', district: 'District',
    value: 'Value', peak: 'Peak', first: 'First', last: 'Last', count: 'Count', advice: 'Handling advice',
    timeline: 'Timeline', done: 'Done', offline: 'Sensors offline', live: 'live', connecting: 'connecting',
    disconnected: 'disconnected', sound_on: 'Sound: on', sound_off: 'Sound: off', no_data: 'No data in the last hour',
    thresholds: 'Thresholds', new_red: 'New red alarm',
    raised: 'raised', escalated: 'escalated', deescalated: 'de-escalated', reactivated: 'reactivated',
  },
};

const state = {
  lang: localStorage.getItem('cityguard.lang') || 'zh',
  key: sessionStorage.getItem('cityguard.key') || '',
  sound: localStorage.getItem('cityguard.sound') !== 'off',
  alarms: new Map(),       // id -> alarm, not closed
  fresh: new Set(),        // ids to highlight once
  lastSeq: 0,              // resume position of the feed
  sites: new Map(),        // id -> site
  rules: new Map(),        // id -> rule
  selected: null,          // alarm id
  chart: null,             // {sensor, points: [{t, v, min, max}], unit, thresholds}
  ws: null,
  retry: 0,
  settings: {},
  overviewTimer: null,
};

const $ = (sel) => document.querySelector(sel);
const t = (k) => (TEXT[state.lang] && TEXT[state.lang][k]) || k;
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
const levelRank = (l) => { const i = LEVELS.indexOf(l); return i < 0 ? 9 : i; };
const fmtTime = (iso) => (iso ? new Date(iso).toLocaleString(state.lang === 'zh' ? 'zh-CN' : 'en-GB', { hour12: false }) : '');
const fmtNum = (v) => (v === null || v === undefined ? '–' : Math.abs(v) >= 100 ? v.toFixed(1) : (+v.toFixed(3)).toString());

// ---------- REST ----------
async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { Authorization: 'Bearer ' + state.key, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (_) { /* not JSON */ }
  if (!res.ok) {
    const err = new Error((json && json.error && json.error.message) || res.statusText);
    err.status = res.status;
    err.code = json && json.error && json.error.code;
    throw err;
  }
  return json;
}

// ---------- i18n ----------
function applyText() {
  document.documentElement.lang = state.lang === 'zh' ? 'zh-CN' : 'en';
  document.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n); });
  $('#sound-toggle').textContent = t(state.sound ? 'sound_on' : 'sound_off');
  fillFilters();
  renderConn();
  renderMap();
  renderAll();
}

function fillFilters() {
  const keep = (sel) => sel.value;
  const fill = (sel, allKey, values, label) => {
    const v = keep(sel);
    sel.innerHTML = `<option value="">${esc(t(allKey))}</option>` +
      values.map((x) => `<option value="${esc(x)}">${esc(label(x))}</option>`).join('');
    sel.value = values.includes(v) ? v : '';
  };
  fill($('#filter-level'), 'all_levels', LEVELS, t);
  fill($('#filter-domain'), 'all_domains', DOMAINS, t);
  const districts = [...new Set([...state.sites.values()].map((s) => s.district))].sort();
  fill($('#filter-district'), 'all_districts', districts, (x) => x);
}

// ---------- sign-in ----------
async function signIn(key) {
  state.key = key;
  try {
    await api('GET', '/api/v1/overview');
  } catch (e) {
    state.key = '';
    sessionStorage.removeItem('cityguard.key');
    throw e;
  }
  sessionStorage.setItem('cityguard.key', key);
  $('#signin').hidden = true;
  await loadReference();
  connect();
  refreshOverview();
}

function signOut() {
  sessionStorage.removeItem('cityguard.key');
  state.key = '';
  if (state.ws) { state.ws.onclose = null; state.ws.close(); state.ws = null; }
  state.alarms.clear();
  state.lastSeq = 0;
  state.selected = null;
  renderAll();
  $('#signin').hidden = false;
  $('#key').value = '';
}

async function loadReference() {
  const [sites, rules, settings] = await Promise.all([
    api('GET', '/api/v1/sites'),
    api('GET', '/api/v1/rules'),
    fetch('settings.json').then((r) => (r.ok ? r.json() : {})).catch(() => ({})),
  ]);
  state.sites = new Map((sites.sites || sites.items || sites || []).map((s) => [s.id, s]));
  state.rules = new Map((rules.rules || []).map((r) => [r.id, r]));
  state.settings = settings || {};
  fillFilters();
  renderMap();
}

// ---------- live feed ----------
function connect() {
  if (!state.key) return;
  const proto = location.protocol === 'https:' ? 'wss' : 'ws';
  const ws = new WebSocket(`${proto}://${location.host}/api/v1/feed`);
  state.ws = ws;
  setConn('connecting');
  ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', token: state.key }));
  ws.onmessage = (ev) => onFeedMessage(ws, JSON.parse(ev.data));
  ws.onclose = (ev) => {
    if (state.ws !== ws) return;
    state.ws = null;
    setConn('off');
    if (ev.code === 4401 || ev.code === 4403) { signOut(); $('#signin-error').textContent = t('bad_key'); return; }
    // Back off a little; the resume position makes the reconnect lossless.
    const delay = Math.min(10000, 500 * 2 ** state.retry++);
    setTimeout(connect, delay);
  };
}

function onFeedMessage(ws, m) {
  switch (m.type) {
    case 'authenticated':
      ws.send(JSON.stringify(state.lastSeq > 0 ? { type: 'subscribe', since: state.lastSeq } : { type: 'subscribe' }));
      if (state.chart) ws.send(JSON.stringify({ type: 'subscribe_readings', sensors: [state.chart.sensor] }));
      $('#whoami').textContent = `${m.name} · ${m.role}`;
      break;
    case 'snapshot':
      state.alarms = new Map(m.alarms.map((a) => [a.id, a]));
      state.lastSeq = m.seq;
      state.retry = 0;
      setConn('live');
      renderAll();
      break;
    case 'resumed':
      state.lastSeq = Math.max(state.lastSeq, m.seq);
      state.retry = 0;
      setConn('live');
      break;
    case 'alarm_event':
      onAlarmEvent(m);
      break;
    case 'reading':
      onReading(m);
      break;
    case 'error':
      console.warn('feed error', m.code, m.message);
      break;
    default:
      break;
  }
}

function onAlarmEvent(m) {
  if (m.seq <= state.lastSeq) return;
  state.lastSeq = m.seq;
  const a = m.alarm;
  if (a.status === 'closed') state.alarms.delete(a.id); else state.alarms.set(a.id, a);
  if (['raised', 'escalated', 'reactivated'].includes(m.event)) {
    state.fresh.add(a.id);
    if (a.level === 'red') redCue(a);
  }
  scheduleRender();
  scheduleOverview();
  if (state.selected === a.id) loadDetail(a.id);
}

let renderPending = false;
function scheduleRender() {
  if (renderPending) return;
  renderPending = true;
  requestAnimationFrame(() => { renderPending = false; renderList(); renderMapMarkers(); });
}

function scheduleOverview() {
  if (state.overviewTimer) return;
  state.overviewTimer = setTimeout(() => { state.overviewTimer = null; refreshOverview(); }, 1000);
}

// ---------- cues ----------
let audio = null;
function redCue(a) {
  const flash = $('#flash');
  flash.classList.remove('on');
  void flash.offsetWidth;  // restart the animation
  flash.classList.add('on');
  flash.textContent = '';
  flash.dataset.last = `${t('new_red')}: ${a.title}`;
  document.title = `🔴 ${t('new_red')} · CityGuard`;
  setTimeout(() => { document.title = 'CityGuard · 城市安全风险监测预警'; }, 10000);
  if (!state.sound) return;
  try {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    const now = audio.currentTime;
    for (let i = 0; i < 3; i++) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.0001, now + i * 0.3);
      gain.gain.exponentialRampToValueAtTime(0.3, now + i * 0.3 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.3 + 0.2);
      osc.connect(gain).connect(audio.destination);
      osc.start(now + i * 0.3);
      osc.stop(now + i * 0.3 + 0.22);
    }
  } catch (_) { /* no audio device: the visual cue is enough */ }
}

// ---------- rendering ----------
function setConn(s) { state.conn = s; renderConn(); }
function renderConn() {
  const el = $('#conn');
  el.dataset.state = state.conn || 'off';
  el.textContent = t(state.conn === 'live' ? 'live' : state.conn === 'connecting' ? 'connecting' : 'disconnected');
}

function renderAll() { renderList(); renderMapMarkers(); }

function visibleAlarms() {
  const level = $('#filter-level').value;
  const domain = $('#filter-domain').value;
  const district = $('#filter-district').value;
  return [...state.alarms.values()]
    .filter((a) => (!level || a.level === level) && (!domain || a.domain === domain) &&
      (!district || (state.sites.get(a.site) || {}).district === district))
    .sort((x, y) => levelRank(x.level) - levelRank(y.level) || (y.last_ts > x.last_ts ? 1 : y.last_ts < x.last_ts ? -1 : y.id - x.id));
}

function renderList() {
  const rows = visibleAlarms();
  $('#alarm-rows').innerHTML = rows.map((a) => {
    const site = state.sites.get(a.site);
    const cls = ['alarm-row', a.level, state.fresh.has(a.id) ? 'fresh' : '', state.selected === a.id ? 'selected' : ''].join(' ');
    return `<tr class="${cls}" data-id="${a.id}" data-level="${a.level}" data-status="${a.status}">
      <td><span class="lvl ${a.level}">${esc(t(a.level))}</span></td>
      <td class="title">${esc(ruleName(a.rule) || a.title)}<br><small class="cond-${a.condition}">${esc(a.sensor)} · ${esc(t(a.condition))}</small></td>
      <td>${esc(site ? site.name : a.site)}<br><small>${esc(site ? site.district : '')}</small></td>
      <td>${fmtNum(a.value)}<br><small>${esc(t('peak'))} ${fmtNum(a.peak_value)}</small></td>
      <td class="status">${esc(t(a.status))}</td>
      <td>${esc(fmtTime(a.last_ts))}</td></tr>`;
  }).join('');
  state.fresh.clear();
  $('#alarm-empty').hidden = rows.length > 0;
}

function ruleName(id) {
  const r = state.rules.get(id);
  return r && r.name ? r.name[state.lang] || r.name.zh : '';
}

async function refreshOverview() {
  if (!state.key) return;
  let o;
  try { o = await api('GET', '/api/v1/overview'); } catch (_) { return; }
  const byLevel = o.active_alarms_by_level || {};
  const byDomain = o.active_alarms_by_domain || {};
  $('#level-counters').innerHTML = LEVELS.map((l) =>
    `<div class="counter ${l}" data-level="${l}"><b>${byLevel[l] || 0}</b>${esc(t(l))}</div>`).join('') +
    `<div class="counter" data-offline><b>${o.sensors_offline || 0}</b>${esc(t('offline'))}</div>`;
  $('#domain-counters').innerHTML = DOMAINS.map((d) =>
    `<div class="counter" data-domain="${d}"><b>${byDomain[d] || 0}</b>${esc(t(d))}</div>`).join('');
}

// ---------- map ----------
// Web Mercator world pixels at zoom z, so optional tiles line up with the markers.
function project(lon, lat, z) {
  const scale = 256 * 2 ** z;
  const s = Math.sin((lat * Math.PI) / 180);
  return [((lon + 180) / 360) * scale, (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * scale];
}

function renderMap() {
  const sites = [...state.sites.values()].filter((s) => Number.isFinite(s.lat) && Number.isFinite(s.lon));
  const box = $('#map');
  if (!sites.length) { box.innerHTML = ''; return; }
  const lons = sites.map((s) => s.lon), lats = sites.map((s) => s.lat);
  const width = 800, height = 480;
  // The largest tile zoom at which the sites fit, then a view box fitted to them (with a
  // margin) at that zoom: tiles, if any, stay aligned and the sites fill the panel.
  let z = 18;
  for (; z > 1; z--) {
    const [x0, y0] = project(Math.min(...lons), Math.max(...lats), z);
    const [x1, y1] = project(Math.max(...lons), Math.min(...lats), z);
    if (x1 - x0 < width * 0.85 && y1 - y0 < height * 0.85) break;
  }
  const [x0, y0] = project(Math.min(...lons), Math.max(...lats), z);
  const [x1, y1] = project(Math.max(...lons), Math.min(...lats), z);
  let w = Math.max((x1 - x0) * 1.2, 80), h = Math.max((y1 - y0) * 1.25, 48);
  if (w / h > width / height) h = (w * height) / width; else w = (h * width) / height;
  const vx = (x0 + x1) / 2 - w / 2, vy = (y0 + y1) / 2 - h / 2;
  const k = w / width;  // world pixels per screen unit: keeps markers and labels one size
  state.map = { z, k };
  let tiles = '';
  const url = state.settings.tile_url;
  if (url) {
    for (let tx = Math.floor(vx / 256); tx <= Math.floor((vx + w) / 256); tx++) {
      for (let ty = Math.floor(vy / 256); ty <= Math.floor((vy + h) / 256); ty++) {
        const href = url.replace('{z}', z).replace('{x}', tx).replace('{y}', ty);
        tiles += `<image href="${esc(href)}" x="${tx * 256}" y="${ty * 256}" width="256" height="256"/>`;
      }
    }
  }
  const districts = new Map();
  for (const s of sites) {
    const [x, y] = project(s.lon, s.lat, z);
    const d = districts.get(s.district) || { x: 0, y: 0, n: 0 };
    d.x += x; d.y += y; d.n++;
    districts.set(s.district, d);
  }
  const labels = [...districts].map(([name, d]) =>
    `<text class="district-label" style="font-size:${(13 * k).toFixed(2)}px" x="${(d.x / d.n).toFixed(1)}" y="${(d.y / d.n - 18 * k).toFixed(1)}">${esc(name)}</text>`).join('');
  const markers = sites.map((s) => {
    const [x, y] = project(s.lon, s.lat, z);
    return `<circle class="site-marker" data-site="${esc(s.id)}" cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${7 * k}" style="stroke-width:${1.5 * k}"><title>${esc(s.name)} (${esc(s.id)})</title></circle>`;
  }).join('');
  box.innerHTML = `<svg viewBox="${vx.toFixed(1)} ${vy.toFixed(1)} ${w.toFixed(1)} ${h.toFixed(1)}" role="img" aria-label="${esc(t('site_map'))}">
    <rect x="${vx}" y="${vy}" width="${w}" height="${h}" fill="#111a2b"/>${tiles}${labels}${markers}</svg>`;
  $('#map-legend').innerHTML = LEVELS.map((l) => `<span><i style="background:var(--${l})"></i>${esc(t(l))}</span>`).join('');
  renderMapMarkers();
}

function renderMapMarkers() {
  const worst = new Map();
  for (const a of state.alarms.values()) {
    if (a.condition === 'cleared') continue;
    const cur = worst.get(a.site);
    if (!cur || levelRank(a.level) < levelRank(cur)) worst.set(a.site, a.level);
  }
  document.querySelectorAll('#map .site-marker').forEach((m) => {
    const l = worst.get(m.dataset.site);
    m.style.fill = l ? `var(--${l})` : 'var(--none)';
    m.dataset.level = l || '';
    m.setAttribute('r', (l === 'red' ? 10 : l ? 8 : 6) * ((state.map && state.map.k) || 1));
  });
}

// ---------- detail & actions ----------
async function loadDetail(id) {
  state.selected = id;
  let a;
  try { a = await api('GET', `/api/v1/alarms/${id}`); } catch (e) {
    $('#detail').innerHTML = `<p class="error">${esc(e.message)}</p>`;
    return;
  }
  if (state.selected !== id) return;
  const site = state.sites.get(a.site) || {};
  const rule = state.rules.get(a.rule);
  const events = (a.events || []).map((e) => `<li><time>${esc(fmtTime(e.at))}</time><b>${esc(t(e.type))}</b>
      ${e.level ? `<span class="lvl ${e.level}">${esc(t(e.level))}</span>` : ''} ${e.value !== null && e.value !== undefined ? fmtNum(e.value) : ''}
      · ${esc(e.actor)} ${e.note ? '· ' + esc(e.note) : ''}</li>`).join('');
  $('#detail').innerHTML = `
    <h3><span class="lvl ${a.level}">${esc(t(a.level))}</span> ${esc(ruleName(a.rule) || a.title)} <small>#${a.id}</small></h3>
    <dl class="facts">
      <dt>${esc(t('col_status'))}</dt><dd id="detail-status" data-status="${a.status}">${esc(t(a.status))} · ${esc(t(a.condition))}</dd>
      <dt>${esc(t('rule'))}</dt><dd>${esc(a.rule)}${rule && rule.source ? `<br><small class="hint">${esc(rule.source)}</small>` : ''}</dd>
      <dt>${esc(t('sensor'))}</dt><dd>${esc(a.sensor)}</dd>
      <dt>${esc(t('site'))}</dt><dd>${esc(site.name || a.site)} · ${esc(site.district || '')}</dd>
      <dt>${esc(t('value'))}</dt><dd>${fmtNum(a.value)} (${esc(t('peak'))} ${fmtNum(a.peak_value)}, ${esc(t(a.peak_level))})</dd>
      <dt>${esc(t('first'))}</dt><dd>${esc(fmtTime(a.first_ts))}</dd>
      <dt>${esc(t('last'))}</dt><dd>${esc(fmtTime(a.last_ts))}</dd>
      <dt>${esc(t('count'))}</dt><dd>${a.count}</dd>
    </dl>
    <div class="advice"><b>${esc(t('advice'))}</b><br>${esc(a.advice)}</div>
    <div class="actions">
      <textarea id="action-note" placeholder="${esc(t('note'))}"></textarea>
      ${['acknowledge', 'handle', 'resolve', 'close'].map((x) => `<button type="button" data-action="${x}">${esc(t(x))}</button>`).join('')}
      <label>${esc(t('reason'))} <select id="action-reason"><option value="">${esc(t('no_reason'))}</option>
        ${CLOSE_REASONS.map((r) => `<option value="${r}">${esc(t(r))}</option>`).join('')}</select></label>
      <span id="action-error" role="alert"></span><span id="action-ok"></span>
    </div>
    <h4>${esc(t('timeline'))}</h4><ul class="timeline">${events}</ul>`;
  if (!state.chart || state.chart.sensor !== a.sensor) loadChart(a.sensor, a.rule);
}

async function act(action) {
  const id = state.selected;
  if (!id) return;
  const body = { note: $('#action-note').value };
  const reason = $('#action-reason').value;
  if (action === 'close' && reason) body.reason = reason;
  $('#action-error').textContent = '';
  $('#action-ok').textContent = '';
  try {
    await api('POST', `/api/v1/alarms/${id}/${action}`, body);
    await loadDetail(id);
    $('#action-ok').textContent = t('done');
  } catch (e) {
    $('#action-error').textContent = `${e.code || e.status}: ${e.message}`;
  }
}

// ---------- chart ----------
function thresholdsFor(sensor, ruleId) {
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

async function loadChart(sensorId, ruleId) {
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

function onReading(m) {
  const c = state.chart;
  if (!c || m.sensor !== c.sensor) return;
  c.points.push({ t: Date.parse(m.ts), v: m.value, live: true });
  const cutoff = Date.now() - 3600e3;
  while (c.points.length && c.points[0].t < cutoff) c.points.shift();
  renderChart();
}

function renderChart() {
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

// ---------- wiring ----------
function init() {
  document.querySelectorAll('.lang-toggle').forEach((b) => b.addEventListener('click', () => {
    state.lang = state.lang === 'zh' ? 'en' : 'zh';
    localStorage.setItem('cityguard.lang', state.lang);
    applyText();
    if (state.selected) loadDetail(state.selected);
    refreshOverview();
    renderChart();
  }));
  $('#sound-toggle').addEventListener('click', () => {
    state.sound = !state.sound;
    localStorage.setItem('cityguard.sound', state.sound ? 'on' : 'off');
    applyText();
  });
  $('#signout').addEventListener('click', signOut);
  $('#signin-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    $('#signin-error').textContent = '';
    try { await signIn($('#key').value.trim()); } catch (e) { $('#signin-error').textContent = `${t('bad_key')} (${e.message})`; }
  });
  ['#filter-level', '#filter-domain', '#filter-district'].forEach((s) => $(s).addEventListener('change', renderList));
  $('#filter-clear').addEventListener('click', () => {
    ['#filter-level', '#filter-domain', '#filter-district'].forEach((s) => { $(s).value = ''; });
    renderList();
  });
  $('#alarm-rows').addEventListener('click', (ev) => {
    const row = ev.target.closest('tr.alarm-row');
    if (!row) return;
    loadDetail(Number(row.dataset.id));
    renderList();
  });
  $('#map').addEventListener('click', (ev) => {
    const m = ev.target.closest('.site-marker');
    if (!m) return;
    const site = state.sites.get(m.dataset.site);
    if (site) { $('#filter-district').value = site.district; renderList(); }
  });
  $('#detail').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-action]');
    if (b) act(b.dataset.action);
  });
  setInterval(() => { if (state.chart) renderChart(); }, 30000);  // the time axis moves on
  applyText();
  if (state.key) signIn(state.key).catch(() => { $('#signin').hidden = false; });
  else $('#signin').hidden = false;
}

document.addEventListener('DOMContentLoaded', init);
