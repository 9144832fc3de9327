// Rendering: connection badge, alarm list, overview, and the district map (Web Mercator, so
// optional tiles line up with the markers).

import { LEVELS, presentDomains, domainOf, state, $, t, esc, inLang, levelRank, fmtTime, fmtNum, api, dueOf, fmtLeft } from './core.js';

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
  if (!state.who) return;
  let o;
  try { o = await api('GET', '/api/v1/overview'); } catch (_) { return; }
  const byLevel = o.active_alarms_by_level || {};
  const byDomain = o.active_alarms_by_domain || {};
  $('#level-counters').innerHTML = LEVELS.map((l) =>
    `<div class="counter ${l}" data-level="${l}"><b>${byLevel[l] || 0}</b>${esc(t(l))}</div>`).join('') +
    `<div class="counter" data-offline><b>${o.sensors_offline || 0}</b>${esc(t('offline'))}</div>` +
    `<div class="counter" data-fault><b>${o.sensors_in_fault || 0}</b>${esc(t('in_fault'))}</div>`;
  $('#domain-counters').innerHTML = presentDomains().map((d) =>
    `<div class="counter" data-domain="${esc(d)}" style="border-left-color:${esc(domainOf(d).color)}"><b>${byDomain[d] || 0}</b>${esc(t(d))}</div>`).join('');
}

// ---------- map ----------
// One map: district boundaries (settings.boundaries, GeoJSON), sensors clustered by a screen
// grid until they stand apart, sites coloured by their worst active alarm, and the emergency
// resources as their own layer. Web Mercator, so optional tiles line up with the markers.
export function project(lon, lat, z) {
  const scale = 256 * 2 ** z;
  const s = Math.sin((lat * Math.PI) / 180);
  return [((lon + 180) / 360) * scale, (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * scale];
}

const MAP_W = 800, MAP_H = 480;
const CLUSTER_PX = 34;  // sensors closer than this on screen are drawn as one cluster
const RESOURCE_SHAPES = { team: 'M0,-7 L6,5 L-6,5 Z', warehouse: 'M-5,-5 H5 V5 H-5 Z', shelter: 'M-6,0 L0,-7 L6,0 V6 H-6 Z', expert: 'M0,-6 A6,6 0 1,1 0,6 A6,6 0 1,1 0,-6 Z' };

// The fitted frame (zoom level and box around every site, sensor and resource), computed when
// the data changes; the user's zoom and pan (state.mapView) act inside it.
function mapFrame() {
  const pts = [...state.sites.values()].filter((s) => Number.isFinite(s.lat) && Number.isFinite(s.lon));
  if (!pts.length) return null;
  const lons = pts.map((s) => s.lon), lats = pts.map((s) => s.lat);
  // At most a neighbourhood's view: one site alone (an enterprise's) still shows its surroundings.
  let z = 14;
  for (; z > 1; z--) {
    const [x0, y0] = project(Math.min(...lons), Math.max(...lats), z);
    const [x1, y1] = project(Math.max(...lons), Math.min(...lats), z);
    if (x1 - x0 < MAP_W * 0.85 && y1 - y0 < MAP_H * 0.85) break;
  }
  const [x0, y0] = project(Math.min(...lons), Math.max(...lats), z);
  const [x1, y1] = project(Math.max(...lons), Math.min(...lats), z);
  let w = Math.max((x1 - x0) * 1.2, 80), h = Math.max((y1 - y0) * 1.25, 48);
  if (w / h > MAP_W / MAP_H) h = (w * MAP_H) / MAP_W; else w = (h * MAP_W) / MAP_H;
  return { z, cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, w, h };
}

function boundaryPaths(z, k) {
  const geo = state.boundaries;
  if (!geo || !Array.isArray(geo.features)) return '';
  return geo.features.map((f) => {
    const g = f.geometry || {};
    const polys = g.type === 'Polygon' ? [g.coordinates] : g.type === 'MultiPolygon' ? g.coordinates : [];
    const d = polys.map((poly) => poly.map((ring) => ring.map(([lon, lat], i) => {
      const [x, y] = project(lon, lat, z);
      return `${i ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`;
    }).join('') + 'Z').join('')).join('');
    const name = (f.properties && f.properties.name) || '';
    return `<path class="district" data-district="${esc(name)}" d="${d}" style="stroke-width:${(1.2 * k).toFixed(2)}"><title>${esc(name)}</title></path>`;
  }).join('');
}

// Where a sensor is: its own position, else its site's.
function sensorPoint(s) {
  if (Number.isFinite(s.lat) && Number.isFinite(s.lon)) return [s.lon, s.lat];
  const site = state.sites.get(s.site);
  return site ? [site.lon, site.lat] : null;
}

function worstBy(key) {
  const worst = new Map();
  for (const a of state.alarms.values()) {
    if (a.condition === 'cleared') continue;
    const id = a[key];
    const cur = worst.get(id);
    if (id && (!cur || levelRank(a.level) < levelRank(cur))) worst.set(id, a.level);
  }
  return worst;
}

// Zoomed in this far, every sensor is drawn on its own: those without a position of their own
// on a ring around their site's marker (display only: the ring is not where they are).
const SPREAD_ZOOM = 4;

function sensorClusters(z, k) {
  if (!state.layers.sensors) return '';
  const dot = (id, x, y) => `<circle class="sensor-dot" data-sensor="${esc(id)}" cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${(4 * k).toFixed(2)}"><title>${esc(id)}</title></circle>`;
  if (state.mapView.zoom >= SPREAD_ZOOM) {
    const atSite = new Map();
    let out = '';
    for (const s of state.sensors) {
      if (Number.isFinite(s.lat) && Number.isFinite(s.lon)) {
        const [x, y] = project(s.lon, s.lat, z);
        out += dot(s.id, x, y);
      } else if (state.sites.has(s.site)) {
        atSite.set(s.site, [...(atSite.get(s.site) || []), s.id]);
      }
    }
    for (const [siteId, ids] of atSite) {
      const site = state.sites.get(siteId);
      const [cx, cy] = project(site.lon, site.lat, z);
      const radius = (16 + ids.length * 1.6) * k;
      ids.forEach((id, i) => {
        const angle = (2 * Math.PI * i) / ids.length - Math.PI / 2;
        out += dot(id, cx + radius * Math.cos(angle), cy + radius * Math.sin(angle));
      });
    }
    return out;
  }
  const cell = CLUSTER_PX * k;
  const cells = new Map();
  for (const s of state.sensors) {
    const p = sensorPoint(s);
    if (!p) continue;
    const [x, y] = project(p[0], p[1], z);
    const key = `${Math.floor(x / cell)},${Math.floor(y / cell)}`;
    const c = cells.get(key) || { x: 0, y: 0, ids: [] };
    c.x += x; c.y += y; c.ids.push(s.id);
    cells.set(key, c);
  }
  return [...cells.values()].map((c) => {
    const n = c.ids.length, x = c.x / n, y = c.y / n;
    if (n === 1) return dot(c.ids[0], x, y);
    const r = (9 + Math.min(9, Math.log2(n) * 2)) * k;
    return `<g class="sensor-cluster" data-count="${n}" data-sensors="${esc(c.ids.slice(0, 200).join(' '))}"><circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${r.toFixed(2)}"/>` +
      `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" dy="0.35em" style="font-size:${(11 * k).toFixed(2)}px">${n}</text><title>${n} ${esc(t('sensors'))}</title></g>`;
  }).join('');
}

// Sites that are a line or an area (a pipe segment, a tunnel, a bridge deck: the site's
// GeoJSON geometry) drawn as such, in their domain's colour until an alarm colours them.
function siteGeometries(z, k) {
  return [...state.sites.values()].filter((s) => s.geometry && Array.isArray(s.geometry.coordinates)).map((s) => {
    const line = (points) => points.map(([lon, lat], i) => {
      const [x, y] = project(lon, lat, z);
      return `${i ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`;
    }).join('');
    const polygon = s.geometry.type === 'Polygon';
    const d = polygon ? s.geometry.coordinates.map((ring) => line(ring) + 'Z').join('') : line(s.geometry.coordinates);
    const colour = (domainOf(s.domain) || {}).color || '#8aa';
    return `<path class="site-geometry ${polygon ? 'area' : 'line'}" data-site="${esc(s.id)}" d="${d}" style="stroke:${esc(colour)};${polygon ? `fill:${esc(colour)};` : ''}stroke-width:${((polygon ? 2 : 4) * k).toFixed(2)}"><title>${esc(s.name)} (${esc(s.id)})</title></path>`;
  }).join('');
}

function resourceMarkers(z, k) {
  if (!state.layers.resources) return '';
  return state.resources.map((r) => {
    const [x, y] = project(r.lon, r.lat, z);
    const label = `${t(`res_${r.kind}`)} · ${r.name}${r.team_kind ? ` (${t(`team_${r.team_kind}`)})` : ''}`;
    return `<path class="resource ${esc(r.kind)}" data-resource="${esc(r.id)}" data-kind="${esc(r.kind)}" d="${RESOURCE_SHAPES[r.kind] || RESOURCE_SHAPES.expert}" transform="translate(${x.toFixed(1)},${y.toFixed(1)}) scale(${k.toFixed(3)})"><title>${esc(label)}</title></path>`;
  }).join('');
}

export function renderMap() {
  const box = $('#map');
  const frame = mapFrame();
  if (!frame) { box.innerHTML = ''; return; }
  const view = state.mapView;
  const zoom = Math.min(16, Math.max(1, view.zoom));
  const w = frame.w / zoom, h = frame.h / zoom;
  const cx = frame.cx + view.dx, cy = frame.cy + view.dy;
  const vx = cx - w / 2, vy = cy - h / 2;
  const z = frame.z;
  const k = w / MAP_W;  // world pixels per screen unit: keeps markers and labels one size
  state.map = { z, k, frame };
  let tiles = '';
  const url = state.settings.tile_url;
  if (url && zoom === 1) {
    for (let tx = Math.floor(vx / 256); tx <= Math.floor((vx + w) / 256); tx++) {
      for (let ty = Math.floor(vy / 256); ty <= Math.floor((vy + h) / 256); ty++) {
        const href = url.replace('{z}', z).replace('{x}', tx).replace('{y}', ty);
        tiles += `<image href="${esc(href)}" x="${tx * 256}" y="${ty * 256}" width="256" height="256"/>`;
      }
    }
  }
  // District names at the middle of their sites: also for districts the boundary file lacks.
  const districts = new Map();
  for (const s of state.sites.values()) {
    if (!Number.isFinite(s.lat)) continue;
    const [x, y] = project(s.lon, s.lat, z);
    const d = districts.get(s.district) || { x: 0, y: 0, n: 0 };
    d.x += x; d.y += y; d.n++;
    districts.set(s.district, d);
  }
  const labels = [...districts].map(([name, d]) =>
    `<text class="district-label" style="font-size:${(13 * k).toFixed(2)}px" x="${(d.x / d.n).toFixed(1)}" y="${(d.y / d.n - 18 * k).toFixed(1)}">${esc(name)}</text>`).join('');
  const sites = [...state.sites.values()].filter((s) => Number.isFinite(s.lat) && Number.isFinite(s.lon)).map((s) => {
    const [x, y] = project(s.lon, s.lat, z);
    return `<circle class="site-marker" data-site="${esc(s.id)}" cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${7 * k}" style="stroke-width:${1.5 * k}"><title>${esc(s.name)} (${esc(s.id)})</title></circle>`;
  }).join('');
  box.innerHTML = `<svg viewBox="${vx.toFixed(1)} ${vy.toFixed(1)} ${w.toFixed(1)} ${h.toFixed(1)}" role="img" aria-label="${esc(t('site_map'))}" data-zoom="${zoom}">
    <rect x="${vx}" y="${vy}" width="${w}" height="${h}" fill="#111a2b"/>${tiles}<g class="districts">${boundaryPaths(z, k)}</g>${labels}
    <g class="geometries">${siteGeometries(z, k)}</g><g class="sensors">${sensorClusters(z, k)}</g><g class="resources">${resourceMarkers(z, k)}</g><g class="sites">${sites}</g></svg>`;
  $('#map-legend').innerHTML = LEVELS.map((l) => `<span><i style="background:var(--${l})"></i>${esc(t(l))}</span>`).join('');
  renderMapMarkers();
}

export function renderMapMarkers() {
  const bySite = worstBy('site'), bySensor = worstBy('sensor');
  const k = (state.map && state.map.k) || 1;
  document.querySelectorAll('#map .site-marker').forEach((m) => {
    const l = bySite.get(m.dataset.site);
    m.style.fill = l ? `var(--${l})` : 'var(--none)';
    m.dataset.level = l || '';
    m.setAttribute('r', (l === 'red' ? 10 : l ? 8 : 6) * k);
  });
  document.querySelectorAll('#map .site-geometry').forEach((m) => {
    const l = bySite.get(m.dataset.site);
    m.dataset.level = l || '';
    if (l) m.style.stroke = `var(--${l})`;
  });
  document.querySelectorAll('#map .sensor-dot').forEach((m) => {
    const l = bySensor.get(m.dataset.sensor);
    m.dataset.level = l || '';
    m.style.fill = l ? `var(--${l})` : '';
  });
  document.querySelectorAll('#map .sensor-cluster').forEach((g) => {
    let worst = '';
    for (const id of g.dataset.sensors.split(' ')) {
      const l = bySensor.get(id);
      if (l && (!worst || levelRank(l) < levelRank(worst))) worst = l;
    }
    g.dataset.level = worst;
    g.querySelector('circle').style.stroke = worst ? `var(--${worst})` : '';
  });
}

// Wheel and buttons zoom about a point, dragging pans; the frame itself stays fitted to the data.
export function zoomMap(factor, atX = 0.5, atY = 0.5) {
  const v = state.mapView, f = state.map && state.map.frame;
  if (!f) return;
  const next = Math.min(16, Math.max(1, v.zoom * factor));
  const w0 = f.w / v.zoom, h0 = f.h / v.zoom, w1 = f.w / next, h1 = f.h / next;
  v.dx += (atX - 0.5) * (w0 - w1);
  v.dy += (atY - 0.5) * (h0 - h1);
  v.zoom = next;
  if (next === 1) { v.dx = 0; v.dy = 0; }
  renderMap();
}

export function panMap(dxScreen, dyScreen) {
  const k = state.map && state.map.k;
  if (!k || state.mapView.zoom === 1) return;
  state.mapView.dx -= dxScreen * k;
  state.mapView.dy -= dyScreen * k;
  renderMap();
}
