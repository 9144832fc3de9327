// CityGuard command-center dashboard, entry point. Plain ES modules, no build step: the server
// serves these files as they are. State comes from the REST API once and then from the live
// feed. Sign-in, language and wiring of the page's controls live here.

import { LEVELS, presentDomains, loadDomains, state, $, t, esc, api, startSession, resumeSession, endSession, whoText, showSignInError } from './core.js';
import { connect } from './feed.js';
import { renderConn, renderAll, renderList, refreshOverview, renderMap, tickDeadlines, zoomMap, panMap } from './views.js';
import { loadDetail, act, renderChart } from './detail.js';
import { loadSilences, createSilence, endSilence } from './duty.js';
import { openSiteFile, closeSiteFile } from './sitefile.js';
import { initAccount, openAccount } from './account.js';

// ---------- i18n ----------
export function applyText() {
  document.documentElement.lang = state.lang === 'zh' ? 'zh-CN' : 'en';
  document.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.querySelectorAll('[data-i18n-placeholder]').forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
  document.querySelectorAll('[data-i18n-title]').forEach((el) => { el.title = t(el.dataset.i18nTitle); });
  $('#sound-toggle').textContent = t(state.sound ? 'sound_on' : 'sound_off');
  fillFilters();
  renderConn();
  renderMap();
  renderAll();
}

export function fillFilters() {
  const keep = (sel) => sel.value;
  const fill = (sel, allKey, values, label) => {
    const v = keep(sel);
    sel.innerHTML = `<option value="">${esc(t(allKey))}</option>` +
      values.map((x) => `<option value="${esc(x)}">${esc(label(x))}</option>`).join('');
    sel.value = values.includes(v) ? v : '';
  };
  fill($('#filter-level'), 'all_levels', LEVELS, t);
  fill($('#filter-domain'), 'all_domains', presentDomains(), t);
  const districts = [...new Set([...state.sites.values()].map((s) => s.district))].sort();
  fill($('#filter-district'), 'all_districts', districts, (x) => x);
}

// ---------- sign-in ----------
// The page after a sign-in or with a session the browser already had.
async function enter() {
  $('#signin').hidden = true;
  $('#whoami').textContent = whoText(state.who);
  // A role that must use a second factor may do nothing else until it has one.
  if (state.who && state.who.must_enrol_second_factor) { openAccount(); return; }
  document.body.dataset.role = state.who ? state.who.role : '';  // style.css hides what the role may not do
  await loadReference();
  $('#whoami').textContent = whoText(state.who);  // again: a domain scope's names come with the catalog
  connect();
  refreshOverview();
  loadSilences();
}

export async function signIn(login, password, code) {
  await startSession(login, password, code);
  $('#password').value = '';
  $('#code').value = '';
  $('#code-row').hidden = true;
  await enter();
}

export async function signOut() {
  if (state.ws) { state.ws.onclose = null; state.ws.close(); state.ws = null; }
  await endSession();
  state.alarms.clear();
  state.lastSeq = 0;
  state.selected = null;
  renderAll();
  $('#whoami').textContent = '';
  $('#signin').hidden = false;
  $('#password').value = '';
}


export async function loadReference() {
  const [sites, , rules, settings] = await Promise.all([
    api('GET', '/api/v1/sites'),
    loadDomains(),
    api('GET', '/api/v1/rules'),
    fetch('settings.json').then((r) => (r.ok ? r.json() : {})).catch(() => ({})),
  ]);
  state.sites = new Map((sites.sites || sites.items || sites || []).map((s) => [s.id, s]));
  state.rules = new Map((rules.rules || []).map((r) => [r.id, r]));
  state.settings = settings || {};
  fillFilters();
  renderMap();
  // The map's other layers: they only add to it, so the page works while they load.
  const [sensors, resources, boundaries] = await Promise.all([
    api('GET', '/api/v1/sensors').catch(() => ({ sensors: [] })),
    api('GET', '/api/v1/resources').catch(() => ({ resources: [] })),
    state.settings.boundaries ? fetch(state.settings.boundaries).then((r) => (r.ok ? r.json() : null)).catch(() => null) : null,
  ]);
  state.sensors = sensors.sensors || [];
  state.resources = resources.resources || [];
  state.boundaries = boundaries;
  renderMap();
}


// ---------- wiring ----------
export function init() {
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
  initAccount({ afterPasswordChange: signOut, afterEnrol: enter });
  $('#signin-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    $('#signin-error').textContent = '';
    try {
      await signIn($('#login').value.trim(), $('#password').value, $('#code').value.trim());
    } catch (e) { showSignInError(e); }
  });
  ['#filter-level', '#filter-domain', '#filter-district'].forEach((s) => $(s).addEventListener('change', renderList));
  document.querySelectorAll('#category-tabs [data-category]').forEach((b) => b.addEventListener('click', () => {
    state.category = b.dataset.category;
    renderList();
  }));
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
    if (dragged) return;
    const cluster = ev.target.closest('.sensor-cluster');
    if (cluster) {
      const r = $('#map svg').getBoundingClientRect();
      zoomMap(2.5, (ev.clientX - r.left) / r.width, (ev.clientY - r.top) / r.height);
      return;
    }
    const m = ev.target.closest('.site-marker');
    if (!m) return;
    const site = state.sites.get(m.dataset.site);
    if (site) { $('#filter-district').value = site.district; renderList(); openSiteFile(site.id); }
  });
  $('#site-file-close').addEventListener('click', closeSiteFile);
  $('#site-file').addEventListener('click', (ev) => { if (ev.target.id === 'site-file') closeSiteFile(); });
  $('#map').addEventListener('wheel', (ev) => {
    const svg = $('#map svg');
    if (!svg) return;
    ev.preventDefault();
    const r = svg.getBoundingClientRect();
    zoomMap(ev.deltaY < 0 ? 1.25 : 0.8, (ev.clientX - r.left) / r.width, (ev.clientY - r.top) / r.height);
  }, { passive: false });
  let drag = null, dragged = false;
  $('#map').addEventListener('pointerdown', (ev) => { drag = { x: ev.clientX, y: ev.clientY }; dragged = false; });
  window.addEventListener('pointerup', () => { drag = null; });
  $('#map').addEventListener('pointermove', (ev) => {
    const svg = $('#map svg');
    if (!drag || !svg) return;
    const dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
    if (!dragged && Math.hypot(dx, dy) < 4) return;
    dragged = true;
    const unit = 800 / svg.getBoundingClientRect().width;  // screen pixels to view units
    panMap(dx * unit, dy * unit);
    drag = { x: ev.clientX, y: ev.clientY };
  });
  document.querySelectorAll('[data-map-zoom]').forEach((b) => b.addEventListener('click', () => {
    const f = Number(b.dataset.mapZoom);
    if (f) zoomMap(f); else { state.mapView = { zoom: 1, dx: 0, dy: 0 }; renderMap(); }
  }));
  document.querySelectorAll('[data-map-layer]').forEach((c) => c.addEventListener('change', () => {
    state.layers[c.dataset.mapLayer] = c.checked;
    renderMap();
  }));
  $('#detail').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-action]');
    if (b) act(b.dataset.action);
  });
  setInterval(() => { if (state.chart) renderChart(); }, 30000);  // the time axis moves on
  setInterval(tickDeadlines, 1000);  // countdowns to each alarm's deadline
  setInterval(loadSilences, 30000);  // silences start and end on their own
  $('#silence-form').addEventListener('submit', (ev) => { ev.preventDefault(); createSilence(ev.target); });
  $('#silence-list').addEventListener('click', (ev) => {
    const b = ev.target.closest('[data-end-silence]');
    if (b) endSilence(Number(b.dataset.endSilence));
  });
  applyText();
  // A browser that signed in before (its cookie still good) goes straight in.
  resumeSession().then((me) => (me ? enter() : Promise.reject(new Error('no session'))))
    .catch(() => { $('#signin').hidden = false; });
}

// Module scope hides the state from the browser console; this one handle shows it (and lets the
// browser test drop the feed connection to watch it resume).
window.cityguard = { state };

document.addEventListener('DOMContentLoaded', init);
