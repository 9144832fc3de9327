// The live feed: one WebSocket to /api/v1/feed, resumed with `since` after a dropped
// connection so the list never misses an event; batched re-rendering; the red-alarm cue.

import { state, $, t, inLang, api } from './core.js';
import { setConn, renderAll, renderList, refreshOverview, renderMapMarkers } from './views.js';
import { loadDetail, onReading } from './detail.js';
import { signOut } from './main.js';

// ---------- live feed ----------
export function connect() {
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

export function onFeedMessage(ws, m) {
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

export function onAlarmEvent(m) {
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
export function scheduleRender() {
  if (renderPending) return;
  renderPending = true;
  requestAnimationFrame(() => { renderPending = false; renderList(); renderMapMarkers(); });
}

export function scheduleOverview() {
  if (state.overviewTimer) return;
  state.overviewTimer = setTimeout(() => { state.overviewTimer = null; refreshOverview(); }, 1000);
}

// ---------- cues ----------
let audio = null;
export function redCue(a) {
  const flash = $('#flash');
  flash.classList.remove('on');
  void flash.offsetWidth;  // restart the animation
  flash.classList.add('on');
  flash.textContent = '';
  flash.dataset.last = `${t('new_red')}: ${inLang(a.title)}`;
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
