// Rendering: connection badge, alarm list, overview, and the district map (Web Mercator, so
// optional tiles line up with the markers).

import { LEVELS, DOMAINS, state, $, t, esc, inLang, levelRank, fmtTime, fmtNum, api, dueOf, fmtLeft } from './core.js';

// ---------- rendering ----------
export function setConn(s) { state.conn = s; renderConn(); }
export function renderConn() {
  const el = $('#conn');
  el.dataset.state = state.conn || 'off';
  el.textContent = t(state.conn === 'live' ? 'live' : state.conn === 'connecting' ? 'connecting' : 'disconnected');
}

export function renderAll() { renderList(); renderMapMarkers(); }

// Device alarms call for a technician, process alarms for the duty desk: one list each.
export const isDeviceAlarm = (a) => a.category === 'fault' || a.category === 'offline';

export function visibleAlarms() {
  const device = state.category === 'device';
  const level = $('#filter-level').value;
  const domain = $('#filter-domain').value;
  const district = $('#filter-district').value;
  return [...state.alarms.values()]
    .filter((a) => isDeviceAlarm(a) === device && (!level || a.level === level) && (!domain || a.domain === domain) &&
      (!district || (state.sites.get(a.site) || {}).district === district))
    .sort((x, y) => levelRank(x.level) - levelRank(y.level) || (y.last_ts > x.last_ts ? 1 : y.last_ts < x.last_ts ? -1 : y.id - x.id));
}

// A compound alarm's members: the alarms it names, and the alarms of the sensors it names at
// its site. They are shown under it, one incident, not five.
export function membersOf(a) {
  if (!a.members || !a.members.length) return [];
  const ids = new Set(a.members.filter((m) => m.alarm).map((m) => m.alarm));
  const sensors = new Set(a.members.map((m) => m.sensor).filter(Boolean));
  return [...state.alarms.values()].filter((x) => x.id !== a.id && !isDeviceAlarm(x) && (x.inhibited_by === a.id ||
    ids.has(x.id) || (x.site === a.site && sensors.has(x.sensor) && !(x.members && x.members.length))));
}

function rowHtml(a, nested) {
  const site = state.sites.get(a.site);
  const cls = ['alarm-row', a.level, nested ? 'member' : '', state.fresh.has(a.id) ? 'fresh' : '', state.selected === a.id ? 'selected' : ''].join(' ');
  const subject = a.sensor ? esc(a.sensor) : `<span class="cat">${esc(t('site_alarm'))}</span>`;
  return `<tr class="${cls}" data-id="${a.id}" data-level="${a.level}" data-status="${a.status}"${nested ? ` data-parent="${nested}"` : ''}>
      <td><span class="lvl ${a.level}">${esc(t(a.level))}</span></td>
      <td class="title">${nested ? '└ ' : ''}${esc(ruleName(a.rule) || inLang(a.title))}<br><small class="cond-${a.condition}">${isDeviceAlarm(a) ? `<span class="cat">${esc(t(`cat_${a.category}`))}</span> ` : ''}${subject} · ${esc(t(a.condition))}</small></td>
      <td>${esc(site ? site.name : a.site)}<br><small>${esc(site ? site.district : '')}</small></td>
      <td>${fmtNum(a.value)}<br><small>${esc(t('peak'))} ${fmtNum(a.peak_value)}</small></td>
      <td class="status">${esc(t(a.status))}${deadlineHtml(a)}</td>
      <td>${esc(fmtTime(a.last_ts))}</td></tr>`;
}

// The time left to the deadline that matters now (red once overdue), or the silence holding it.
function deadlineHtml(a) {
  if (a.notification && a.notification.silenced) return `<br><small class="silenced-badge">${esc(t('silenced'))}</small>`;
  const due = dueOf(a);
  if (!due) return '';
  const left = due.at - Date.now();
  return `<br><small class="due${left < 0 ? ' overdue' : ''}" data-due="${due.at}" title="${esc(t(due.kind))}">${esc(fmtLeft(left))}</small>`;
}

// Every second: the countdowns move without re-rendering the list.
export function tickDeadlines() {
  const now = Date.now();
  document.querySelectorAll('[data-due]').forEach((el) => {
    const left = Number(el.dataset.due) - now;
    el.textContent = fmtLeft(left);
    el.classList.toggle('overdue', left < 0);
  });
}

export function renderList() {
  const all = [...state.alarms.values()];
  $('#count-device').textContent = all.filter(isDeviceAlarm).length;
  $('#count-process').textContent = all.length - all.filter(isDeviceAlarm).length;
  document.querySelectorAll('#category-tabs [data-category]').forEach((b) => {
    b.setAttribute('aria-selected', String(b.dataset.category === state.category));
  });
  const rows = visibleAlarms();
  // Members of an active compound are nested under it rather than listed again.
  // The server's mark (inhibited_by, R14) decides; the members list covers the moment before
  // the mark arrives (it follows the group alarm by one timer tick).
  const nestedIn = new Map();
  const shown = new Set(rows.map((a) => a.id));
  for (const a of rows) if (a.inhibited_by && shown.has(a.inhibited_by)) nestedIn.set(a.id, a.inhibited_by);
  for (const a of rows) if (a.condition !== 'cleared') for (const m of membersOf(a)) if (!nestedIn.has(m.id)) nestedIn.set(m.id, a.id);
  $('#alarm-rows').innerHTML = rows.filter((a) => !nestedIn.has(a.id)).map((a) =>
    rowHtml(a, 0) + membersOf(a).filter((m) => nestedIn.get(m.id) === a.id).map((m) => rowHtml(m, a.id)).join('')).join('');
  state.fresh.clear();
  $('#alarm-empty').hidden = rows.length > 0;
}

export function ruleName(id) {
  const r = state.rules.get(id);
  return r && r.name ? r.name[state.lang] || r.name.zh : '';
}

export async function refreshOverview() {
  if (!state.key) return;
  let o;
  try { o = await api('GET', '/api/v1/overview'); } catch (_) { return; }
  const byLevel = o.active_alarms_by_level || {};
  const byDomain = o.active_alarms_by_domain || {};
  $('#level-counters').innerHTML = LEVELS.map((l) =>
    `<div class="counter ${l}" data-level="${l}"><b>${byLevel[l] || 0}</b>${esc(t(l))}</div>`).join('') +
    `<div class="counter" data-offline><b>${o.sensors_offline || 0}</b>${esc(t('offline'))}</div>` +
    `<div class="counter" data-fault><b>${o.sensors_in_fault || 0}</b>${esc(t('in_fault'))}</div>`;
  $('#domain-counters').innerHTML = DOMAINS.map((d) =>
    `<div class="counter" data-domain="${d}"><b>${byDomain[d] || 0}</b>${esc(t(d))}</div>`).join('');
}

// ---------- map ----------
// Web Mercator world pixels at zoom z, so optional tiles line up with the markers.
export function project(lon, lat, z) {
  const scale = 256 * 2 ** z;
  const s = Math.sin((lat * Math.PI) / 180);
  return [((lon + 180) / 360) * scale, (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * scale];
}

export function renderMap() {
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

export function renderMapMarkers() {
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
